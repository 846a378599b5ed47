// The register-tiled inner kernel of the packed matrix products in Matrix+Multiply.swift.

import RNNKernels16

// kernelRows (6) and kernelCols (16, two SIMD8 vectors) are defined in RNNKernels16, beside the wide kernels.

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
