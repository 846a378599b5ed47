import CKernels
import RNNKernels16
// Fast matrix products: packed, cache-blocked, register-tiled (MicroKernel.swift), parallel over tiles of C.
//
// Loop nest for one task (a tile of C, rows i0..<i0+mt, columns j0..<j0+nt):
//   for each k-block pc (kc ≤ 512):            pack A(i-tile, pc-block) → Ã  (in L2)
//                                               pack B(pc-block, j-tile) → B̃  (in L2)
//     for each 16-column panel jr of the tile:  (B̃'s panel jr stays in L1 for the loop below)
//       for each 6-row panel ir of the tile:    kernel: C(ir, jr) (+)= Ã(ir) · B̃(jr)
//
// Determinism: an element C(i, j) is the sum over the k-blocks, in order, of one kernel accumulator that
// sums its block in order p = 0…kc−1. The k-blocking depends only on k, and the tile partition only on
// (m, n, k); neither depends on Threads.count, nor on which thread runs which tile. So results are
// bit-identical for any number of threads.

/// C[M×N] (+)= A[M×K] · B[K×N]
public func matmul(
    m: Int, n: Int, k: Int,
    a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int,
    accumulate: Bool, precision: Precision = .fp32
) {
    // One row of C is a vector times a matrix: stream B once instead of packing it (in fp32: one row is
    // bound by reading B, not by multiply-adds).
    if m == 1 && k > 0 {
        vecmat(n: n, k: k, x: a, w: b, ldw: ldb, y: c, accumulate: accumulate)
        return
    }
    gemm(m: m, n: n, k: k,
         a: StridedMatrix(base: a, rowStride: lda, colStride: 1),
         b: StridedMatrix(base: b, rowStride: ldb, colStride: 1),
         c: c, ldc: ldc, accumulate: accumulate, precision: precision)
}

/// C[M×N] (+)= A[M×K] · B[N×K]ᵀ
public func matmulBT(
    m: Int, n: Int, k: Int,
    a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int,
    accumulate: Bool, precision: Precision = .fp32
) {
    gemm(m: m, n: n, k: k,
         a: StridedMatrix(base: a, rowStride: lda, colStride: 1),
         b: StridedMatrix(base: b, rowStride: 1, colStride: ldb),
         c: c, ldc: ldc, accumulate: accumulate, precision: precision)
}

/// C[M×N] (+)= A[K×M]ᵀ · B[K×N]
public func matmulAT(
    m: Int, n: Int, k: Int,
    a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int,
    accumulate: Bool, precision: Precision = .fp32
) {
    gemm(m: m, n: n, k: k,
         a: StridedMatrix(base: a, rowStride: 1, colStride: lda),
         b: StridedMatrix(base: b, rowStride: ldb, colStride: 1),
         c: c, ldc: ldc, accumulate: accumulate, precision: precision)
}

// MARK: - Blocking

/// Largest k-block: a packed B panel (512×16 floats = 32 KB) plus an A panel (12 KB) sit in the 48 KB L1.
/// K = 512 (the model's H) is then one block, so C is written once per element instead of read back.
private let maxKBlock = 512
/// Largest tile height: a packed A block (120×512 floats = 240 KB) sits in L2 …
private let maxTileRows = 120
/// … next to the packed B block (512×128 floats = 256 KB) of the 1 MB L2.
private let maxTileCols = 128
/// Below this many flops (2·M·N·K) a product runs on the calling thread: waking workers costs more.
private let parallelFlops = 4_000_000
/// Tiles are not split below this many flops each.
private let minTaskFlops = 2_000_000
/// Splitting stops once there are this many tiles (enough to balance 2–4 threads dynamically).
private let targetTasks = 8

/// bf16 tiles are this many times as tall and as wide: their packed blocks take half the bytes, so the same
/// L2 holds them, and each block of A and B is packed half as often (the packing was a quarter of a bf16
/// training step with fp32's tiles).
private let bf16TileScale = 2
/// Floats of scratch one task needs: Ã block, B̃ block, a 6×16 edge tile, and the bf16 copies of Ã and B̃
/// of a bf16 tile (half a float per element; a k-block rounded up to whole pairs is at most maxKBlock). A
/// bf16 tile packs its blocks in fp32 pieces of at most an fp32 tile's size, each converted at once.
private let scratchFloats = (maxTileRows + kernelRows) * maxKBlock + maxKBlock * maxTileCols + kernelRows * kernelCols
    + ((bf16TileScale * maxTileRows + kernelRows) * maxKBlock + maxKBlock * bf16TileScale * maxTileCols) / 2
