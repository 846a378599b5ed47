import Testing
import CKernels
import RNNKernels

/// The bf16 products (CKernels' vdpbf16ps micro-kernel behind the GEMM driver) against their plain twin:
/// inputs rounded to bf16 the way the packing rounds them, multiplied and summed in fp32.
@Suite(.enabled(if: CPU.hasBF16, "this CPU has no AVX512_BF16"))
struct BF16Tests {
    /// The bf16 form of every product kind, and its twin: the fp32 reference of that layout on rounded inputs
    /// (for the plain layout, matmulBF16Reference itself).
    static func kernels(_ p: Product) -> (fast: Kernel, reference: Kernel) {
        let r = { (x: UnsafePointer<Float>, count: Int) in (0..<count).map { bf16Rounded(x[$0]) } }
        switch p {
        case .plain:
            return ({ matmul(m: $0, n: $1, k: $2, a: $3, lda: $4, b: $5, ldb: $6, c: $7, ldc: $8, accumulate: $9, precision: .bf16) },
                    { m, n, k, a, lda, b, ldb, c, ldc, acc in
                        // One row is a vector-matrix product, which stays fp32: its twin is the fp32 reference.
                        if m == 1 { matmulReference(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, accumulate: acc) }
                        else { matmulBF16Reference(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, accumulate: acc) } })
        case .bt:
            return ({ matmulBT(m: $0, n: $1, k: $2, a: $3, lda: $4, b: $5, ldb: $6, c: $7, ldc: $8, accumulate: $9, precision: .bf16) },
                    { m, n, k, a, lda, b, ldb, c, ldc, acc in
                        matmulBTReference(m: m, n: n, k: k, a: r(a, m * lda), lda: lda, b: r(b, n * ldb), ldb: ldb,
                                          c: c, ldc: ldc, accumulate: acc) })
        case .at:
            return ({ matmulAT(m: $0, n: $1, k: $2, a: $3, lda: $4, b: $5, ldb: $6, c: $7, ldc: $8, accumulate: $9, precision: .bf16) },
                    { m, n, k, a, lda, b, ldb, c, ldc, acc in
                        matmulATReference(m: m, n: n, k: k, a: r(a, k * lda), lda: lda, b: r(b, k * ldb), ldb: ldb,
                                          c: c, ldc: ldc, accumulate: acc) })
        case .packed:
            return ({ m, n, k, a, lda, b, ldb, c, ldc, acc in
                        let pb = PackedMatrix(k: k, n: n, precision: .bf16)
                        pb.pack(b, ldb: ldb)
                        matmul(m: m, a: a, lda: lda, packed: pb, c: c, ldc: ldc, accumulate: acc) },
                    { m, n, k, a, lda, b, ldb, c, ldc, acc in
                        // One row reads the fp32 copy (packedVecmat): its twin is the fp32 reference.
                        if m == 1 { matmulReference(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, accumulate: acc) }
                        else { matmulBF16Reference(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, accumulate: acc) } })
        case .packedBT:
            return ({ m, n, k, a, lda, b, ldb, c, ldc, acc in
                        let pb = PackedMatrix(k: k, n: n, precision: .bf16)
                        pb.pack(transposeOf: b, ldbt: ldb)
                        matmul(m: m, a: a, lda: lda, packed: pb, c: c, ldc: ldc, accumulate: acc) },
                    { m, n, k, a, lda, b, ldb, c, ldc, acc in
                        if m == 1 { matmulBTReference(m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: c, ldc: ldc, accumulate: acc) }
                        else { matmulBTReference(m: m, n: n, k: k, a: r(a, m * lda), lda: lda, b: r(b, n * ldb), ldb: ldb,
                                                 c: c, ldc: ldc, accumulate: acc) } })
        }
    }

    /// Every product kind in bf16 over the shape sweep, overwriting and accumulating: within fp32 summation
    /// error of the twin (1e-4 of the sum of |terms|, far below bf16's own 2⁻⁹ rounding of each input, so a
    /// product that skipped or mis-rounded the conversion fails), and the padding of C untouched.
    @Test(arguments: matrixShapes + [Shape(50, 2048, 512), Shape(50, 512, 2048), Shape(120, 130, 1025)])
    func bf16ProductsMatchTheirTwin(_ s: Shape) {
        for product in Product.allCases {
            for accumulate in [false, true] {
                checkProduct(product, s, accumulate: accumulate, kernels: BF16Tests.kernels(product))
            }
        }
    }

