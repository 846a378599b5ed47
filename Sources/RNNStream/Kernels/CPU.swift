import CKernels
import Foundation

/// What the CPU this process runs on can execute, read at run time (cpuid and xgetbv, in CKernels), so that
/// one binary picks its kernels on any machine: the 16-lane Swift kernels (RNNKernels16) need AVX-512, the
/// bf16 products need AVX512_BF16. The build machine's features play no part.
public enum CPU {
    /// The kernel families, each implying the ones before it.
    public enum Level: Int, Comparable, Sendable, CaseIterable, CustomStringConvertible {
        /// No AVX2 and FMA (not an x86_64 machine, or an old one): the 8-lane kernels as plain SIMD code.
        case generic
        /// AVX2 and FMA: the 8-lane kernels (the baseline this package is compiled for on x86_64).
        case avx2
        /// AVX-512 F, BW, VL and DQ: the 16-lane fp32 kernels.
        case avx512
        /// AVX512_BF16 too: bf16 matrix products (`Precision.bf16`).
        case avx512bf16

        public static func < (a: Level, b: Level) -> Bool { a.rawValue < b.rawValue }

        public var description: String {
            switch self {
            case .generic: "generic"
            case .avx2: "avx2"
            case .avx512: "avx512"
            case .avx512bf16: "avx512bf16"
            }
        }

        public init?(name: String) {
            guard let l = Level.allCases.first(where: { $0.description == name }) else { return nil }
            self = l
        }
    }

    /// What the hardware has.
    public static let detected: Level = {
        let f = rnn_cpu_features()
        let has = { (bit: Int) in f & UInt32(bit) != 0 }
        if has(RNN_CPU_AVX512BF16) { return .avx512bf16 }
        if has(RNN_CPU_AVX512) { return .avx512 }
        if has(RNN_CPU_AVX2) { return .avx2 }
        return .generic
    }()

    /// The level the kernels use: `detected`, or lower when `RNNSTREAM_CPU` names a lower one (`avx2`,
    /// `avx512`, …; to test the fallbacks on a machine that has more). It never goes above `detected`.
    public static let level: Level = {
        if let s = ProcessInfo.processInfo.environment["RNNSTREAM_CPU"], let l = Level(name: s) {
            return min(l, detected)
        }
        return detected
    }()

    /// Whether bf16 matrix products run here.
    public static var hasBF16: Bool { level >= .avx512bf16 }

    /// Whether bf16 products are faster than fp32 ones here: AVX512_BF16 on an AMD CPU. Measured with
    /// rnn-bench's peak loops: on an AMD EPYC Zen 5 vdpbf16ps did 1.83 times the multiply-adds of a 16-lane
    /// fp32 FMA (453 against 248 GFLOP/s on one core); on an Intel Xeon with AVX512_BF16 it did half (82
    /// against 165). The vendor is read from cpuid, so the choice is the same on every run on a machine.
    public static var bf16IsFast: Bool { hasBF16 && rnn_cpu_features() & UInt32(RNN_CPU_AMD) != 0 }
}
