import CKernels

/// The number format a matrix product multiplies in. Accumulation is always fp32.
///
/// - fp32: inputs as they are.
/// - bf16: both inputs rounded to bfloat16 (8 bits of mantissa, fp32's range; to nearest, ties to even) while
///   they are packed, then multiplied in pairs by AVX512_BF16's vdpbf16ps, twice the multiply-adds of an fp32
///   FMA per instruction. A product of two bf16 values is exact in fp32, so the only rounding is of the inputs
///   and of the fp32 sums. Needs `CPU.hasBF16`; products of one row (batch 1) stay fp32 either way.
public enum Precision: String, Sendable, CaseIterable, Codable {
    case fp32, bf16

    /// Whether this CPU runs products in this precision.
    public var isSupported: Bool { self == .fp32 || CPU.hasBF16 }

    /// The precision rnn-fit trains in when none is asked for: bf16 where it is faster than fp32
    /// (`CPU.bf16IsFast`), else fp32.
    public static var trainingDefault: Precision { CPU.bf16IsFast ? .bf16 : .fp32 }
}

/// The format the weights of a batch-1 product are held in (rnn-gen, rnn-score `--precision`): each weight is
/// widened exactly to fp32 as it is loaded, multiplied by fp32 activations and summed in fp32, so the result is
/// that of the fp32 product with rounded weights. 16-bit weights halve the bytes a step streams.
/// - fp16: IEEE binary16, 11 significant bits, range ±65504 (no weight of a trained model comes near).
/// - bf16: 8 significant bits, fp32's range.
public enum WeightFormat: String, Sendable, CaseIterable {
    case fp32, bf16, fp16

    /// x as this format holds it.
    public func rounded(_ x: Float) -> Float {
        switch self {
        case .fp32: x
        case .bf16: rnn_half_to_float(rnn_half_from_float(x, Int32(RNN_HALF_BF16)), Int32(RNN_HALF_BF16))
        case .fp16: rnn_half_to_float(rnn_half_from_float(x, Int32(RNN_HALF_FP16)), Int32(RNN_HALF_FP16))
        }
    }

    /// rnn-gen's and rnn-score's default: fp16, which moved the bits per character of an LSTM 2x512 by less
    /// than 0.00004 and scored 1.5-1.6 times as fast as fp32 (rnn-score(1) has the measurements).
    public static let defaultForInference: WeightFormat = .fp16

    /// The C format code of a 16-bit format.
    var halfCode: Int32 { self == .bf16 ? Int32(RNN_HALF_BF16) : Int32(RNN_HALF_FP16) }
}