private let gemmScratch = ScratchPool(floats: scratchFloats)
/// Largest A (rounded up to whole 6-row panels) packed once and shared by all tasks.
private let sharedAFloats = 256 * 1024
private let sharedAScratch = ScratchPool(floats: sharedAFloats + packAOverrun)
/// bf16 products pack an operand that several tiles would each pack (A when there are several column tiles,
/// B when there are several row tiles) once, up front and in parallel, when its bf16 copy takes at most this
/// many values (16 MB): the per-tile packing was a fifth of a bf16 training step.
private let prepacked16Values = 8 << 20
private let prepackedA16 = ScratchPool(floats: prepacked16Values / 2)
private let prepackedB16 = ScratchPool(floats: prepacked16Values / 2)

/// The k-block size of a product with inner dimension k: even blocks of at most maxKBlock, a function of k
/// alone (it fixes the summation order). Block pc covers [pc, pc + min(kcMax, k − pc)).
@inline(__always) func kBlockSize(_ k: Int) -> Int { ceilDiv(k, ceilDiv(k, maxKBlock)) }

@inline(__always) func ceilDiv(_ a: Int, _ b: Int) -> Int { (a + b - 1) / b }
@inline(__always) func roundUp(_ a: Int, _ b: Int) -> Int { ceilDiv(a, b) * b }

/// Where k-block pc (of blocks kcMax long) starts in a bf16 packing of `width` columns (or rows): every
/// block before it holds roundUp(kcMax, 2) rows of pairs.
@inline(__always) func bf16BlockOffset(pc: Int, kcMax: Int, width: Int) -> Int { pc / kcMax * roundUp(kcMax, 2) * width }

/// The partition of C into task tiles. A pure function of (m, n, k) and the precision: never of the thread
/// count. (The tiles do not change any element's sum either: that is fixed by the k-blocks.)
private struct TilePlan {
    let tileRows: Int, tileCols: Int
    let tilesM: Int, tilesN: Int
    var count: Int { tilesM * tilesN }

    init(m: Int, n: Int, k: Int, precision: Precision) {
        // Even tiles of at most maxTileRows × maxTileCols (bf16: scaled), heights a multiple of 6, widths of 16.
        let scale = precision == .bf16 ? bf16TileScale : 1
        var tm = roundUp(ceilDiv(m, ceilDiv(m, scale * maxTileRows)), kernelRows)
        var tn = roundUp(ceilDiv(n, ceilDiv(n, scale * maxTileCols)), kernelCols)
        // Split further (widths first: A re-packing is cheaper than B's) while tiles stay big enough.
        func tasks(_ tm: Int, _ tn: Int) -> Int { ceilDiv(m, tm) * ceilDiv(n, tn) }
        while tasks(tm, tn) < targetTasks {
            if tn >= 4 * kernelCols, 2 * min(tm, m) * (tn / 2) * k >= minTaskFlops {
                tn = roundUp(tn / 2, kernelCols)
            } else if tm >= 4 * kernelRows, 2 * (tm / 2) * min(tn, n) * k >= minTaskFlops {
                tm = roundUp(tm / 2, kernelRows)
            } else {
                break
            }
        }
        tileRows = tm
        tileCols = tn
        tilesM = ceilDiv(m, tm)
        tilesN = ceilDiv(n, tn)
    }
}

// MARK: - Driver

