import Testing
import RNNKernels
import RNNText
import RNNModel
import RNNFormat
import RNNInference
import RNNTraining
import RNNShell
import RNNTools

/// A product shape: C is m×n, the sum runs over k.
struct Shape: CustomTestStringConvertible, Sendable {
    let m: Int, n: Int, k: Int
    init(_ m: Int, _ n: Int, _ k: Int) { self.m = m; self.n = n; self.k = k }
    var testDescription: String { "\(m)x\(n)x\(k)" }
}

enum Product: CaseIterable, Sendable { case plain, bt, at, packed, packedBT }

/// Small, odd and degenerate sizes, every combination of the smallest, and each larger size against
/// small and large partners; plus shapes with several tiles and several k-blocks, and the model's shapes.
let matrixShapes: [Shape] = {
    let tiny = [0, 1, 2, 3, 5, 7, 8, 9, 13, 16, 17]
    var shapes: [Shape] = []
    for m in tiny { for n in tiny { for k in tiny where (m + 2 * n + 3 * k) % 3 == 0 || m == 0 || n == 0 || k == 0 || m == 1 {
        shapes.append(Shape(m, n, k))
    } } }
    for s in [31, 33, 64, 65, 100] {
        shapes += [Shape(s, 17, 9), Shape(7, s, 13), Shape(5, 3, s), Shape(s, s, s), Shape(1, s, s), Shape(s, 1, s)]
    }
    shapes += [Shape(50, 2048, 512), Shape(131, 270, 530), Shape(250, 65, 300), Shape(13, 97, 1031), Shape(2, 600, 257)]
    return shapes
}()

/// Deterministic values in [-1, 1).
func pseudoRandom(_ count: Int, seed: UInt64) -> [Float] {
    var s = seed &* 6364136223846793005 &+ 1442695040888963407
    return (0..<count).map { _ in
        s = s &* 6364136223846793005 &+ 1442695040888963407
        return Float(Int32(truncatingIfNeeded: s >> 32)) / 2_147_483_648
    }
}

/// Sentinel in the padding between rows: a kernel that writes there is caught.
let padValue: Float = 7777

typealias Kernel = (Int, Int, Int, UnsafePointer<Float>, Int, UnsafePointer<Float>, Int, UnsafeMutablePointer<Float>, Int, Bool) -> Void

func kernels(_ p: Product) -> (fast: Kernel, reference: Kernel) {
    switch p {
    case .plain:
        return ({ matmul(m: $0, n: $1, k: $2, a: $3, lda: $4, b: $5, ldb: $6, c: $7, ldc: $8, accumulate: $9) },
                { matmulReference(m: $0, n: $1, k: $2, a: $3, lda: $4, b: $5, ldb: $6, c: $7, ldc: $8, accumulate: $9) })
    case .bt:
        return ({ matmulBT(m: $0, n: $1, k: $2, a: $3, lda: $4, b: $5, ldb: $6, c: $7, ldc: $8, accumulate: $9) },
                { matmulBTReference(m: $0, n: $1, k: $2, a: $3, lda: $4, b: $5, ldb: $6, c: $7, ldc: $8, accumulate: $9) })
    case .at:
        return ({ matmulAT(m: $0, n: $1, k: $2, a: $3, lda: $4, b: $5, ldb: $6, c: $7, ldc: $8, accumulate: $9) },
                { matmulATReference(m: $0, n: $1, k: $2, a: $3, lda: $4, b: $5, ldb: $6, c: $7, ldc: $8, accumulate: $9) })
    case .packed:
        // B (K×N) packed, then the packed product.
        return ({ m, n, k, a, lda, b, ldb, c, ldc, acc in
                    let pb = PackedMatrix(k: k, n: n)
                    pb.pack(b, ldb: ldb)
                    matmul(m: m, a: a, lda: lda, packed: pb, c: c, ldc: ldc, accumulate: acc) },
                { matmulReference(m: $0, n: $1, k: $2, a: $3, lda: $4, b: $5, ldb: $6, c: $7, ldc: $8, accumulate: $9) })
    case .packedBT:
        // B stored N×K, packed as its transpose: the packed form of matmulBT.
        return ({ m, n, k, a, lda, b, ldb, c, ldc, acc in
                    let pb = PackedMatrix(k: k, n: n)
                    pb.pack(transposeOf: b, ldbt: ldb)
                    matmul(m: m, a: a, lda: lda, packed: pb, c: c, ldc: ldc, accumulate: acc) },
                { matmulBTReference(m: $0, n: $1, k: $2, a: $3, lda: $4, b: $5, ldb: $6, c: $7, ldc: $8, accumulate: $9) })
    }
}

/// Stored (rows, width) of A and B for a product: A is m×k (k×m for AT), B is k×n (n×k for BT).
func operandLayout(_ p: Product, _ s: Shape) -> (aRows: Int, aCols: Int, bRows: Int, bCols: Int) {
    switch p {
    case .plain, .packed: return (s.m, s.k, s.k, s.n)
    case .bt, .packedBT: return (s.m, s.k, s.n, s.k)
    case .at: return (s.k, s.m, s.k, s.n)
    }
}

