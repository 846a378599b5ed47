// The 16-lane loop of the packed vector-matrix product (RNNKernels/Matrix+Packed.swift).

/// Columns of panels q0..<q1 of y (+)= x·B for the packed B at `base` (the layout of RNNKernels'
/// PackedMatrix: k-block pc at base + pc·nPad, panel q at + q·kc·16), 8 panels of 16 columns at a time,
/// one SIMD16 accumulator each, all advancing together. A short last group re-reads its first panel in the
/// missing slots and drops those sums. Same multiply-adds in the same order as the 8-lane loop.
package func packedVecmatPanels16(
    q0: Int, q1: Int, x: UnsafePointer<Float>, base: UnsafePointer<Float>, n: Int, k: Int, kcMax: Int, nPad: Int,
    y: UnsafeMutablePointer<Float>, accumulate: Bool
) {
    let nr = kernelCols
    @inline(__always) func put(_ v: SIMD8<Float>, _ j: Int) {
        let live = min(8, n - j)
        if live <= 0 { return }
        let dst = y + j
        if live == 8 {
            let old = UnsafeRawPointer(dst).loadUnaligned(as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(dst).storeBytes(of: accumulate ? old + v : v, as: SIMD8<Float>.self)
        } else {
            for i in 0..<live { dst[i] = accumulate ? dst[i] + v[i] : v[i] }
        }
    }
    var q = q0
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
}