/// C[M×N] (+)= A·B for any strided views A (M×K) and B (K×N). `packedB`/`packedB16`: all of B packed
/// already (PackedMatrix) in fp32 or bf16; `precision` .bf16 needs CPU.hasBF16.
func gemm(
    m: Int, n: Int, k: Int,
    a: StridedMatrix, b: StridedMatrix,
    c: UnsafeMutablePointer<Float>, ldc: Int,
    accumulate: Bool,
    precision: Precision = .fp32,
    packedB: UnsafePointer<Float>? = nil,
    packedB16: UnsafePointer<UInt16>? = nil
) {
    if m <= 0 || n <= 0 { return }
    if k <= 0 {
        // An empty sum: C = 0 when overwriting, unchanged when accumulating.
        if !accumulate {
            for i in 0..<m { (c + i * ldc).update(repeating: 0, count: n) }
        }
        return
    }
    let bf16 = precision == .bf16
    precondition(!bf16 || CPU.hasBF16, "bf16 products on a CPU without AVX512_BF16")
    // Even k-blocks of at most maxKBlock: a function of k alone (it fixes the summation order).
    let kcMax = kBlockSize(k)
    let plan = TilePlan(m: m, n: n, k: k, precision: precision)
    // Read on the calling thread: the tasks may run on the team's workers.
    let wide = KernelWidth.current == .sixteen
    let mPad = roundUp(m, kernelRows), nPad = roundUp(n, kernelCols)

    // Task t owns the C tile at (t / tilesN, t % tilesN): rows [ti·tileRows, +tileRows) ∩ [0, m) and
    // columns [tj·tileCols, +tileCols) ∩ [0, n). Distinct t give distinct (ti, tj), hence disjoint
    // rectangles of C; tasks only read A and B. So concurrent tasks never write the same memory, and
    // each task's scratch buffer is its own (ScratchPool hands a buffer to one task at a time).
    let run = { (sharedA: UnsafePointer<Float>?, sharedA16: UnsafePointer<UInt16>?, packedB16: UnsafePointer<UInt16>?) in
        let task: (Int) -> Void = { t in
            let ti = t / plan.tilesN, tj = t % plan.tilesN
            let i0 = ti * plan.tileRows, j0 = tj * plan.tileCols
            let mt = min(plan.tileRows, m - i0), nt = min(plan.tileCols, n - j0)
            gemmScratch.with { scratch in
                let operands = TileOperands(a: a, sharedA: sharedA, sharedA16: sharedA16, mPad: mPad,
                                            b: b, packedB: packedB, packedB16: packedB16, nPad: nPad)
                if bf16 {
                    gemmTileBF16(i0: i0, mt: mt, j0: j0, nt: nt, k: k, kcMax: kcMax, operands,
                                 c: c, ldc: ldc, accumulate: accumulate, scratch: scratch)
                } else {
                    gemmTile(i0: i0, mt: mt, j0: j0, nt: nt, k: k, kcMax: kcMax, operands,
                             c: c, ldc: ldc, accumulate: accumulate, wide: wide, scratch: scratch)
                }
            }
        }
        if 2 * m * n * k < parallelFlops || plan.count == 1 {
            for t in 0..<plan.count { task(t) }
        } else {
            parallelFor(plan.count, task)
        }
    }
    if bf16 {
        // bf16: A and B each packed once (prepackBF16), in the layouts gemmTileBF16 reads from a shared A and
        // a PackedMatrix, when several tiles would each pack them and their copies fit.
        let kPairs = ceilDiv(k, kcMax) * roundUp(kcMax, 2)
        let shareA = plan.tilesN > 1 && mPad * kPairs <= prepacked16Values
        let shareB = packedB16 == nil && plan.tilesM > 1 && nPad * kPairs <= prepacked16Values
        let parallel = 2 * m * n * k >= parallelFlops
        withOptionalScratch(shareA ? prepackedA16 : nil) { rawA in
            withOptionalScratch(shareB ? prepackedB16 : nil) { rawB in
                let a16 = rawA.map { UnsafeMutableRawPointer($0).assumingMemoryBound(to: UInt16.self) }
                let b16 = rawB.map { UnsafeMutableRawPointer($0).assumingMemoryBound(to: UInt16.self) }
                prepackBF16(a: a, m: m, mPad: mPad, aInto: a16, b: b, n: n, nPad: nPad, bInto: b16, k: k, kcMax: kcMax,
                            parallel: parallel)
                run(nil, a16.map { UnsafePointer($0) }, b16.map { UnsafePointer($0) } ?? packedB16)
            }
        }
        return
    }
    // When several column tiles would each pack the same rows of A, and all of A is small, pack it once
    // up front: k-block pc at shared + pc·mPad, laid out as packA lays out rows 0..<m.
    if plan.tilesN > 1 && mPad * k <= sharedAFloats {
        sharedAScratch.with { shared in
            var pc = 0
            while pc < k {
                let kc = min(kcMax, k - pc)
                packA(a, i0: 0, rows: m, p0: pc, kc: kc, into: shared + pc * mPad)
                pc += kc
            }
            run(UnsafePointer(shared), nil, nil)
        }
    } else {
        run(nil, nil, nil)
    }
}