/// Runs the fast product and its reference twin on the same padded operands and checks every element
/// against |fast − ref| ≤ 1e-4·(1 + Σ|terms|), and that the padding of C is untouched.
func checkProduct(_ product: Product, _ s: Shape, accumulate: Bool,
                  kernels pair: (fast: Kernel, reference: Kernel)? = nil) {
    let (aRows, aCols, bRows, bCols) = operandLayout(product, s)
    let lda = aCols + 3, ldb = bCols + 5, ldc = s.n + 7
    let a = pseudoRandom(max(1, aRows * lda), seed: 1)
    let b = pseudoRandom(max(1, bRows * ldb), seed: 2)
    var c0 = pseudoRandom(max(1, s.m * ldc), seed: 3)
    for i in 0..<s.m { for j in s.n..<ldc { c0[i * ldc + j] = padValue } }
    let absA = a.map { abs($0) }, absB = b.map { abs($0) }
    var fast = c0, ref = c0, bound = [Float](repeating: 0, count: c0.count)
    let (f, r) = pair ?? kernels(product)
    f(s.m, s.n, s.k, a, lda, b, ldb, &fast, ldc, accumulate)
    r(s.m, s.n, s.k, a, lda, b, ldb, &ref, ldc, accumulate)
    kernels(product).reference(s.m, s.n, s.k, absA, lda, absB, ldb, &bound, ldc, false)
    var bad = 0
    for i in 0..<s.m {
        for j in 0..<s.n {
            let idx = i * ldc + j
            let terms = bound[idx] + (accumulate ? abs(c0[idx]) : 0)
            if !(abs(fast[idx] - ref[idx]) <= 1e-4 * (1 + terms)) {
                bad += 1
                if bad <= 3 { Issue.record("\(product) \(s.testDescription) acc=\(accumulate): C[\(i),\(j)] = \(fast[idx]), reference \(ref[idx])") }
            }
        }
        for j in s.n..<ldc where fast[i * ldc + j] != padValue {
            Issue.record("\(product) \(s.testDescription) acc=\(accumulate): padding C[\(i),\(j)] overwritten")
        }
    }
    #expect(bad == 0)
}

let vecmatShapes: [(n: Int, k: Int)] = {
    let sizes = [0, 1, 2, 3, 5, 7, 8, 9, 13, 16, 17, 31, 33, 64, 65, 100]
    var shapes: [(Int, Int)] = []
    for n in sizes { for k in sizes { shapes.append((n, k)) } }
    return shapes + [(2048, 512), (65, 512), (1000, 300), (2048, 1024)]
}()

/// Runs `body` on a team of its own of `threads` threads (`Threads.withOwnTeam`), which tests running at the
/// same time cannot keep busy. With `parallel`, expects that the work really was split: at least one job ran
/// on the team and none fell back to running serially.
func withThreads<R>(_ threads: Int, parallel: Bool = false, sourceLocation: SourceLocation = #_sourceLocation,
                    _ body: () throws -> R) rethrows -> R {
    let (result, jobs, serial) = try Threads.withOwnTeam(threads: threads, body)
    if parallel && threads > 1 {
        #expect(jobs > 0 && serial == 0, "\(threads) threads: \(jobs) jobs on the team, \(serial) serial",
                sourceLocation: sourceLocation)
    }
    return result
}

/// Runs `body` at each kernel width and thread count; the results must all be bit-identical.
func expectSameBitsAtEveryWidthAndThreadCount(
    _ what: String, threads: [Int] = [1, 2, 4], parallel: Bool = true,
    sourceLocation: SourceLocation = #_sourceLocation, _ body: () -> [UInt32]
) {
    var first: [UInt32]?
    for width in [KernelWidth.eight, .sixteen] {
        for t in threads {
            let bits = KernelWidth.with(width) { withThreads(t, parallel: parallel, sourceLocation: sourceLocation, body) }
            if let first {
                #expect(bits == first, "\(what): \(width.rawValue) lanes, \(t) threads differ from 8 lanes, \(threads[0])",
                        sourceLocation: sourceLocation)
            } else {
                first = bits
            }
        }
    }
}

/// The fast products against their reference twins, and their independence of the thread count.
@Suite struct MatrixTests {
    @Test(arguments: matrixShapes)
    func matmulMatchesReference(_ s: Shape) {
        for accumulate in [false, true] { checkProduct(.plain, s, accumulate: accumulate) }
    }

    @Test(arguments: matrixShapes)
    func matmulBTMatchesReference(_ s: Shape) {
        for accumulate in [false, true] { checkProduct(.bt, s, accumulate: accumulate) }
    }

    @Test(arguments: matrixShapes)
    func matmulATMatchesReference(_ s: Shape) {
        for accumulate in [false, true] { checkProduct(.at, s, accumulate: accumulate) }
    }

