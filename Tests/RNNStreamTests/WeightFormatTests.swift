import Testing
import RNNKernels

/// 16-bit weights for batch-1 inference (WeightFormat): the rounding, and the one-row product that widens
/// each weight as it loads it (CKernels' rnn_half_vecmat_panels) against the fp32 product of the rounded
/// weights, which it must equal bit for bit (same multiply-adds in the same order).
@Suite struct WeightFormatTests {
    /// fp16 rounding is IEEE binary16's (to nearest, ties to even, subnormals, overflow to infinity): the same
    /// as Swift's own Float16 conversion, over values from every binade fp16 has and beyond.
    @Test func fp16RoundingIsIEEE() {
        var values: [Float] = [0, -0, 1, -1, 65504, 65519.996, 65520, 1e9, -1e9, 6.1035156e-05, 5.9604645e-08,
                               2.9802322e-08, 2.9802326e-08, 1e-10, .infinity, -.infinity]
        var s: UInt64 = 99
        for _ in 0..<20000 {
            s = s &* 6364136223846793005 &+ 1442695040888963407
            let bits = UInt32(truncatingIfNeeded: s >> 32)
            // exponents around fp16's range (2⁻³⁰ … 2¹⁸), any mantissa and sign
            let exponent = UInt32(97 + (bits >> 24) % 48)
            values.append(Float(bitPattern: (bits & 0x807f_ffff) | (exponent << 23)))
        }
        var bad = 0
        for x in values {
            let mine = WeightFormat.fp16.rounded(x), swift = Float(Float16(x))
            if mine.bitPattern != swift.bitPattern {
                bad += 1
                if bad <= 3 { Issue.record("fp16(\(x)) = \(mine), Float16 gives \(swift)") }
            }
        }
        #expect(bad == 0)
        #expect(WeightFormat.fp16.rounded(.nan).isNaN)
    }

    /// bf16 weights round as the bf16 products do.
    @Test func bf16RoundingMatchesTheProducts() {
        for x in pseudoRandom(5000, seed: 5).map({ $0 * 3 }) {
            #expect(WeightFormat.bf16.rounded(x) == bf16Rounded(x))
        }
    }

    /// One-row products with 16-bit weights equal the fp32 one-row product of the rounded weights bit for bit,
    /// at both widths and on 1, 2 and 4 threads; products of more rows use the rounded fp32 copy. (The packing
    /// rounds with F16C where the CPU has it, the reference with the scalar rounding: this compares them too.)
    @Test(arguments: [WeightFormat.fp16, .bf16])
    func halfWeightProductsEqualFP32OfRoundedWeights(_ format: WeightFormat) {
        for (m, n, k) in [(1, 2048, 512), (1, 65, 512), (1, 100, 100), (1, 17, 3), (1, 1000, 1031), (5, 130, 70), (50, 2048, 512)] {
            // weights over 40 binades (2⁻²⁸ … 2¹²): fp16 subnormals (below 2⁻¹⁴) and values that round to 0 included
            let x = pseudoRandom(m * k, seed: 31)
            let b = pseudoRandom(k * n, seed: 32).enumerated().map { i, v in v * Float(sign: .plus, exponent: i % 40 - 28, significand: 1) }
            let rounded = b.map { format.rounded($0) }
            let exact = PackedMatrix(k: k, n: n)
            exact.pack(rounded, ldb: n)
            var want = [Float](repeating: 0.5, count: m * n)
            matmul(m: m, a: x, lda: k, packed: exact, c: &want, ldc: n, accumulate: true)
            let half = PackedMatrix(k: k, n: n, weights: format)
            half.pack(b, ldb: n)
            // packed for one-row products only: no fp32 copy, rounded a piece of 128 columns at a time
            let single = PackedMatrix(k: k, n: n, weights: format, singleRow: m == 1)
            single.pack(b, ldb: n)
            expectSameBitsAtEveryWidthAndThreadCount("\(format) \(m)x\(n)x\(k)", parallel: false) {
                var got = [Float](repeating: 0.5, count: m * n)
                matmul(m: m, a: x, lda: k, packed: half, c: &got, ldc: n, accumulate: true)
                #expect(got.map(\.bitPattern) == want.map(\.bitPattern), "\(format) \(m)x\(n)x\(k) differs from fp32 of the rounded weights")
                var gotSingle = [Float](repeating: 0.5, count: m * n)
                matmul(m: m, a: x, lda: k, packed: single, c: &gotSingle, ldc: n, accumulate: true)
                #expect(gotSingle.map(\.bitPattern) == want.map(\.bitPattern), "\(format) \(m)x\(n)x\(k) single-row packing differs")
                return got.map(\.bitPattern)
            }
        }
    }
}