/// Runs `body` with a buffer of `pool` (nil: with nil).
@inline(__always)
private func withOptionalScratch(_ pool: ScratchPool?, _ body: (UnsafeMutablePointer<Float>?) -> Void) {
    if let pool { pool.with { body($0) } } else { body(nil) }
}

/// The bf16 copies of all of A (into `aInto`, as a shared A: k-block pc at bf16BlockOffset(pc, kcMax, mPad),
/// its 6-row panel g at + g·6·kc2) and of all of B (into `bInto`, as PackedMatrix's bf16 copy: k-block pc at
/// bf16BlockOffset(pc, kcMax, nPad), its 16-column panel q at + q·16·kc2), either may be nil. One task per
/// k-block and piece of at most maxTileRows rows or maxTileCols columns: packed in fp32 (packA, packBBlock)
/// into the task's scratch, then converted (rnn_bf16_pack_pairs), on the worker team when `parallel`.
private func prepackBF16(
    a: StridedMatrix, m: Int, mPad: Int, aInto: UnsafeMutablePointer<UInt16>?,
    b: StridedMatrix, n: Int, nPad: Int, bInto: UnsafeMutablePointer<UInt16>?,
    k: Int, kcMax: Int, parallel: Bool
) {
    let mr = kernelRows, nr = kernelCols
    let blocks = ceilDiv(k, kcMax)
    let aPieces = aInto == nil ? 0 : ceilDiv(m, maxTileRows), bPieces = bInto == nil ? 0 : ceilDiv(n, maxTileCols)
    let perBlock = aPieces + bPieces
    let task: (Int) -> Void = { t in
        let pc = t / perBlock * kcMax, piece = t % perBlock
        let kc = min(kcMax, k - pc), kc2 = roundUp(kc, 2)
        gemmScratch.with { scratch in
            let sc = TileScratch(scratch)
            if piece < aPieces, let aInto {
                let r0 = piece * maxTileRows, rows = min(maxTileRows, m - r0)
                packA(a, i0: r0, rows: rows, p0: pc, kc: kc, into: sc.aPacked)
                let dst = aInto + bf16BlockOffset(pc: pc, kcMax: kcMax, width: mPad) + r0 * kc2
                for g in 0..<ceilDiv(rows, mr) { rnn_bf16_pack_pairs(sc.aPacked + g * mr * kc, mr, kc, dst + g * mr * kc2) }
            } else if let bInto {
                let c0 = (piece - aPieces) * maxTileCols, cols = min(maxTileCols, n - c0)
                packBBlock(b, p0: pc, kc: kc, j0: c0, cols: cols, into: sc.bPacked)
                let dst = bInto + bf16BlockOffset(pc: pc, kcMax: kcMax, width: nPad) + c0 * kc2
                for q in 0..<ceilDiv(cols, nr) { rnn_bf16_pack_pairs(sc.bPacked + q * nr * kc, nr, kc, dst + q * nr * kc2) }
            }
        }
    }
    let count = blocks * perBlock
    if parallel { parallelFor(count, task) } else { for t in 0..<count { task(t) } }
}

/// The operands of a product as the tasks see them: A and B as given, and whichever of them is packed
/// already (sharedA for all of A, packedB for all of B, in fp32, and their bf16 copies).
private struct TileOperands {
    let a: StridedMatrix
    let sharedA: UnsafePointer<Float>?
    let sharedA16: UnsafePointer<UInt16>?
    let mPad: Int
    let b: StridedMatrix
    let packedB: UnsafePointer<Float>?
    let packedB16: UnsafePointer<UInt16>?
    let nPad: Int

    /// Ã for rows i0 ..< i0+mt of k-block pc (kc long) in fp32: a slice of sharedA, or packed into `into`.
    func aBlock(i0: Int, mt: Int, pc: Int, kc: Int, into: UnsafeMutablePointer<Float>) -> UnsafePointer<Float> {
        if let sharedA { return sharedA + pc * mPad + i0 * kc }
        packA(a, i0: i0, rows: mt, p0: pc, kc: kc, into: into)
        return UnsafePointer(into)
    }

    /// B̃ for columns j0 ..< j0+nt of k-block pc in fp32: a slice of the pre-packed B (PackedMatrix: k-block
    /// pc at packedB + pc·nPad, its panel j0/16 at + j0·kc), or packed into `into`.
    func bBlock(j0: Int, nt: Int, pc: Int, kc: Int, into: UnsafeMutablePointer<Float>) -> UnsafePointer<Float> {
        if let packedB { return packedB + pc * nPad + j0 * kc }
        packBBlock(b, p0: pc, kc: kc, j0: j0, cols: nt, into: into)
        return UnsafePointer(into)
    }
}

