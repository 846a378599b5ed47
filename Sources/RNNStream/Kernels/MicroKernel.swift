// The register-tiled inner kernel of the packed matrix products in Matrix+Multiply.swift.

/// Rows of C one kernel call computes (the height of a packed A panel).
let kernelRows = 6
/// Columns of C one kernel call computes (the width of a packed B panel): two SIMD8 vectors.
let kernelCols = 16

@inline(__always)
func load8(_ p: UnsafePointer<Float>) -> SIMD8<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD8<Float>.self)
}

@inline(__always)
func store8(_ v: SIMD8<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD8<Float>.self)
}

/// C[6×16] (+)= Ã[6×kc] · B̃[kc×16], with Ã packed p-major (ã[p·6 + r] = A(r, p)) and B̃ packed p-major
/// (b̃[p·16 + j] = B(p, j)).
///
/// The tile lives in 12 SIMD8 accumulators; with the two B vectors and one broadcast A value that is 15
/// of AVX2's 16 ymm registers, and 12 independent FMA chains cover the FMA latency on both pipes.
/// Every accumulator starts at 0 and sums its kc products in order p = 0, 1, …, kc−1; the sum is then
/// added to C (`add`) or stored over it. An element's value thus depends only on the k-blocking, never
/// on which task or thread computed it.
@inline(never)
func kernel6x16(
    kc: Int,
    a: UnsafePointer<Float>, b: UnsafePointer<Float>,
    c: UnsafeMutablePointer<Float>, ldc: Int,
    add: Bool
) {
    var c00 = SIMD8<Float>(), c01 = SIMD8<Float>()
    var c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
    var c20 = SIMD8<Float>(), c21 = SIMD8<Float>()
    var c30 = SIMD8<Float>(), c31 = SIMD8<Float>()
    var c40 = SIMD8<Float>(), c41 = SIMD8<Float>()
    var c50 = SIMD8<Float>(), c51 = SIMD8<Float>()
    var ap = a
    var bp = b
    // acc[r][j] += Ã(r, p) · B̃(p, j) for p in 0..<kc: one rank-1 update of the tile per p.
    for _ in 0..<kc {
        let b0 = load8(bp)
        let b1 = load8(bp + 8)
        var av = SIMD8<Float>(repeating: ap[0])
        c00 = c00.addingProduct(av, b0); c01 = c01.addingProduct(av, b1)
        av = SIMD8<Float>(repeating: ap[1])
        c10 = c10.addingProduct(av, b0); c11 = c11.addingProduct(av, b1)
        av = SIMD8<Float>(repeating: ap[2])
        c20 = c20.addingProduct(av, b0); c21 = c21.addingProduct(av, b1)
        av = SIMD8<Float>(repeating: ap[3])
        c30 = c30.addingProduct(av, b0); c31 = c31.addingProduct(av, b1)
        av = SIMD8<Float>(repeating: ap[4])
        c40 = c40.addingProduct(av, b0); c41 = c41.addingProduct(av, b1)
        av = SIMD8<Float>(repeating: ap[5])
        c50 = c50.addingProduct(av, b0); c51 = c51.addingProduct(av, b1)
        ap += kernelRows
        bp += kernelCols
    }
    // C(r, ·) = C(r, ·) + acc[r]  (or = acc[r] when overwriting).
    let r0 = c, r1 = c + ldc, r2 = c + 2 * ldc
    let r3 = c + 3 * ldc, r4 = c + 4 * ldc, r5 = c + 5 * ldc
    if add {
        c00 += load8(r0); c01 += load8(r0 + 8)
        c10 += load8(r1); c11 += load8(r1 + 8)
        c20 += load8(r2); c21 += load8(r2 + 8)
        c30 += load8(r3); c31 += load8(r3 + 8)
        c40 += load8(r4); c41 += load8(r4 + 8)
        c50 += load8(r5); c51 += load8(r5 + 8)
    }
    store8(c00, r0); store8(c01, r0 + 8)
    store8(c10, r1); store8(c11, r1 + 8)
    store8(c20, r2); store8(c21, r2 + 8)
    store8(c30, r3); store8(c31, r3 + 8)
    store8(c40, r4); store8(c41, r4 + 8)
    store8(c50, r5); store8(c51, r5 + 8)
}

