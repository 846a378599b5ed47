// Fast batch-1 product: a row vector times a row-major matrix, streaming the matrix once.

/// Below this many multiply-adds (N·K) the product is one pass on the calling thread.
private let vecmatParallelWork = 256 * 1024
/// Rows of W per task of a split product: a contiguous stretch of W (when ldw = N) that one thread
/// streams front to back, which the hardware prefetchers follow at full speed.
private let vecmatTaskRows = 128

/// y[N] (+)= x[K] · W[K×N]
///
/// Small products: y(j) = y₀(j) + Σ_p x(p)·W(p, j), one pass over p in order (y₀ = 0 when overwriting).
/// Large products (N·K ≥ 256K) split K into chunks of 128 rows: chunk t's partial sum
/// s_t(j) = Σ_{p in chunk t} x(p)·W(p, j) is summed in order of p into its own buffer, then
/// y(j) = (((y₀(j) + s₀(j)) + s₁(j)) + …) in order of t. Which path, and the chunks, depend only on
/// (N, K), never on Threads.count, so the result is bit-identical on any number of threads.
public func vecmat(
    n: Int, k: Int,
    x: UnsafePointer<Float>,
    w: UnsafePointer<Float>, ldw: Int,
    y: UnsafeMutablePointer<Float>,
    accumulate: Bool
) {
    if n <= 0 { return }
    if k <= 0 || n * k < vecmatParallelWork {
        if !accumulate { y.update(repeating: 0, count: n) }
        vecmatRows(p0: 0, p1: k, n: n, x: x, w: w, ldw: ldw, y: y)
        return
    }
    let chunks = (k + vecmatTaskRows - 1) / vecmatTaskRows
    let partials = UnsafeMutablePointer<Float>.allocate(capacity: chunks * n)
    defer { partials.deallocate() }
    // Task t reads rows [128t, min(128(t+1), k)) of W and writes only partials[t·n ..< (t+1)·n]:
    // disjoint buffers, so tasks never write the same memory; x and W are only read.
    parallelFor(chunks) { t in
        let s = partials + t * n
        s.update(repeating: 0, count: n)
        vecmatRows(p0: t * vecmatTaskRows, p1: min(k, (t + 1) * vecmatTaskRows), n: n, x: x, w: w, ldw: ldw, y: s)
    }
    // y(j) = y₀(j) + s₀(j) + s₁(j) + … in order of t.
    let vecEnd = n / 8 * 8
    var j = 0
    while j < vecEnd {
        var v = accumulate ? load8(y + j) : SIMD8<Float>()
        for t in 0..<chunks { v += load8(partials + t * n + j) }
        store8(v, y + j)
        j += 8
    }
    while j < n {
        var v: Float = accumulate ? y[j] : 0
        for t in 0..<chunks { v += partials[t * n + j] }
        y[j] = v
        j += 1
    }
}

/// y(j) += Σ_{p = p0}^{p1−1} x(p)·W(p, j) for j < n, in order of p, W read row by row, four rows per pass
/// over y (y is touched a quarter as often as W; a 2048-float y stays in L1).
private func vecmatRows(
    p0: Int, p1: Int, n: Int,
    x: UnsafePointer<Float>,
    w: UnsafePointer<Float>, ldw: Int,
    y: UnsafeMutablePointer<Float>
) {
    let vecEnd = n / 8 * 8
    var p = p0
    // y(j) = (((y(j) + x(p)W(p,j)) + x(p+1)W(p+1,j)) + x(p+2)W(p+2,j)) + x(p+3)W(p+3,j), each step fused.
    while p + 4 <= p1 {
        let w0 = w + p * ldw, w1 = w0 + ldw, w2 = w1 + ldw, w3 = w2 + ldw
        let x0 = SIMD8<Float>(repeating: x[p]), x1 = SIMD8<Float>(repeating: x[p + 1])
        let x2 = SIMD8<Float>(repeating: x[p + 2]), x3 = SIMD8<Float>(repeating: x[p + 3])
        var j = 0
        while j < vecEnd {
            var v = load8(y + j)
            v = v.addingProduct(x0, load8(w0 + j))
            v = v.addingProduct(x1, load8(w1 + j))
            v = v.addingProduct(x2, load8(w2 + j))
            v = v.addingProduct(x3, load8(w3 + j))
            store8(v, y + j)
            j += 8
        }
        while j < n {
            var s = y[j]
            s = s.addingProduct(x[p], w0[j])
            s = s.addingProduct(x[p + 1], w1[j])
            s = s.addingProduct(x[p + 2], w2[j])
            s = s.addingProduct(x[p + 3], w3[j])
            y[j] = s
            j += 1
        }
        p += 4
    }
    // The last (p1 − p0) mod 4 rows, one at a time.
    while p < p1 {
        let w0 = w + p * ldw
        let x0 = SIMD8<Float>(repeating: x[p])
        var j = 0
        while j < vecEnd {
            store8(load8(y + j).addingProduct(x0, load8(w0 + j)), y + j)
            j += 8
        }
        while j < n {
            y[j] = y[j].addingProduct(x[p], w0[j])
            j += 1
        }
        p += 1
    }
}
