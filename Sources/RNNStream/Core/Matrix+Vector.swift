// Fast batch-1 product: a row vector times a row-major matrix, streaming the matrix once.

/// Below this many multiply-adds (N·K) the product runs on the calling thread.
private let vecmatParallelWork = 256 * 1024
/// Columns of y per parallel task: y's slice (1 KB) stays in L1 while W's rows stream past.
private let vecmatTaskCols = 256

/// y[N] (+)= x[K] · W[K×N]
///
/// y(j) = y₀(j) + Σ_p x(p)·W(p, j), summed in order p = 0, 1, …, K−1 (y₀ = 0 when overwriting). That order
/// does not depend on how the columns are split, so the result is the same on any number of threads.
public func vecmat(
    n: Int, k: Int,
    x: UnsafePointer<Float>,
    w: UnsafePointer<Float>, ldw: Int,
    y: UnsafeMutablePointer<Float>,
    accumulate: Bool
) {
    if n <= 0 { return }
    if k <= 0 {
        if !accumulate { y.update(repeating: 0, count: n) }
        return
    }
    if n * k < vecmatParallelWork || Threads.count <= 1 {
        vecmatColumns(j0: 0, j1: n, k: k, x: x, w: w, ldw: ldw, y: y, accumulate: accumulate)
        return
    }
    // Task t owns columns [t·256, min((t+1)·256, n)) of y: disjoint ranges, so no two tasks write the
    // same element; W and x are only read.
    let tasks = (n + vecmatTaskCols - 1) / vecmatTaskCols
    parallelFor(tasks) { t in
        let j0 = t * vecmatTaskCols
        vecmatColumns(j0: j0, j1: min(n, j0 + vecmatTaskCols), k: k, x: x, w: w, ldw: ldw, y: y, accumulate: accumulate)
    }
}

/// y(j) (+)= Σ_p x(p)·W(p, j) for j in j0..<j1, W read row by row, four rows per pass over y's slice.
private func vecmatColumns(
    j0: Int, j1: Int, k: Int,
    x: UnsafePointer<Float>,
    w: UnsafePointer<Float>, ldw: Int,
    y: UnsafeMutablePointer<Float>,
    accumulate: Bool
) {
    let vecEnd = j0 + (j1 - j0) / 8 * 8
    if !accumulate { (y + j0).update(repeating: 0, count: j1 - j0) }
    var p = 0
    // y(j) = (((y(j) + x(p)W(p,j)) + x(p+1)W(p+1,j)) + x(p+2)W(p+2,j)) + x(p+3)W(p+3,j), fused.
    while p + 4 <= k {
        let w0 = w + p * ldw, w1 = w0 + ldw, w2 = w1 + ldw, w3 = w2 + ldw
        let x0 = SIMD8<Float>(repeating: x[p]), x1 = SIMD8<Float>(repeating: x[p + 1])
        let x2 = SIMD8<Float>(repeating: x[p + 2]), x3 = SIMD8<Float>(repeating: x[p + 3])
        var j = j0
        while j < vecEnd {
            var v = load8(y + j)
            v = v.addingProduct(x0, load8(w0 + j))
            v = v.addingProduct(x1, load8(w1 + j))
            v = v.addingProduct(x2, load8(w2 + j))
            v = v.addingProduct(x3, load8(w3 + j))
            store8(v, y + j)
            j += 8
        }
        while j < j1 {
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
    // The last K mod 4 rows, one at a time.
    while p < k {
        let w0 = w + p * ldw
        let x0 = SIMD8<Float>(repeating: x[p])
        var j = j0
        while j < vecEnd {
            store8(load8(y + j).addingProduct(x0, load8(w0 + j)), y + j)
            j += 8
        }
        while j < j1 {
            y[j] = y[j].addingProduct(x[p], w0[j])
            j += 1
        }
        p += 1
    }
}