/// The 4-row version of kernel6x16 for the last panel of A when 4 rows remain (Ã still has a 6-row
/// stride). Same per-element summation order as kernel6x16.
@inline(never)
func kernel4x16(
    kc: Int,
    a: UnsafePointer<Float>, b: UnsafePointer<Float>,
    c: UnsafeMutablePointer<Float>, ldc: Int,
    add: Bool
) {
    var c00 = SIMD8<Float>(), c01 = SIMD8<Float>()
    var c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
    var c20 = SIMD8<Float>(), c21 = SIMD8<Float>()
    var c30 = SIMD8<Float>(), c31 = SIMD8<Float>()
    var ap = a
    var bp = b
    for _ in 0..<kc {
        let b0 = load8(bp)
        let b1 = load8(bp + 8)
        var av = SIMD8<Float>(repeating: ap[0])
        c00 = c00.addingProduct(av, b0); c01 = c01.addingProduct(av, b1)
        av = SIMD8<Float>(repeating: ap[1])
        c10 = c10.addingProduct(av, b0); c11 = c11.addingProduct(av, b1)
        av = SIMD8<Float>(repeating: ap[2])
        c20 = c20.addingProduct(av, b0); c21 = c21.addingProduct(av, b1)
        av = SIMD8<Float>(repeating: ap[3])
        c30 = c30.addingProduct(av, b0); c31 = c31.addingProduct(av, b1)
        ap += kernelRows
        bp += kernelCols
    }
    let r0 = c, r1 = c + ldc, r2 = c + 2 * ldc, r3 = c + 3 * ldc
    if add {
        c00 += load8(r0); c01 += load8(r0 + 8)
        c10 += load8(r1); c11 += load8(r1 + 8)
        c20 += load8(r2); c21 += load8(r2 + 8)
        c30 += load8(r3); c31 += load8(r3 + 8)
    }
    store8(c00, r0); store8(c01, r0 + 8)
    store8(c10, r1); store8(c11, r1 + 8)
    store8(c20, r2); store8(c21, r2 + 8)
    store8(c30, r3); store8(c31, r3 + 8)
}

/// The 2-row version of kernel6x16 for the last panel of A when 2 rows remain (Ã still has a 6-row
/// stride). Same per-element summation order as kernel6x16.
@inline(never)
func kernel2x16(
    kc: Int,
    a: UnsafePointer<Float>, b: UnsafePointer<Float>,
    c: UnsafeMutablePointer<Float>, ldc: Int,
    add: Bool
) {
    var c00 = SIMD8<Float>(), c01 = SIMD8<Float>()
    var c10 = SIMD8<Float>(), c11 = SIMD8<Float>()
    var ap = a
    var bp = b
    for _ in 0..<kc {
        let b0 = load8(bp)
        let b1 = load8(bp + 8)
        var av = SIMD8<Float>(repeating: ap[0])
        c00 = c00.addingProduct(av, b0); c01 = c01.addingProduct(av, b1)
        av = SIMD8<Float>(repeating: ap[1])
        c10 = c10.addingProduct(av, b0); c11 = c11.addingProduct(av, b1)
        ap += kernelRows
        bp += kernelCols
    }
    let r0 = c, r1 = c + ldc
    if add {
        c00 += load8(r0); c01 += load8(r0 + 8)
        c10 += load8(r1); c11 += load8(r1 + 8)
    }
    store8(c00, r0); store8(c01, r0 + 8)
    store8(c10, r1); store8(c11, r1 + 8)
}

// 16-wide kernels for AVX-512's 32 zmm registers (compiled everywhere, chosen by `KernelWidth`): a B̃ panel row is one SIMD16, and two or three A panels
// share it (12 or 18 accumulators, enough independent FMA chains for both 512-bit pipes).

@inline(__always)
func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
}

@inline(__always)
func store16(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
}