    /// bf16 really rounds: on a shape where the inputs are not bf16 values, the bf16 product differs from the
    /// fp32 one by about bf16's precision, not by fp32's.
    @Test func bf16DiffersFromFP32ByBF16Rounding() {
        let m = 24, n = 32, k = 64
        let a = pseudoRandom(m * k, seed: 21), b = pseudoRandom(k * n, seed: 22)
        var c32 = [Float](repeating: 0, count: m * n), c16 = c32
        matmul(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &c32, ldc: n, accumulate: false)
        matmul(m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &c16, ldc: n, accumulate: false, precision: .bf16)
        let maxDiff = zip(c32, c16).map { abs($0 - $1) }.max() ?? 0
        #expect(maxDiff > 1e-3 && maxDiff < 0.1, "max |fp32 − bf16| = \(maxDiff)")
    }

    /// The packing's bf16 conversion (16 or, masked, 6 columns a step with AVX-512) gives the bits of its scalar
    /// twin for every kind of float: ties both ways, subnormals (which vcvtne2ps2bf16 would flush), the largest
    /// float (to infinity), infinities, NaNs of either sign and payload, ±0, for even and odd k.
    @Test(arguments: [6, 16])
    func packingMatchesItsScalarTwin(_ width: Int) {
        var special: [UInt32] = [0x3f80_8000, 0x3f81_8000, 0x3f80_8001, 0xbf80_7fff, 0x0000_0001, 0x0000_8000,
                                 0x0001_8000, 0x807f_ffff, 0x7f7f_ffff, 0xff7f_ffff, 0x7f80_0000, 0xff80_0000,
                                 0x7fc0_0000, 0xffc0_0001, 0x7f80_0001, 0x7fff_ffff, 0x0000_0000, 0x8000_0000]
        var state: UInt32 = 12345
        while special.count < 4096 {
            state = state &* 1_664_525 &+ 1_013_904_223
            special.append(state)
        }
        let src = special.map { Float(bitPattern: $0) }
        for kc in [1, 2, 3, 7, 8, 255, 256] where kc * width <= src.count {
            let pairs = (kc + 1) / 2
            var fast = [UInt16](repeating: 0xffff, count: pairs * width * 2), slow = fast
            rnn_bf16_pack_pairs(src, width, kc, &fast)
            rnn_bf16_pack_pairs_scalar(src, width, kc, &slow)
            #expect(fast == slow, "width \(width), kc \(kc)")
        }
    }

    /// Round to nearest, ties to even, as vcvtne2ps2bf16.
    @Test func roundingIsToNearestEven() {
        let ulp: Float = 1.0 / 128  // bf16's spacing in [1, 2)
        #expect(bf16Rounded(1 + ulp / 2) == 1)                 // a tie: to the even 1.0
        #expect(bf16Rounded(1 + 3 * ulp / 2) == 1 + 2 * ulp)   // a tie: to the even 1 + 2 ulp
        #expect(bf16Rounded(1 + ulp / 2 + ulp / 64) == 1 + ulp) // just above the tie: up
        #expect(bf16Rounded(-(1 + ulp / 4)) == -1)
        #expect(bf16Rounded(.greatestFiniteMagnitude) == .infinity)  // rounds up past the largest bf16
        #expect(bf16Rounded(.infinity) == .infinity)
        #expect(bf16Rounded(.nan).isNaN)
    }

    /// bf16 products are bit-identical on 1, 2 and 4 threads (the tile plan and k-blocks do not depend on
    /// the thread count), for the plain and the pre-packed forms.
    @Test(arguments: [Shape(50, 2048, 512), Shape(131, 270, 530), Shape(512, 65, 700), Shape(2500, 512, 2048)])
    func bf16IsBitIdenticalAcrossThreadCounts(_ s: Shape) {
        for product in [Product.plain, .at, .bt, .packed] {
            let (aRows, aCols, bRows, bCols) = operandLayout(product, s)
            let a = pseudoRandom(aRows * aCols, seed: 7), b = pseudoRandom(bRows * bCols, seed: 8)
            let (f, _) = BF16Tests.kernels(product)
            var first: [UInt32]?
            for t in [1, 2, 4] {
                let bits = withThreads(t, parallel: true) {
                    var c = [Float](repeating: 0, count: s.m * s.n)
                    f(s.m, s.n, s.k, a, aCols, b, bCols, &c, s.n, true)
                    return c.map(\.bitPattern)
                }
                if let first { #expect(bits == first, "\(product) \(s.testDescription): \(t) threads differ") } else { first = bits }
            }
        }
    }
}
