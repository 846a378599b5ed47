// Throughput of the matrix kernels against the machine's FMA peak.
import Dispatch
import RNNKernels

@inline(__always)
private func nowSeconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }

/// Keeps benchmark results observable so the optimiser cannot drop the work.
nonisolated(unsafe) private var sink: Float = 0

/// The widest vector the build's kernels use: 16 floats when built with AVX-512, else 8.
#if RNNSTREAM_AVX512
typealias PeakVector = SIMD16<Float>
#else
typealias PeakVector = SIMD8<Float>
#endif

/// `count` FMA steps on 12 independent chains of `PeakVector` (enough to cover FMA latency on both pipes);
/// returns a value depending on all of them.
@inline(never)
private func fmaChains(_ count: Int, _ seed: Float) -> Float {
    let x = PeakVector(repeating: 1 + seed * 1e-9), y = PeakVector(repeating: 1e-7 * seed)
    var a0 = PeakVector(repeating: seed), a1 = a0 + 1, a2 = a0 + 2, a3 = a0 + 3
    var a4 = a0 + 4, a5 = a0 + 5, a6 = a0 + 6, a7 = a0 + 7
    var a8 = a0 + 8, a9 = a0 + 9, a10 = a0 + 10, a11 = a0 + 11
    for _ in 0..<count {
        a0 = a0.addingProduct(x, y); a1 = a1.addingProduct(x, y); a2 = a2.addingProduct(x, y)
        a3 = a3.addingProduct(x, y); a4 = a4.addingProduct(x, y); a5 = a5.addingProduct(x, y)
        a6 = a6.addingProduct(x, y); a7 = a7.addingProduct(x, y); a8 = a8.addingProduct(x, y)
        a9 = a9.addingProduct(x, y); a10 = a10.addingProduct(x, y); a11 = a11.addingProduct(x, y)
    }
    let s = ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)) + ((a8 + a9) + (a10 + a11))
    return s.sum()
}

/// GFLOP/s of `threads` threads each running independent FMA chains at the same time
/// (2 flops per lane per FMA: 12 chains × `PeakVector` lanes × 2 per step). Best of several rounds of ~`seconds`/5.
func measureFMAPeak(threads: Int, seconds: Double) -> Double {
    // Calibrate the step count of one round on one thread.
    var steps = 1 << 16
    while true {
        let t0 = nowSeconds()
        sink += fmaChains(steps, 1)
        if nowSeconds() - t0 > 0.02 { break }
        steps *= 2
    }
    let t0 = nowSeconds()
    sink += fmaChains(steps, 1)
    let perStep = (nowSeconds() - t0) / Double(steps)
    let roundSteps = max(1, Int(seconds / 5 / perStep))
    var best = 0.0
    for round in 0..<5 {
        let start = nowSeconds()
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            let r = fmaChains(roundSteps, Float(t + round + 1))
            if r == 0.5 { sink += r }
        }
        let elapsed = nowSeconds() - start
        best = max(best, Double(threads) * Double(roundSteps) * 12 * Double(PeakVector.scalarCount) * 2 / elapsed / 1e9)
    }
    return best
}

/// Which product a benchmark runs.
enum BenchProduct: String { case matmul, matmulBT, matmulAT, vecmat, packedVecmat }

/// Median GFLOP/s of one product (2·M·N·K flops per call) over repeated calls for at least `seconds`
/// (and at least 5 calls) after 3 warm-up calls, with Threads.count = `threads`.
func benchProduct(_ product: BenchProduct, m: Int, n: Int, k: Int, threads: Int, seconds: Double) -> Double {
    let saved = Threads.count
    Threads.count = threads
    defer { Threads.count = saved }
    var state: UInt32 = 12345
    func fill(_ count: Int) -> [Float] {
        (0..<count).map { _ in
            state = state &* 1664525 &+ 1013904223
            return Float(state >> 8) / Float(1 << 24) - 0.5
        }
    }
    let a = fill(m * k), b = fill(k * n)
    var c = [Float](repeating: 0, count: m * n)
    // B packed once, only for the product that reads it packed
    let packed = product == .packedVecmat ? PackedMatrix(k: k, n: n) : nil
    if let packed { b.withUnsafeBufferPointer { packed.pack($0.baseAddress!, ldb: n) } }
    let call = {
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    let (ap, bp, cp) = (a.baseAddress!, b.baseAddress!, c.baseAddress!)
                    switch product {
                    case .matmul: matmul(m: m, n: n, k: k, a: ap, lda: k, b: bp, ldb: n, c: cp, ldc: n, accumulate: false)
                    case .matmulBT: matmulBT(m: m, n: n, k: k, a: ap, lda: k, b: bp, ldb: k, c: cp, ldc: n, accumulate: false)
                    case .matmulAT: matmulAT(m: m, n: n, k: k, a: ap, lda: m, b: bp, ldb: n, c: cp, ldc: n, accumulate: false)
                    case .vecmat: vecmat(n: n, k: k, x: ap, w: bp, ldw: n, y: cp, accumulate: false)
                    case .packedVecmat: matmul(m: 1, a: ap, lda: k, packed: packed!, c: cp, ldc: n, accumulate: false)
                    }
                }
            }
        }
    }
    for _ in 0..<3 { call() }
    var times: [Double] = []
    let end = nowSeconds() + seconds
    while nowSeconds() < end || times.count < 5 {
        let t0 = nowSeconds()
        call()
        times.append(nowSeconds() - t0)
    }
    sink += c[0]
    times.sort()
    return 2 * Double(m) * Double(n) * Double(k) / times[times.count / 2] / 1e9
}

/// Median GFLOP/s of `matmul` C[M×N] = A[M×K]·B[K×N] (2·M·N·K flops per call).
func benchGEMM(m: Int, n: Int, k: Int, threads: Int, seconds: Double) -> Double {
    benchProduct(.matmul, m: m, n: n, k: k, threads: threads, seconds: seconds)
}
