import RNNKernels16
// Packing of matrix blocks into the contiguous panel layouts the micro-kernel reads (MicroKernel.swift).

/// A read-only view of a matrix in memory: element (r, c) is at base[r·rowStride + c·colStride].
/// Covers a row-major matrix (colStride 1) and its transpose (rowStride 1) without copying.
struct StridedMatrix {
    let base: UnsafePointer<Float>
    let rowStride: Int
    let colStride: Int

    @inline(__always)
    subscript(r: Int, c: Int) -> Float { base[r * rowStride + c * colStride] }
}

/// Floats packA may write past the end of the ⌈rows/6⌉·6·kc it fills: buffers it writes need this slack.
let packAOverrun = 8

/// Packs A(i0 ..< i0+rows, p0 ..< p0+kc) into ⌈rows/6⌉ panels of 6 rows, panel q at dst + q·6·kc, each
/// p-major: dst[q·6·kc + p·6 + r] = A(i0 + 6q + r, p0 + p). Rows past the end are zero, so the kernel
/// can always compute full 6-row tiles and those rows contribute nothing.
func packA(_ a: StridedMatrix, i0: Int, rows: Int, p0: Int, kc: Int, into dst: UnsafeMutablePointer<Float>) {
    let mr = kernelRows
    var q = 0
    while q * mr < rows {
        let panel = dst + q * mr * kc
        let first = i0 + q * mr
        let live = min(mr, rows - q * mr)
        if a.rowStride == 1 && i0 + rows - first >= 8 {
            // A stored transposed (matmulAT): the 6 values of one p are adjacent in memory. Copy 8 (the
            // 2 extra are still inside the tile's rows, so inside A): each store spills 2 floats into
            // the next p's slot, overwritten by the next store (and past the panel: packAOverrun).
            var src = a.base + p0 * a.colStride + first
            var out = panel
            for _ in 0..<kc {
                store8(load8(src), out)
                src += a.colStride
                out += mr
            }
        } else if a.rowStride == 1 {
            for p in 0..<kc {
                let src = a.base + (p0 + p) * a.colStride + first
                let out = panel + p * mr
                for r in 0..<live { out[r] = src[r] }
                for r in live..<mr { out[r] = 0 }
            }
        } else if a.colStride == 1 && live == mr {
            // Row-major A: read 6 rows side by side, interleave them p by p.
            let s0 = a.base + first * a.rowStride + p0
            let s1 = s0 + a.rowStride, s2 = s1 + a.rowStride
            let s3 = s2 + a.rowStride, s4 = s3 + a.rowStride, s5 = s4 + a.rowStride
            // 8 p at a time: transpose the 6×8 block (padded to 8×8) and store its 8 columns of 6 at
            // stride 6. Each 8-wide store spills 2 floats into the next column's slot, which the next
            // store overwrites; the last one spills 2 floats past the panel (see packAOverrun).
            var p = 0
            while p + 8 <= kc {
                var v0 = load8(s0 + p), v1 = load8(s1 + p), v2 = load8(s2 + p)
                var v3 = load8(s3 + p), v4 = load8(s4 + p), v5 = load8(s5 + p)
                var v6 = SIMD8<Float>(), v7 = SIMD8<Float>()
                transpose8x8(&v0, &v1, &v2, &v3, &v4, &v5, &v6, &v7)
                let out = panel + p * mr
                store8(v0, out); store8(v1, out + mr); store8(v2, out + 2 * mr); store8(v3, out + 3 * mr)
                store8(v4, out + 4 * mr); store8(v5, out + 5 * mr); store8(v6, out + 6 * mr); store8(v7, out + 7 * mr)
                p += 8
            }
            while p < kc {
                let out = panel + p * mr
                out[0] = s0[p]; out[1] = s1[p]; out[2] = s2[p]
                out[3] = s3[p]; out[4] = s4[p]; out[5] = s5[p]
                p += 1
            }
        } else {
            for p in 0..<kc {
                let out = panel + p * mr
                for r in 0..<live { out[r] = a[first + r, p0 + p] }
                for r in live..<mr { out[r] = 0 }
            }
        }
        q += 1
    }
}

/// Packs B(p0 ..< p0+kc, j0 ..< j0+cols), cols ≤ 16, into one p-major panel:
/// dst[p·16 + j] = B(p0 + p, j0 + j), zero for j ≥ cols.
func packB(_ b: StridedMatrix, p0: Int, kc: Int, j0: Int, cols: Int, into dst: UnsafeMutablePointer<Float>) {
    let nr = kernelCols
    if b.colStride == 1 && cols == nr {
        // Row-major B, full panel: each p is 16 adjacent floats, two vector copies.
        var src = b.base + p0 * b.rowStride + j0
        var out = dst
        for _ in 0..<kc {
            store8(load8(src), out)
            store8(load8(src + 8), out + 8)
            src += b.rowStride
            out += nr
        }
    } else if b.rowStride == 1 && cols == nr {
        // B stored transposed (matmulBT): column j of the panel is a contiguous run of kc floats;
        // transpose it in 8×8 blocks so reads and writes are both whole vectors.
        packTransposedPanel(b, p0: p0, kc: kc, j0: j0, into: dst)
    } else {
        for p in 0..<kc {
            let out = dst + p * nr
            for j in 0..<cols { out[j] = b[p0 + p, j0 + j] }
            for j in cols..<nr { out[j] = 0 }
        }
    }
}

