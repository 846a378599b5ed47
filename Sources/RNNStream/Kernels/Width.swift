import Foundation

/// Which of the kernels' two vector widths runs: 16 lanes (two or three A panels per B̃ row in the matrix
/// micro-kernels, 8 panels per group in the packed vector-matrix product) or 8. Both are always compiled and
/// compute every element with the same multiply-adds in the same order, so they give the same bits; only
/// speed differs (16 lanes is a single AVX-512 register, 8 lanes one AVX2 register).
public enum KernelWidth: Int, Sendable {
    case eight = 8, sixteen = 16

    /// The process default: 16 lanes in a build for AVX-512 (`RNNSTREAM_AVX512`, see Package.swift), else 8;
    /// `RNNSTREAM_VECTOR_WIDTH=8` or `16` overrides it.
    public static let processDefault: KernelWidth = {
        if let s = ProcessInfo.processInfo.environment["RNNSTREAM_VECTOR_WIDTH"], let n = Int(s),
           let w = KernelWidth(rawValue: n) { return w }
        #if RNNSTREAM_AVX512
        return .sixteen
        #else
        return .eight
        #endif
    }()

    @TaskLocal static var override: KernelWidth?

    /// The width for products started on this thread (or task).
    public static var current: KernelWidth { override ?? processDefault }

    /// Runs `body` with products started from it at `width` (tests compare the two widths bit for bit).
    public static func with<R>(_ width: KernelWidth, _ body: () throws -> R) rethrows -> R {
        try $override.withValue(width, operation: body)
    }
}
