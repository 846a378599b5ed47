/// The LSTM cell; pre-activations in four H-blocks, gate order i, f, g, o (PyTorch's).
///
///     i = σ(zi)  f = σ(zf)  g = tanh(zg)  o = σ(zo)
///     c = f ⊙ c_prev + i ⊙ g
///     h = o ⊙ tanh(c)
package enum LSTMCell {
    /// z (rows, 4H) in, overwritten with the gate activations [i, f, g, o]; c_prev (rows, H) in; c, h out.
    package static func forward(rows: Int, hidden H: Int, z: UnsafeMutablePointer<Float>, cPrev: UnsafePointer<Float>,
                        c: UnsafeMutablePointer<Float>, h: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let zr = z + r * 4 * H, cp = cPrev + r * H, cr = c + r * H, hr = h + r * H
            var j = 0
            while j < H {
                let n = H - j
                let i = sigmoid8(load8(zr + j, n))
                let f = sigmoid8(load8(zr + H + j, n))
                let g = tanh8(load8(zr + 2 * H + j, n))
                let o = sigmoid8(load8(zr + 3 * H + j, n))
                let cv = f * load8(cp + j, n) + i * g
                store8(i, zr + j, n)
                store8(f, zr + H + j, n)
                store8(g, zr + 2 * H + j, n)
                store8(o, zr + 3 * H + j, n)
                store8(cv, cr + j, n)
                store8(o * tanh8(cv), hr + j, n)
                j += 8
            }
        }
    }

    /// Given the activations, c_prev, c and dh (rows, H), and dc (rows, H) holding dc_next on entry:
    /// writes dz (rows, 4H) and leaves dc_prev in dc.
    ///
    ///     dc = dc_next + dh ⊙ o ⊙ (1 - tanh²c)
    ///     dzi = dc ⊙ g ⊙ i(1-i)   dzf = dc ⊙ c_prev ⊙ f(1-f)
    ///     dzg = dc ⊙ i ⊙ (1-g²)   dzo = dh ⊙ tanh c ⊙ o(1-o)
    ///     dc_prev = dc ⊙ f
    package static func backward(rows: Int, hidden H: Int, act: UnsafePointer<Float>, cPrev: UnsafePointer<Float>,
                         c: UnsafePointer<Float>, dh: UnsafePointer<Float>, dc: UnsafeMutablePointer<Float>,
                         dz: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            let ar = act + r * 4 * H, dzr = dz + r * 4 * H
            let cp = cPrev + r * H, cr = c + r * H, dhr = dh + r * H, dcr = dc + r * H
            var j = 0
            while j < H {
                let n = H - j
                let i = load8(ar + j, n), f = load8(ar + H + j, n)
                let g = load8(ar + 2 * H + j, n), o = load8(ar + 3 * H + j, n)
                let tc = tanh8(load8(cr + j, n))
                let dhv = load8(dhr + j, n)
                let dcv = load8(dcr + j, n) + dhv * o * (1 - tc * tc)
                store8(dcv * g * i * (1 - i), dzr + j, n)
                store8(dcv * load8(cp + j, n) * f * (1 - f), dzr + H + j, n)
                store8(dcv * i * (1 - g * g), dzr + 2 * H + j, n)
                store8(dhv * tc * o * (1 - o), dzr + 3 * H + j, n)
                store8(dcv * f, dcr + j, n)
                j += 8
            }
        }
    }
}