/// Packs B(p0 ..< p0+kc, j0 ..< j0+cols) into ⌈cols/16⌉ panels, panel q at dst + q·kc·16, each laid out
/// as packB lays out one (zero past column `cols`).
func packBBlock(_ b: StridedMatrix, p0: Int, kc: Int, j0: Int, cols: Int, into dst: UnsafeMutablePointer<Float>) {
    let nr = kernelCols
    let fullPanels = cols / nr
    if b.colStride == 1 {
        // Row-major B: read each row's segment front to back (one sequential stream per row, which the
        // prefetchers follow) and scatter its 16-float pieces to the panels.
        for p in 0..<kc {
            let src = b.base + (p0 + p) * b.rowStride + j0
            var out = dst + p * nr
            for q in 0..<fullPanels {
                store8(load8(src + q * nr), out)
                store8(load8(src + q * nr + 8), out + 8)
                out += kc * nr
            }
        }
    } else {
        for q in 0..<fullPanels {
            packB(b, p0: p0, kc: kc, j0: j0 + q * nr, cols: nr, into: dst + q * kc * nr)
        }
    }
    let rest = cols - fullPanels * nr
    if rest > 0 {
        packB(b, p0: p0, kc: kc, j0: j0 + fullPanels * nr, cols: rest, into: dst + fullPanels * kc * nr)
    }
}

/// dst[p·16 + j] = b.base[(j0 + j)·colStride + p0 + p] for j < 16, p < kc (B stored as N×K rows).
private func packTransposedPanel(_ b: StridedMatrix, p0: Int, kc: Int, j0: Int, into dst: UnsafeMutablePointer<Float>) {
    let nr = kernelCols
    let ld = b.colStride
    let full = kc & ~7
    for half in 0..<2 {
        let src = b.base + (j0 + 8 * half) * ld + p0
        let out = dst + 8 * half
        var p = 0
        while p < full {
            // Rows r0…r7 hold B columns j…j+7 at p…p+7; their transpose gives 8 output rows of 8.
            var v0 = load8(src + p), v1 = load8(src + ld + p)
            var v2 = load8(src + 2 * ld + p), v3 = load8(src + 3 * ld + p)
            var v4 = load8(src + 4 * ld + p), v5 = load8(src + 5 * ld + p)
            var v6 = load8(src + 6 * ld + p), v7 = load8(src + 7 * ld + p)
            transpose8x8(&v0, &v1, &v2, &v3, &v4, &v5, &v6, &v7)
            let o = out + p * nr
            store8(v0, o); store8(v1, o + nr); store8(v2, o + 2 * nr); store8(v3, o + 3 * nr)
            store8(v4, o + 4 * nr); store8(v5, o + 5 * nr); store8(v6, o + 6 * nr); store8(v7, o + 7 * nr)
            p += 8
        }
        while p < kc {
            for j in 0..<8 { out[p * nr + j] = src[j * ld + p] }
            p += 1
        }
    }
}

/// Transposes the 8×8 matrix whose rows are v0…v7.
///
/// View the 64 elements as one array indexed by (row, col) = 6 bits. Splitting it into its even then odd
/// elements rotates that index right by one bit; three such rounds rotate it by three, swapping row and
/// column. Each round turns pairs (v2i, v2i+1) into the evens and odds of their concatenation.
@inline(__always)
func transpose8x8(
    _ v0: inout SIMD8<Float>, _ v1: inout SIMD8<Float>, _ v2: inout SIMD8<Float>, _ v3: inout SIMD8<Float>,
    _ v4: inout SIMD8<Float>, _ v5: inout SIMD8<Float>, _ v6: inout SIMD8<Float>, _ v7: inout SIMD8<Float>
) {
    for _ in 0..<3 {
        let p0 = SIMD16(lowHalf: v0, highHalf: v1), p1 = SIMD16(lowHalf: v2, highHalf: v3)
        let p2 = SIMD16(lowHalf: v4, highHalf: v5), p3 = SIMD16(lowHalf: v6, highHalf: v7)
        v0 = p0.evenHalf; v1 = p1.evenHalf; v2 = p2.evenHalf; v3 = p3.evenHalf
        v4 = p0.oddHalf; v5 = p1.oddHalf; v6 = p2.oddHalf; v7 = p3.oddHalf
    }
}