/// The scratch regions of one task (scratchFloats floats).
private struct TileScratch {
    let aPacked: UnsafeMutablePointer<Float>
    let bPacked: UnsafeMutablePointer<Float>
    let edge: UnsafeMutablePointer<Float>
    let a16: UnsafeMutablePointer<UInt16>
    let b16: UnsafeMutablePointer<UInt16>

    init(_ scratch: UnsafeMutablePointer<Float>) {
        aPacked = scratch
        bPacked = scratch + (maxTileRows + kernelRows) * maxKBlock
        edge = bPacked + maxKBlock * maxTileCols
        let halves = UnsafeMutableRawPointer(edge + kernelRows * kernelCols).assumingMemoryBound(to: UInt16.self)
        a16 = halves
        b16 = halves + (bf16TileScale * maxTileRows + kernelRows) * maxKBlock
    }
}

/// C(r0 ..< r0+rows, ·) (+)= the live part of a full kernel tile computed into `edge` (ldc 16).
@inline(__always)
private func addEdge(_ edge: UnsafePointer<Float>, rows: Int, cols: Int, to cp: UnsafeMutablePointer<Float>, ldc: Int,
                     add: Bool) {
    for r in 0..<rows {
        let dst = cp + r * ldc, src = edge + r * kernelCols
        if add {
            for j in 0..<cols { dst[j] = dst[j] + src[j] }
        } else {
            for j in 0..<cols { dst[j] = src[j] }
        }
    }
}

/// One task: C(i0..<i0+mt, j0..<j0+nt) (+)= A(i-tile, :) · B(:, j-tile), all of k in kcMax blocks.
/// Packs its own Ã unless `sharedA` holds all of A packed already (k-block pc at sharedA + pc·mPad).
private func gemmTile(
    i0: Int, mt: Int, j0: Int, nt: Int, k: Int, kcMax: Int, _ o: TileOperands,
    c: UnsafeMutablePointer<Float>, ldc: Int,
    accumulate: Bool, wide: Bool,
    scratch: UnsafeMutablePointer<Float>
) {
    let mr = kernelRows, nr = kernelCols
    let sc = TileScratch(scratch)
    var pc = 0
    while pc < k {
        let kc = min(kcMax, k - pc)
        // The first k-block overwrites C unless accumulating; later blocks add to it.
        let add = accumulate || pc > 0
        let aBlock = o.aBlock(i0: i0, mt: mt, pc: pc, kc: kc, into: sc.aPacked)
        let bBlock = o.bBlock(j0: j0, nt: nt, pc: pc, kc: kc, into: sc.bPacked)
        var jr = 0
        while jr < nt {
            let cols = min(nr, nt - jr)
            let bp = bBlock + jr * kc
            var ir = 0
            // 16 lanes: whole 18- and 12-row groups of full-width tiles first (3 or 2 A panels against the same B̃ row).
            if wide && cols == nr {
                while ir + 3 * mr <= mt {
                    kernel18x16(kc: kc, a: aBlock + ir * kc, b: bp, c: c + (i0 + ir) * ldc + j0 + jr, ldc: ldc, add: add)
                    ir += 3 * mr
                }
                if ir + 2 * mr <= mt {
                    kernel12x16(kc: kc, a: aBlock + ir * kc, b: bp, c: c + (i0 + ir) * ldc + j0 + jr, ldc: ldc, add: add)
                    ir += 2 * mr
                }
            }
            while ir < mt {
                let rows = min(mr, mt - ir)
                let ap = aBlock + ir * kc
                let cp = c + (i0 + ir) * ldc + j0 + jr
                if cols == nr && rows == mr {
                    kernel6x16(kc: kc, a: ap, b: bp, c: cp, ldc: ldc, add: add)
                } else if cols == nr && rows == 4 {
                    kernel4x16(kc: kc, a: ap, b: bp, c: cp, ldc: ldc, add: add)
                } else if cols == nr && rows == 2 {
                    kernel2x16(kc: kc, a: ap, b: bp, c: cp, ldc: ldc, add: add)
                } else {
                    // Edge tile: compute the full 6×16 into scratch, then add/copy the live part.
                    kernel6x16(kc: kc, a: ap, b: bp, c: sc.edge, ldc: nr, add: false)
                    addEdge(sc.edge, rows: rows, cols: cols, to: cp, ldc: ldc, add: add)
                }
                ir += mr
            }
            jr += nr
        }
        pc += kc
    }
}

