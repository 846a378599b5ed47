/// The GRU cell; three H-blocks, gate order r, z, n (PyTorch's). The input part `zx = x·wx + b` and the
/// recurrent part `zh = h_prev·wh` stay apart because the candidate n sees the recurrent part through r:
///
///     r = σ(zx_r + zh_r)   z = σ(zx_z + zh_z)
///     hn = zh_n + bhn
///     n = tanh(zx_n + r ⊙ hn)
///     h = (1 - z) ⊙ n + z ⊙ h_prev
package enum GRUCell {
    /// zx (rows, 3H) in, overwritten with [r, z, n]; zh (rows, 3H) in, its n-block gets + bhn (keeps hn);
    /// h_prev (rows, H) in; h out.
    package static func forward(rows: Int, hidden H: Int, zx: UnsafeMutablePointer<Float>, zh: UnsafeMutablePointer<Float>,
                        bhn: UnsafePointer<Float>, hPrev: UnsafePointer<Float>, h: UnsafeMutablePointer<Float>) {
        for row in 0..<rows {
            let xr = zx + row * 3 * H, hr = zh + row * 3 * H, hp = hPrev + row * H, ho = h + row * H
            var j = 0
            while j < H {
                let n = H - j
                let r = sigmoid8(load8(xr + j, n) + load8(hr + j, n))
                let z = sigmoid8(load8(xr + H + j, n) + load8(hr + H + j, n))
                let hn = load8(hr + 2 * H + j, n) + load8(bhn + j, n)
                let cand = tanh8(load8(xr + 2 * H + j, n) + r * hn)
                store8(r, xr + j, n)
                store8(z, xr + H + j, n)
                store8(cand, xr + 2 * H + j, n)
                store8(hn, hr + 2 * H + j, n)
                store8((1 - z) * cand + z * load8(hp + j, n), ho + j, n)
                j += 8
            }
        }
    }

    /// Given the activations [r, z, n], hn (in zh's n-block), h_prev and dh: writes dzx and dzh (rows, 3H) and
    /// the direct part of dh_prev (dh ⊙ z) into dhPrev; the caller adds dzh·whᵀ.
    ///
    ///     dn = dh ⊙ (1-z)          dzz = dh ⊙ (h_prev - n) ⊙ z(1-z)
    ///     dan = dn ⊙ (1-n²)        (gradient at n's pre-activation)
    ///     dzr = dan ⊙ hn ⊙ r(1-r)
    ///     dzx = [dzr, dzz, dan]    dzh = [dzr, dzz, dan ⊙ r]
    package static func backward(rows: Int, hidden H: Int, act: UnsafePointer<Float>, zh: UnsafePointer<Float>,
                         hPrev: UnsafePointer<Float>, dh: UnsafePointer<Float>,
                         dzx: UnsafeMutablePointer<Float>, dzh: UnsafeMutablePointer<Float>,
                         dhPrev: UnsafeMutablePointer<Float>) {
        for row in 0..<rows {
            let ar = act + row * 3 * H, hr = zh + row * 3 * H, hp = hPrev + row * H, dhr = dh + row * H
            let dxr = dzx + row * 3 * H, dhh = dzh + row * 3 * H, dpr = dhPrev + row * H
            var j = 0
            while j < H {
                let n = H - j
                let r = load8(ar + j, n), z = load8(ar + H + j, n), cand = load8(ar + 2 * H + j, n)
                let hn = load8(hr + 2 * H + j, n)
                let dhv = load8(dhr + j, n)
                let dan = dhv * (1 - z) * (1 - cand * cand)
                let dzz = dhv * (load8(hp + j, n) - cand) * z * (1 - z)
                let dzr = dan * hn * r * (1 - r)
                store8(dzr, dxr + j, n)
                store8(dzz, dxr + H + j, n)
                store8(dan, dxr + 2 * H + j, n)
                store8(dzr, dhh + j, n)
                store8(dzz, dhh + H + j, n)
                store8(dan * r, dhh + 2 * H + j, n)
                store8(dhv * z, dpr + j, n)
                j += 8
            }
        }
    }
}