/// C[18×16] (+)= Ã·B̃ for 3 consecutive 6-row panels of Ã (panel g at a + g·6·kc) and one B̃ panel,
/// in 18 SIMD16 accumulators (zmm registers). Per element the same FMAs in the same order as kernel6x16.
@inline(never)
func kernel18x16(
    kc: Int,
    a: UnsafePointer<Float>, b: UnsafePointer<Float>,
    c: UnsafeMutablePointer<Float>, ldc: Int,
    add: Bool
) {
    var c0 = SIMD16<Float>()
    var c1 = SIMD16<Float>()
    var c2 = SIMD16<Float>()
    var c3 = SIMD16<Float>()
    var c4 = SIMD16<Float>()
    var c5 = SIMD16<Float>()
    var c6 = SIMD16<Float>()
    var c7 = SIMD16<Float>()
    var c8 = SIMD16<Float>()
    var c9 = SIMD16<Float>()
    var c10 = SIMD16<Float>()
    var c11 = SIMD16<Float>()
    var c12 = SIMD16<Float>()
    var c13 = SIMD16<Float>()
    var c14 = SIMD16<Float>()
    var c15 = SIMD16<Float>()
    var c16 = SIMD16<Float>()
    var c17 = SIMD16<Float>()
    var a0 = a + 0 * kernelRows * kc
    var a1 = a + 1 * kernelRows * kc
    var a2 = a + 2 * kernelRows * kc
    var bp = b
    for _ in 0..<kc {
        let bv = load16(bp)
        c0 = c0.addingProduct(SIMD16<Float>(repeating: a0[0]), bv)
        c1 = c1.addingProduct(SIMD16<Float>(repeating: a0[1]), bv)
        c2 = c2.addingProduct(SIMD16<Float>(repeating: a0[2]), bv)
        c3 = c3.addingProduct(SIMD16<Float>(repeating: a0[3]), bv)
        c4 = c4.addingProduct(SIMD16<Float>(repeating: a0[4]), bv)
        c5 = c5.addingProduct(SIMD16<Float>(repeating: a0[5]), bv)
        c6 = c6.addingProduct(SIMD16<Float>(repeating: a1[0]), bv)
        c7 = c7.addingProduct(SIMD16<Float>(repeating: a1[1]), bv)
        c8 = c8.addingProduct(SIMD16<Float>(repeating: a1[2]), bv)
        c9 = c9.addingProduct(SIMD16<Float>(repeating: a1[3]), bv)
        c10 = c10.addingProduct(SIMD16<Float>(repeating: a1[4]), bv)
        c11 = c11.addingProduct(SIMD16<Float>(repeating: a1[5]), bv)
        c12 = c12.addingProduct(SIMD16<Float>(repeating: a2[0]), bv)
        c13 = c13.addingProduct(SIMD16<Float>(repeating: a2[1]), bv)
        c14 = c14.addingProduct(SIMD16<Float>(repeating: a2[2]), bv)
        c15 = c15.addingProduct(SIMD16<Float>(repeating: a2[3]), bv)
        c16 = c16.addingProduct(SIMD16<Float>(repeating: a2[4]), bv)
        c17 = c17.addingProduct(SIMD16<Float>(repeating: a2[5]), bv)
        a0 += kernelRows
        a1 += kernelRows
        a2 += kernelRows
        bp += kernelCols
    }
    if add {
        c0 += load16(c + 0 * ldc)
        c1 += load16(c + 1 * ldc)
        c2 += load16(c + 2 * ldc)
        c3 += load16(c + 3 * ldc)
        c4 += load16(c + 4 * ldc)
        c5 += load16(c + 5 * ldc)
        c6 += load16(c + 6 * ldc)
        c7 += load16(c + 7 * ldc)
        c8 += load16(c + 8 * ldc)
        c9 += load16(c + 9 * ldc)
        c10 += load16(c + 10 * ldc)
        c11 += load16(c + 11 * ldc)
        c12 += load16(c + 12 * ldc)
        c13 += load16(c + 13 * ldc)
        c14 += load16(c + 14 * ldc)
        c15 += load16(c + 15 * ldc)
        c16 += load16(c + 16 * ldc)
        c17 += load16(c + 17 * ldc)
    }
    store16(c0, c + 0 * ldc)
    store16(c1, c + 1 * ldc)
    store16(c2, c + 2 * ldc)
    store16(c3, c + 3 * ldc)
    store16(c4, c + 4 * ldc)
    store16(c5, c + 5 * ldc)
    store16(c6, c + 6 * ldc)
    store16(c7, c + 7 * ldc)
    store16(c8, c + 8 * ldc)
    store16(c9, c + 9 * ldc)
    store16(c10, c + 10 * ldc)
    store16(c11, c + 11 * ldc)
    store16(c12, c + 12 * ldc)
    store16(c13, c + 13 * ldc)
    store16(c14, c + 14 * ldc)
    store16(c15, c + 15 * ldc)
    store16(c16, c + 16 * ldc)
    store16(c17, c + 17 * ldc)
}

