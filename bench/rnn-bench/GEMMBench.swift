// Throughput of the matrix kernels against the machine's FMA peak.
import Dispatch
import CKernels
import RNNKernels

@inline(__always)
private func nowSeconds() -> Double { Double(DispatchTime.now().uptimeNanoseconds) * 1e-9 }

/// Keeps benchmark results observable so the optimiser cannot drop the work.
nonisolated(unsafe) private var sink: Float = 0

/// The vector of the FMA peak loop: 8 floats (AVX2; the 16-lane and bf16 peaks are measured in CKernels).
typealias PeakVector = SIMD8<Float>

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

/// The multiply-add instruction a peak is measured with.
enum PeakKind: String, CaseIterable {
    /// AVX2 FMA, 8 fp32 lanes (the Swift loop above).
    case fp32x8 = "fp32 8-lane FMA"
    /// AVX-512 FMA, 16 fp32 lanes (CKernels).
    case fp32x16 = "fp32 16-lane FMA"
    /// vdpbf16ps, 32 bf16 multiply-adds into 16 fp32 lanes (CKernels).
    case bf16x32 = "bf16 vdpbf16ps"

    /// Multiply-adds per instruction.
    var lanes: Int { self == .fp32x8 ? 8 : self == .fp32x16 ? 16 : 32 }
    var runs: Bool { self == .fp32x8 || (self == .fp32x16 ? CPU.level >= .avx512 : CPU.hasBF16) }
    func chains(_ steps: Int, _ seed: Float) -> Float {
        switch self {
        case .fp32x8: fmaChains(steps, seed)
        case .fp32x16: rnn_peak_fp32x16(steps, seed)
        case .bf16x32: rnn_peak_bf16x32(steps, seed)
        }
    }
}

/// GFLOP/s of `threads` threads each running independent FMA chains at the same time
/// (2 flops per lane per FMA: 12 chains × `PeakVector` lanes × 2 per step). Best of several rounds of ~`seconds`/5.
func measureFMAPeak(threads: Int, seconds: Double) -> Double { measurePeak(.fp32x8, threads: threads, seconds: seconds) }

/// GFLOP/s of `threads` threads each running 12 independent chains of `kind` at the same time (2 flops per
/// multiply-add). Best of 5 rounds of about `seconds`/5; 0 where the CPU lacks the instruction.
func measurePeak(_ kind: PeakKind, threads: Int, seconds: Double) -> Double {
    if !kind.runs { return 0 }
    // Calibrate the step count of one round on one thread.
    var steps = 1 << 16
    while true {
        let t0 = nowSeconds()
        sink += kind.chains(steps, 1)
        if nowSeconds() - t0 > 0.02 { break }
        steps *= 2
    }
    let t0 = nowSeconds()
    sink += kind.chains(steps, 1)
    let perStep = (nowSeconds() - t0) / Double(steps)
    let roundSteps = max(1, Int(seconds / 5 / perStep))
    var best = 0.0
    for round in 0..<5 {
        let start = nowSeconds()
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            let r = kind.chains(roundSteps, Float(t + round + 1))
            if r == 0.5 { sink += r }
        }
        let elapsed = nowSeconds() - start
        best = max(best, Double(threads) * Double(roundSteps) * 12 * Double(kind.lanes) * 2 / elapsed / 1e9)
    }
    return best
}

/// Which product a benchmark runs.
enum BenchProduct: String { case matmul, matmulBT, matmulAT, vecmat, packedVecmat, packed }

/// Median GFLOP/s of one product (2·M·N·K flops per call) over repeated calls for at least `seconds`
/// (and at least 5 calls) after 3 warm-up calls, with Threads.count = `threads`.
/// `packed`: M rows times a B packed once (PackedMatrix, as the recurrent weights in training). `precision`
/// applies to the matrix products (not vecmat and packedVecmat).
func benchProduct(_ product: BenchProduct, m: Int, n: Int, k: Int, threads: Int, seconds: Double,
                  precision: Precision = .fp32) -> Double {
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
    let packed = product == .packedVecmat || product == .packed ? PackedMatrix(k: k, n: n, precision: precision) : nil
    if let packed { b.withUnsafeBufferPointer { packed.pack($0.baseAddress!, ldb: n) } }
    let call = {
        a.withUnsafeBufferPointer { a in
            b.withUnsafeBufferPointer { b in
                c.withUnsafeMutableBufferPointer { c in
                    let (ap, bp, cp) = (a.baseAddress!, b.baseAddress!, c.baseAddress!)
                    switch product {
                    case .matmul: matmul(m: m, n: n, k: k, a: ap, lda: k, b: bp, ldb: n, c: cp, ldc: n, accumulate: false,
                                         precision: precision)
                    case .matmulBT: matmulBT(m: m, n: n, k: k, a: ap, lda: k, b: bp, ldb: k, c: cp, ldc: n, accumulate: false,
                                             precision: precision)
                    case .matmulAT: matmulAT(m: m, n: n, k: k, a: ap, lda: m, b: bp, ldb: n, c: cp, ldc: n, accumulate: false,
                                             precision: precision)
                    case .packed: matmul(m: m, a: ap, lda: k, packed: packed!, c: cp, ldc: n, accumulate: false)
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
func benchGEMM(m: Int, n: Int, k: Int, threads: Int, seconds: Double, precision: Precision = .fp32) -> Double {
    benchProduct(.matmul, m: m, n: n, k: k, threads: threads, seconds: seconds, precision: precision)
}