    @Test(arguments: matrixShapes + [Shape(1, 2048, 512), Shape(1, 512, 2048), Shape(1, 100, 100), Shape(50, 512, 2048)])
    func packedMatmulMatchesReference(_ s: Shape) {
        for accumulate in [false, true] {
            checkProduct(.packed, s, accumulate: accumulate)
            checkProduct(.packedBT, s, accumulate: accumulate)
        }
    }

    /// With more than one row, the packed product is the unpacked one minus the packing: the same bits.
    @Test(arguments: [Shape(50, 2048, 512), Shape(50, 512, 2048), Shape(7, 100, 100), Shape(25, 65, 1031)])
    func packedMatmulIsBitIdenticalToUnpacked(_ s: Shape) {
        for (packed, plain) in [(Product.packed, Product.plain), (.packedBT, .bt)] {
            let (aRows, aCols, bRows, bCols) = operandLayout(plain, s)
            let a = pseudoRandom(aRows * aCols, seed: 12), b = pseudoRandom(bRows * bCols, seed: 13)
            let c0 = pseudoRandom(s.m * s.n, seed: 14)
            for accumulate in [false, true] {
                var c1 = c0, c2 = c0
                kernels(packed).fast(s.m, s.n, s.k, a, aCols, b, bCols, &c1, s.n, accumulate)
                kernels(plain).fast(s.m, s.n, s.k, a, aCols, b, bCols, &c2, s.n, accumulate)
                #expect(c1.map(\.bitPattern) == c2.map(\.bitPattern), "\(packed) \(s.testDescription) acc=\(accumulate)")
            }
        }
    }

    @Test(arguments: vecmatShapes)
    func vecmatMatchesReference(_ n: Int, _ k: Int) {
        let ldw = n + 3
        let x = pseudoRandom(max(1, k), seed: 4)
        let w = pseudoRandom(max(1, k * ldw), seed: 5)
        var y0 = pseudoRandom(n + 4, seed: 6)
        for j in n..<(n + 4) { y0[j] = padValue }
        let absX = x.map { abs($0) }, absW = w.map { abs($0) }
        for accumulate in [false, true] {
            var fast = y0, ref = y0, bound = [Float](repeating: 0, count: n + 4)
            vecmat(n: n, k: k, x: x, w: w, ldw: ldw, y: &fast, accumulate: accumulate)
            vecmatReference(n: n, k: k, x: x, w: w, ldw: ldw, y: &ref, accumulate: accumulate)
            vecmatReference(n: n, k: k, x: absX, w: absW, ldw: ldw, y: &bound, accumulate: false)
            for j in 0..<n {
                let terms = bound[j] + (accumulate ? abs(y0[j]) : 0)
                #expect(abs(fast[j] - ref[j]) <= 1e-4 * (1 + terms), "n=\(n) k=\(k) acc=\(accumulate) y[\(j)]")
            }
            #expect(Array(fast[n...]) == Array(y0[n...]), "vecmat wrote past y[n-1]")
        }
    }

    /// Every product at 8 and 16 lanes and on 1, 2 and 4 threads (a team of its own that really splits the
    /// work): the same bits. Small shapes run on the calling thread alone (below the parallel threshold).
    @Test(arguments: [Shape(50, 2048, 512), Shape(131, 270, 530), Shape(512, 65, 700), Shape(1, 2048, 1024),
                      Shape(37, 45, 29), Shape(18, 16, 300), Shape(13, 97, 1031)])
    func productsAreBitIdenticalAtEveryWidthAndThreadCount(_ s: Shape) {
        let big = 2 * s.m * s.n * s.k >= 4_000_000
        for product in Product.allCases {
            let (aRows, aCols, bRows, bCols) = operandLayout(product, s)
            let a = pseudoRandom(aRows * aCols, seed: 7), b = pseudoRandom(bRows * bCols, seed: 8)
            let c0 = pseudoRandom(s.m * s.n, seed: 9)
            for accumulate in [false, true] {
                let (f, _) = kernels(product)
                expectSameBitsAtEveryWidthAndThreadCount("\(product) \(s.testDescription) acc=\(accumulate)",
                                                         parallel: big) {
                    var c = c0
                    f(s.m, s.n, s.k, a, aCols, b, bCols, &c, s.n, accumulate)
                    return c.map(\.bitPattern)
                }
            }
        }
    }

    @Test func vecmatIsBitIdenticalAcrossThreadCounts() {
        let n = 2048, k = 1024
        let x = pseudoRandom(k, seed: 10), w = pseudoRandom(n * k, seed: 11)
        expectSameBitsAtEveryWidthAndThreadCount("vecmat \(n)x\(k)") {
            var y = [Float](repeating: 0, count: n)
            vecmat(n: n, k: k, x: x, w: w, ldw: n, y: &y, accumulate: false)
            return y.map(\.bitPattern)
        }
    }
}
