// The 16-lane kernels: the register-tiled micro-kernels and the packed vector-matrix loop of RNNKernels at
// AVX-512 width. This module is the only Swift code compiled for AVX-512 (Package.swift); RNNKernels calls
// into it only when the CPU has AVX-512 (`KernelWidth.current`, read from cpuid at run time), so one binary
// runs on machines without it. Per element they compute the same multiply-adds in the same order as the
// 8-lane kernels, so both widths give the same bits (a test compares them).

/// Rows of C one 6-row kernel call computes (the height of a packed A panel).
package let kernelRows = 6
/// Columns of C one kernel call computes (the width of a packed B panel).
package let kernelCols = 16

// For AVX-512's 32 zmm registers a B̃ panel row is one SIMD16, and two or three A panels share it (12 or 18
// accumulators, enough independent FMA chains for both 512-bit pipes).

@inline(__always)
package func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
}

@inline(__always)
package func store16(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
}

/// C[18×16] (+)= Ã·B̃ for 3 consecutive 6-row panels of Ã (panel g at a + g·6·kc) and one B̃ panel,
/// in 18 SIMD16 accumulators (zmm registers). Per element the same FMAs in the same order as kernel6x16.
@inline(never)
package func kernel18x16(
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
package func kernel12x16(
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
