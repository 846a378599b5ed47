/// The vanilla (Elman) cell, min-char-rnn's: one H-wide block.
///
///     h = tanh(z),   z = x·wx + h_prev·wh + b
package enum RNNCell {
    /// z (rows, H) pre-activations in, h (rows, H) out; z is overwritten with h (the "activations").
    package static func forward(rows: Int, hidden H: Int, z: UnsafeMutablePointer<Float>, h: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let zr = z + r * H, hr = h + r * H
            var j = 0
            while j < H {
                let n = H - j
                let v = tanh8(load8(zr + j, n))
                store8(v, zr + j, n)
                store8(v, hr + j, n)
                j += 8
            }
        }
    }

    /// dz = (1 - h²) ⊙ dh
    package static func backward(rows: Int, hidden H: Int, h: UnsafePointer<Float>, dh: UnsafePointer<Float>,
                         dz: UnsafeMutablePointer<Float>) {
        var i = 0
        let count = rows * H
        while i < count {
            let n = count - i
            let hv = load8(h + i, n)
            store8((1 - hv * hv) * load8(dh + i, n), dz + i, n)
            i += 8
        }
    }
}