/// C[12×16] (+)= Ã·B̃ for 2 consecutive 6-row panels of Ã (panel g at a + g·6·kc) and one B̃ panel,
/// in 12 SIMD16 accumulators (zmm registers). Per element the same FMAs in the same order as kernel6x16.
@inline(never)
func kernel12x16(
    kc: Int,
    a: UnsafePointer<Float>, b: UnsafePointer<Float>,
    c: UnsafeMutablePointer<Float>, ldc: Int,
    add: Bool
) {
    var c0 = SIMD16<Float>()
    var c1 = SIMD16<Float>()
    var c2 = SIMD16<Float>()
    var c3 = SIMD16<Float>()
    var c4 = SIMD16<Float>()
    var c5 = SIMD16<Float>()
    var c6 = SIMD16<Float>()
    var c7 = SIMD16<Float>()
    var c8 = SIMD16<Float>()
    var c9 = SIMD16<Float>()
    var c10 = SIMD16<Float>()
    var c11 = SIMD16<Float>()
    var a0 = a + 0 * kernelRows * kc
    var a1 = a + 1 * kernelRows * kc
    var bp = b
    for _ in 0..<kc {
        let bv = load16(bp)
        c0 = c0.addingProduct(SIMD16<Float>(repeating: a0[0]), bv)
        c1 = c1.addingProduct(SIMD16<Float>(repeating: a0[1]), bv)
        c2 = c2.addingProduct(SIMD16<Float>(repeating: a0[2]), bv)
        c3 = c3.addingProduct(SIMD16<Float>(repeating: a0[3]), bv)
        c4 = c4.addingProduct(SIMD16<Float>(repeating: a0[4]), bv)
        c5 = c5.addingProduct(SIMD16<Float>(repeating: a0[5]), bv)
        c6 = c6.addingProduct(SIMD16<Float>(repeating: a1[0]), bv)
        c7 = c7.addingProduct(SIMD16<Float>(repeating: a1[1]), bv)
        c8 = c8.addingProduct(SIMD16<Float>(repeating: a1[2]), bv)
        c9 = c9.addingProduct(SIMD16<Float>(repeating: a1[3]), bv)
        c10 = c10.addingProduct(SIMD16<Float>(repeating: a1[4]), bv)
        c11 = c11.addingProduct(SIMD16<Float>(repeating: a1[5]), bv)
        a0 += kernelRows
        a1 += kernelRows
        bp += kernelCols
    }
    if add {
        c0 += load16(c + 0 * ldc)
        c1 += load16(c + 1 * ldc)
        c2 += load16(c + 2 * ldc)
        c3 += load16(c + 3 * ldc)
        c4 += load16(c + 4 * ldc)
        c5 += load16(c + 5 * ldc)
        c6 += load16(c + 6 * ldc)
        c7 += load16(c + 7 * ldc)
        c8 += load16(c + 8 * ldc)
        c9 += load16(c + 9 * ldc)
        c10 += load16(c + 10 * ldc)
        c11 += load16(c + 11 * ldc)
    }
    store16(c0, c + 0 * ldc)
    store16(c1, c + 1 * ldc)
    store16(c2, c + 2 * ldc)
    store16(c3, c + 3 * ldc)
    store16(c4, c + 4 * ldc)
    store16(c5, c + 5 * ldc)
    store16(c6, c + 6 * ldc)
    store16(c7, c + 7 * ldc)
    store16(c8, c + 8 * ldc)
    store16(c9, c + 9 * ldc)
    store16(c10, c + 10 * ldc)
    store16(c11, c + 11 * ldc)
}