/// gemmTile in bf16: tiles bf16TileScale times as tall and wide, the same k-blocks and packing (in pieces), each packed panel converted to bf16 pairs
/// (rnn_bf16_pack_pairs) unless a bf16 copy exists (sharedA16, packedB16), and the bf16 micro-kernel
/// (CKernels) in 18-row calls and one of the rows left. Per element the sum over k-blocks is in order, and within
/// a block in order of pairs, so the result does not depend on the thread count either.
private func gemmTileBF16(
    i0: Int, mt: Int, j0: Int, nt: Int, k: Int, kcMax: Int, _ o: TileOperands,
    c: UnsafeMutablePointer<Float>, ldc: Int,
    accumulate: Bool,
    scratch: UnsafeMutablePointer<Float>
) {
    let mr = kernelRows, nr = kernelCols
    let sc = TileScratch(scratch)
    var pc = 0
    while pc < k {
        let kc = min(kcMax, k - pc)
        let kc2 = roundUp(kc, 2), pairs = kc2 / 2
        let add: Int32 = accumulate || pc > 0 ? 1 : 0
        // Ã in bf16 pairs: 6-row panel g at a16 + g·6·kc2.
        let a16: UnsafePointer<UInt16>
        if let sharedA16 = o.sharedA16 {
            a16 = sharedA16 + bf16BlockOffset(pc: pc, kcMax: kcMax, width: o.mPad) + i0 * kc2
        } else {
            // In fp32 pieces of at most maxTileRows rows (whole panels), each converted while it is in cache.
            var r0 = 0
            while r0 < mt {
                let rows = min(maxTileRows, mt - r0)
                let aBlock = o.aBlock(i0: i0 + r0, mt: rows, pc: pc, kc: kc, into: sc.aPacked)
                for g in 0..<ceilDiv(rows, mr) {
                    rnn_bf16_pack_pairs(aBlock + g * mr * kc, mr, kc, sc.a16 + (r0 + g * mr) * kc2)
                }
                r0 += rows
            }
            a16 = UnsafePointer(sc.a16)
        }
        // B̃ in bf16 pairs: 16-column panel q at b16 + q·16·kc2.
        let b16: UnsafePointer<UInt16>
        if let packedB16 = o.packedB16 {
            b16 = packedB16 + bf16BlockOffset(pc: pc, kcMax: kcMax, width: o.nPad) + j0 * kc2
        } else {
            var c0 = 0
            while c0 < nt {
                let cols = min(maxTileCols, nt - c0)
                let bBlock = o.bBlock(j0: j0 + c0, nt: cols, pc: pc, kc: kc, into: sc.bPacked)
                for q in 0..<ceilDiv(cols, nr) {
                    rnn_bf16_pack_pairs(bBlock + q * nr * kc, nr, kc, sc.b16 + (c0 + q * nr) * kc2)
                }
                c0 += cols
            }
            b16 = UnsafePointer(sc.b16)
        }
        let panelStride = mr * kc2
        var jr = 0
        while jr < nt {
            let cols = min(nr, nt - jr)
            let bp = b16 + jr * kc2
            var ir = 0
            if cols == nr {
                // 18-row groups (3 A panels against the same B̃ row), then the rest in one call of 1–17 rows.
                while ir < mt {
                    let rows = min(3 * mr, mt - ir)
                    rnn_bf16_kernel(Int32(rows), pairs, a16 + ir * kc2, panelStride, bp, c + (i0 + ir) * ldc + j0 + jr, ldc, add)
                    ir += rows
                }
            }
            while ir < mt {
                // Edge columns: the full 6×16 into scratch, then add/copy the live part.
                let rows = min(mr, mt - ir)
                rnn_bf16_kernel(6, pairs, a16 + ir * kc2, panelStride, bp, sc.edge, nr, 0)
                addEdge(sc.edge, rows: rows, cols: cols, to: c + (i0 + ir) * ldc + j0 + jr, ldc: ldc, add: add != 0)
                ir += mr
            }
            jr += nr
        }
        pc += kc
    }
}
