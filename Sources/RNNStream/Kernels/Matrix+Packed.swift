// A right-hand operand packed once and used by many products: the recurrent weights, which a training chunk
// multiplies by at every time step (forward by wh, backward by whᵀ) but changes only in the optimizer step.

/// B (K×N) in the panel layout the GEMM micro-kernel reads, for all of B: k-block pc (kBlockSize(K) rows,
/// the same blocks the unpacked product uses) at `pointer + pc·nPad`, inside it the 16-column panel q at
/// `+ q·kc·16`, p-major (`[p·16 + j]`), zero past column N. Packing costs one pass over B; each product
/// with it then skips the per-call packing of B.
public final class PackedMatrix: @unchecked Sendable {
    /// Rows (the inner dimension of the products) and columns of B.
    public let k: Int, n: Int
    /// Columns rounded up to whole 16-column panels.
    let nPad: Int
    let kcMax: Int
    let storage: FloatBuffer

    public init(k: Int, n: Int) {
        precondition(k >= 0 && n >= 0)
        self.k = k
        self.n = n
        nPad = roundUp(n, kernelCols)
        kcMax = k > 0 ? kBlockSize(k) : 1
        storage = FloatBuffer(count: k * nPad)
    }

    var pointer: UnsafePointer<Float> { UnsafePointer(storage.pointer) }

    /// Packs B = b, a row-major K×N matrix with leading dimension ldb.
    public func pack(_ b: UnsafePointer<Float>, ldb: Int) {
        pack(StridedMatrix(base: b, rowStride: ldb, colStride: 1))
    }

    /// Packs B = btᵀ, where bt is a row-major N×K matrix with leading dimension ldbt (as matmulBT's B).
    public func pack(transposeOf bt: UnsafePointer<Float>, ldbt: Int) {
        pack(StridedMatrix(base: bt, rowStride: 1, colStride: ldbt))
    }

    private func pack(_ b: StridedMatrix) {
        var pc = 0
        while pc < k {
            let kc = min(kcMax, k - pc)
            packBBlock(b, p0: pc, kc: kc, j0: 0, cols: n, into: storage.pointer + pc * nPad)
            pc += kc
        }
    }
}

/// C[M×N] (+)= A[M×K] · B[K×N] with B pre-packed.
///
/// M > 1 runs the packed GEMM exactly as `matmul` would (same tiles, k-blocks and kernels, so the same bits)
/// minus the packing of B. M = 1 runs `packedVecmat`.
public func matmul(
    m: Int, a: UnsafePointer<Float>, lda: Int,
    packed b: PackedMatrix,
    c: UnsafeMutablePointer<Float>, ldc: Int,
    accumulate: Bool
) {
    let n = b.n, k = b.k
    if m == 1 && k > 0 && n > 0 {
        packedVecmat(x: a, b: b, y: c, accumulate: accumulate)
        return
    }
    // The strided view of B is never read when packedB is given; any valid pointer does.
    gemm(m: m, n: n, k: k,
         a: StridedMatrix(base: a, rowStride: lda, colStride: 1),
         b: StridedMatrix(base: b.pointer, rowStride: 0, colStride: 0),
         c: c, ldc: ldc, accumulate: accumulate, packedB: b.pointer)
}

/// Panels per task of a split packed vector-matrix product (128 columns).
private let packedVecmatTaskPanels = 8
/// Below this many multiply-adds (N·K) a packed vector-matrix product runs on the calling thread.
private let packedVecmatParallelWork = 256 * 1024

/// y[N] (+)= x[K] · B[K×N], B packed: each element of y sums its K products in order p = 0…K−1 in one
/// accumulator, then is added to y (or stored). Tasks own fixed groups of panels (a function of N only),
/// so the result does not depend on the thread count.
func packedVecmat(x: UnsafePointer<Float>, b: PackedMatrix, y: UnsafeMutablePointer<Float>, accumulate: Bool) {
    let panels = b.nPad / kernelCols
    // Read on the calling thread: the tasks may run on the team's workers.
    let wide = KernelWidth.current == .sixteen
    if b.n * b.k < packedVecmatParallelWork {
        packedVecmatPanels(q0: 0, q1: panels, x: x, b: b, y: y, accumulate: accumulate, wide: wide)
        return
    }
    let tasks = ceilDiv(panels, packedVecmatTaskPanels)
    // Task t writes only y's columns of panels [8t, 8t + 8): disjoint.
    parallelFor(tasks) { t in
        packedVecmatPanels(q0: t * packedVecmatTaskPanels, q1: min(panels, (t + 1) * packedVecmatTaskPanels),
                           x: x, b: b, y: y, accumulate: accumulate, wide: wide)
    }
}

