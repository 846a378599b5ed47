import Foundation

/// Which of the kernels' two vector widths runs: 16 lanes (two or three A panels per B̃ row in the matrix
/// micro-kernels, 8 panels per group in the packed vector-matrix product) or 8. Both are always compiled and
/// compute every element with the same multiply-adds in the same order, so they give the same bits; only
/// speed differs (16 lanes is a single AVX-512 register, 8 lanes one AVX2 register).
public enum KernelWidth: Int, Sendable, Comparable {
    public static func < (a: KernelWidth, b: KernelWidth) -> Bool { a.rawValue < b.rawValue }

    case eight = 8, sixteen = 16

    /// The widest this CPU runs: 16 lanes with AVX-512 (`CPU.level`, read at run time), else 8.
    public static let supported: KernelWidth = CPU.level >= .avx512 ? .sixteen : .eight

    /// The process default: `supported`, or 8 when `RNNSTREAM_VECTOR_WIDTH=8` (16 is honoured only where it runs).
    public static let processDefault: KernelWidth = {
        if let s = ProcessInfo.processInfo.environment["RNNSTREAM_VECTOR_WIDTH"], let n = Int(s),
           let w = KernelWidth(rawValue: n) { return min(w, supported) }
        return supported
    }()

    @TaskLocal static var override: KernelWidth?

    /// The width for products started on this thread (or task): never wider than `supported`, so a test that
    /// asks for 16 lanes on a machine without AVX-512 runs the 8-lane kernels.
    public static var current: KernelWidth { min(override ?? processDefault, supported) }

    /// Runs `body` with products started from it at `width` (tests compare the two widths bit for bit).
    public static func with<R>(_ width: KernelWidth, _ body: () throws -> R) rethrows -> R {
        try $override.withValue(width, operation: body)
    }
}
