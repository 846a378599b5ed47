import CKernels
import RNNKernels16
// A right-hand operand packed once and used by many products: the recurrent weights, which a training chunk
// multiplies by at every time step (forward by wh, backward by whᵀ) but changes only in the optimizer step.

/// B (K×N) in the panel layout the GEMM micro-kernel reads, for all of B: k-block pc (kBlockSize(K) rows,
/// the same blocks the unpacked product uses) at `pointer + pc·nPad`, inside it the 16-column panel q at
/// `+ q·kc·16`, p-major (`[p·16 + j]`), zero past column N. Packing costs one pass over B; each product
/// with it then skips the per-call packing of B. Made with `precision: .bf16`, it also keeps a bf16 copy in
/// the pair layout of the bf16 kernel (k-block pc at `bf16BlockOffset`, panel q at `+ q·kc2·16`), for
/// products of 2 or more rows in bf16; one-row products read the fp32 copy. Made with `weights: .fp16` or
/// `.bf16` (inference), every weight is rounded to that format when packed: the fp32 copy holds the rounded
/// values (for products of 2 or more rows), and a 16-bit copy in the same panel layout feeds one-row products,
/// which then stream half the bytes.
public final class PackedMatrix: @unchecked Sendable {
    /// Rows (the inner dimension of the products) and columns of B.
    public let k: Int, n: Int
    /// Columns rounded up to whole 16-column panels.
    let nPad: Int
    let kcMax: Int
    let storage: FloatBuffer
    /// The bf16 copy (nil unless made with precision .bf16).
    let storage16: UnsafeMutablePointer<UInt16>?
    /// The precision products of 2 or more rows with this matrix may use.
    public let precision: Precision
    /// The format the weights are rounded to and one-row products read them in.
    public let weights: WeightFormat
    /// The 16-bit copy for one-row products (nil for fp32 weights): the fp32 layout, element for element.
    let storageHalf: UnsafeMutablePointer<UInt16>?
    /// Only one-row products use this matrix and its weights are 16-bit: `storage` is not a packed copy but the
    /// scratch that packing rounds a piece of panels in (`singleRowPieceCols` columns of one k-block).
    let singleRowHalf: Bool

    /// `singleRow`: only one-row products will use it (`matmul` with m = 1); with 16-bit `weights` it then
    /// keeps no fp32 copy (a predictor's recurrent weights: 8 MB less to allocate for an LSTM 2x512).
    public init(k: Int, n: Int, precision: Precision = .fp32, weights: WeightFormat = .fp32, singleRow: Bool = false) {
        precondition(k >= 0 && n >= 0)
        self.k = k
        self.n = n
        self.precision = precision
        self.weights = weights
        nPad = roundUp(n, kernelCols)
        kcMax = k > 0 ? kBlockSize(k) : 1
        singleRowHalf = singleRow && weights != .fp32 && precision == .fp32
        storage = FloatBuffer(count: singleRowHalf ? kcMax * min(nPad, singleRowPieceCols) : k * nPad)
        if precision == .bf16 {
            let count = max(1, ceilDiv(k, kcMax) * roundUp(kcMax, 2) * nPad)
            storage16 = allocateBuffer(byteCount: 2 * count).bindMemory(to: UInt16.self, capacity: count)
            storage16!.initialize(repeating: 0, count: count)
        } else {
            storage16 = nil
        }
        if weights != .fp32 {
            storageHalf = allocateBuffer(byteCount: 2 * max(1, k * nPad)).bindMemory(to: UInt16.self, capacity: max(1, k * nPad))
            storageHalf!.initialize(repeating: 0, count: max(1, k * nPad))
        } else {
            storageHalf = nil
        }
    }

    deinit {
        storage16?.deallocate()
        storageHalf?.deallocate()
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
        if singleRowHalf, let storageHalf {
            // A piece of panels at a time through the scratch, rounded into the 16-bit copy (whose layout is
            // the fp32 one: k-block pc at pc·nPad, its panel q at + q·16·kc).
            while pc < k {
                let kc = min(kcMax, k - pc)
                var j0 = 0
                while j0 < n {
                    let cols = min(singleRowPieceCols, n - j0)
                    packBBlock(b, p0: pc, kc: kc, j0: j0, cols: cols, into: storage.pointer)
                    rnn_half_round_block(storage.pointer, storageHalf + pc * nPad + j0 * kc, kc * roundUp(cols, kernelCols),
                                         weights.halfCode, CPU.level >= .avx2 ? 1 : 0)
                    j0 += cols
                }
                pc += kc
            }
            return
        }
        while pc < k {
            let kc = min(kcMax, k - pc)
            let block = storage.pointer + pc * nPad
            packBBlock(b, p0: pc, kc: kc, j0: 0, cols: n, into: block)
            if let storageHalf {
                // Round in place, keeping the 16-bit form: both copies then hold the same values.
                rnn_half_round_block(block, storageHalf + pc * nPad, kc * nPad, weights.halfCode,
                                     CPU.level >= .avx2 ? 1 : 0)
            }
            if let storage16 {
                let dst = storage16 + bf16BlockOffset(pc: pc, kcMax: kcMax, width: nPad)
                let kc2 = roundUp(kc, 2)
                for q in 0..<(nPad / kernelCols) {
                    rnn_bf16_pack_pairs(block + q * kernelCols * kc, kernelCols, kc, dst + q * kernelCols * kc2)
                }
            }
            pc += kc
        }
    }
}

/// C[M×N] (+)= A[M×K] · B[K×N] with B pre-packed.
///
/// M > 1 runs the packed GEMM exactly as `matmul` would (same tiles, k-blocks and kernels, so the same bits)
/// minus the packing of B, in `b.precision`. M = 1 runs `packedVecmat` (fp32).
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
    precondition(!b.singleRowHalf, "a product of \(m) rows with a matrix packed for one row")
    // The strided view of B is never read when packedB is given; any valid pointer does.
    gemm(m: m, n: n, k: k,
         a: StridedMatrix(base: a, rowStride: lda, colStride: 1),
         b: StridedMatrix(base: b.pointer, rowStride: 0, colStride: 0),
         c: c, ldc: ldc, accumulate: accumulate, precision: b.precision, packedB: b.pointer,
         packedB16: b.storage16.map { UnsafePointer($0) })
}

/// Columns a single-row 16-bit matrix packs at a time through its fp32 scratch (kcMax·128 floats, ≤ 256 KB).
private let singleRowPieceCols = 128

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
    if let half = b.storageHalf {
        // 16-bit weights (CKernels): same groups of panels per task, same order of sums per element.
        let code = b.weights.halfCode
        let run = { (q0: Int, q1: Int) in
            rnn_half_vecmat_panels(code, wide ? 1 : 0, q0, q1, x, half, b.n, b.k, b.kcMax, b.nPad, y, accumulate ? 1 : 0)
        }
        if b.n * b.k < packedVecmatParallelWork {
            run(0, panels)
        } else {
            parallelFor(ceilDiv(panels, packedVecmatTaskPanels)) { t in
                run(t * packedVecmatTaskPanels, min(panels, (t + 1) * packedVecmatTaskPanels))
            }
        }
        return
    }
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
    if wide {
        packedVecmatPanels16(q0: q0, q1: q1, x: x, base: base, n: b.n, k: k, kcMax: kcMax, nPad: nPad, y: y,
                             accumulate: accumulate)
        return
    }
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