/// Columns of panels q0..<q1 of y (+)= x·B, a group of panels at a time, all of a group's accumulators
/// advancing together (independent FMA chains). A short last group re-reads its first panel in the missing
/// slots and drops those sums, so it runs the same loop.
private func packedVecmatPanels(
    q0: Int, q1: Int, x: UnsafePointer<Float>, b: PackedMatrix, y: UnsafeMutablePointer<Float>, accumulate: Bool,
    wide: Bool
) {
    let nr = kernelCols, k = b.k, kcMax = b.kcMax, nPad = b.nPad, base = b.pointer
    @inline(__always) func put(_ v: SIMD8<Float>, _ j: Int) {
        let live = min(8, b.n - j)
        if live <= 0 { return }
        let dst = y + j
        if live == 8 {
            store8(accumulate ? load8(dst) + v : v, dst)
        } else {
            for i in 0..<live { dst[i] = accumulate ? dst[i] + v[i] : v[i] }
        }
    }
    var q = q0
    if wide {
        // 16 lanes: 8 panels of 16 columns, one SIMD16 accumulator each.
        while q < q1 {
            let group = min(8, q1 - q)
            var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
            var a4 = SIMD16<Float>(), a5 = SIMD16<Float>(), a6 = SIMD16<Float>(), a7 = SIMD16<Float>()
            var pc = 0
            while pc < k {
                let kc = min(kcMax, k - pc)
                let p0 = base + pc * nPad + q * kc * nr, step = kc * nr
                @inline(__always) func panel(_ g: Int) -> UnsafePointer<Float> { g < group ? p0 + g * step : p0 }
                let p1 = panel(1), p2 = panel(2), p3 = panel(3), p4 = panel(4), p5 = panel(5), p6 = panel(6), p7 = panel(7)
                let xp = x + pc
                for p in 0..<kc {
                    let xv = SIMD16<Float>(repeating: xp[p])
                    let o = p * nr
                    a0 = a0.addingProduct(xv, load16(p0 + o)); a1 = a1.addingProduct(xv, load16(p1 + o))
                    a2 = a2.addingProduct(xv, load16(p2 + o)); a3 = a3.addingProduct(xv, load16(p3 + o))
                    a4 = a4.addingProduct(xv, load16(p4 + o)); a5 = a5.addingProduct(xv, load16(p5 + o))
                    a6 = a6.addingProduct(xv, load16(p6 + o)); a7 = a7.addingProduct(xv, load16(p7 + o))
                }
                pc += kc
            }
            let j0 = q * nr
            for (g, v) in [a0, a1, a2, a3, a4, a5, a6, a7].prefix(group).enumerated() {
                put(v.lowHalf, j0 + g * nr)
                put(v.highHalf, j0 + g * nr + 8)
            }
            q += group
        }
    } else {
        // 8 lanes: 4 panels of 16 columns, two SIMD8 accumulators each.
        while q < q1 {
            let group = min(4, q1 - q)
            var a0 = SIMD8<Float>(), a1 = SIMD8<Float>(), a2 = SIMD8<Float>(), a3 = SIMD8<Float>()
            var a4 = SIMD8<Float>(), a5 = SIMD8<Float>(), a6 = SIMD8<Float>(), a7 = SIMD8<Float>()
            var pc = 0
            while pc < k {
                let kc = min(kcMax, k - pc)
                let p0 = base + pc * nPad + q * kc * nr, step = kc * nr
                let p1 = group > 1 ? p0 + step : p0, p2 = group > 2 ? p0 + 2 * step : p0, p3 = group > 3 ? p0 + 3 * step : p0
                let xp = x + pc
                for p in 0..<kc {
                    let xv = SIMD8<Float>(repeating: xp[p])
                    let o = p * nr
                    a0 = a0.addingProduct(xv, load8(p0 + o)); a1 = a1.addingProduct(xv, load8(p0 + o + 8))
                    a2 = a2.addingProduct(xv, load8(p1 + o)); a3 = a3.addingProduct(xv, load8(p1 + o + 8))
                    a4 = a4.addingProduct(xv, load8(p2 + o)); a5 = a5.addingProduct(xv, load8(p2 + o + 8))
                    a6 = a6.addingProduct(xv, load8(p3 + o)); a7 = a7.addingProduct(xv, load8(p3 + o + 8))
                }
                pc += kc
            }
            let j0 = q * nr
            put(a0, j0); put(a1, j0 + 8)
            if group > 1 { put(a2, j0 + 16); put(a3, j0 + 24) }
            if group > 2 { put(a4, j0 + 32); put(a5, j0 + 40) }
            if group > 3 { put(a6, j0 + 48); put(a7, j0 + 56) }
            q += group
        }
    }
}
