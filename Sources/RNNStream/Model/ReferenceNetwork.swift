import Foundation
import RNNKernels
import RNNText

/// The plain twin of `Network`: the same model, forward and backward, in Double, one stream and one step at a
/// time, with no buffers shared between steps. Slow and obvious; the gradient check tests it against central
/// differences and `Network` against it.
public enum ReferenceNetwork {
    /// Mean loss (nats per scored row) over T·B time-major rows, and its gradient for every tensor
    /// (in `config.tensorShapes` order). `h0`/`c0`: per layer, B·H initial state. Targets < 0 are not scored.
    public static func lossAndGradients(
        config: ModelConfig, parameters w: [[Double]], inputs: [Int], targets: [Int], batch B: Int,
        h0: [[Double]], c0: [[Double]]
    ) -> (loss: Double, grads: [[Double]]) {
        let H = config.hiddenSize, V = config.vocabSize, L = config.layers, G = config.cell.gates
        let T = inputs.count / B, per = config.tensorsPerLayer
        let scored = targets.filter { $0 >= 0 }.count
        func sig(_ x: Double) -> Double { 1 / (1 + exp(-x)) }
        let ln = config.layerNorm, gxAt = config.cell == .gru ? 4 : 3
        // layer normalisation of each H-block: ẑ and 1/σ per block (LayerNorm's formulas, in Double)
        func normalize(_ z: [Double]) -> (xhat: [Double], r: [Double]) {
            var xhat = z, r: [Double] = []
            for q in 0..<G {
                let block = z[(q * H)..<((q + 1) * H)]
                let mean = block.reduce(0, +) / Double(H)
                let variance = block.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(H)
                let rq = 1 / (variance + Double(LayerNorm.epsilon)).squareRoot()
                for j in 0..<H { xhat[q * H + j] = (z[q * H + j] - mean) * rq }
                r.append(rq)
            }
            return (xhat, r)
        }
        // dy at y = g ⊙ ẑ: adds dy ⊙ ẑ into grads[gain], returns the gradient at z
        func normalizeBackward(_ dy: [Double], gain: Int, xhat: [Double], r: [Double]) -> [Double] {
            var dz = dy
            for q in 0..<G {
                var m1 = 0.0, m2 = 0.0
                for j in 0..<H {
                    let i = q * H + j, d = dy[i] * w[gain][i]
                    m1 += d; m2 += d * xhat[i]
                    grads[gain][i] += dy[i] * xhat[i]
                }
                m1 /= Double(H); m2 /= Double(H)
                for j in 0..<H {
                    let i = q * H + j
                    dz[i] = r[q] * (dy[i] * w[gain][i] - m1 - xhat[i] * m2)
                }
            }
            return dz
        }
        var grads = w.map { [Double](repeating: 0, count: $0.count) }
        var loss = 0.0

        for b in 0..<B {
            // Forward, keeping every step's values: xs[k][t] input of layer k, hs[k][t+1] output, acts, cs.
            var xin: [[Double]] = (0..<T).map { t in
                var x = [Double](repeating: 0, count: V); x[inputs[t * B + b]] = 1; return x
            }
            var layerIn: [[[Double]]] = [], hs: [[[Double]]] = [], cs: [[[Double]]] = []
            var acts: [[[Double]]] = [], hns: [[[Double]]] = []
            // layer normalisation's ẑ and 1/σ of the input (x) and recurrent (r) parts, per layer and step
            var xNorm: [[(xhat: [Double], r: [Double])]] = [], rNorm: [[(xhat: [Double], r: [Double])]] = []
            for k in 0..<L {
                let wx = w[k * per], wh = w[k * per + 1], bias = w[k * per + 2]
                let inW = k == 0 ? V : H
                var h = Array(h0[k][(b * H)..<((b + 1) * H)])
                var c = c0.isEmpty ? [] : Array(c0[k][(b * H)..<((b + 1) * H)])
                var hk = [h], ck = [c], ak: [[Double]] = [], hnk: [[Double]] = []
                var xNormK: [(xhat: [Double], r: [Double])] = [], rNormK: [(xhat: [Double], r: [Double])] = []
                for t in 0..<T {
                    var zx = [Double](repeating: 0, count: G * H), zh = zx
                    for j in 0..<(G * H) {
                        for i in 0..<inW { zx[j] += xin[t][i] * wx[i * G * H + j] }
                        for i in 0..<H { zh[j] += h[i] * wh[i * G * H + j] }
                    }
                    if ln {
                        // z = LN(x·wx) ⊙ gx + LN(h·wh) ⊙ gh + b
                        let nx = normalize(zx), nr = normalize(zh)
                        xNormK.append(nx); rNormK.append(nr)
                        for j in 0..<(G * H) {
                            zx[j] = nx.xhat[j] * w[k * per + gxAt][j]
                            zh[j] = nr.xhat[j] * w[k * per + gxAt + 1][j]
                        }
                    }
                    for j in 0..<(G * H) { zx[j] += bias[j] }
                    var a = [Double](repeating: 0, count: G * H), hn = [Double](repeating: 0, count: H)
                    var hNew = [Double](repeating: 0, count: H), cNew = c
                    for j in 0..<H {
                        switch config.cell {
                        case .rnn:
                            a[j] = tanh(zx[j] + zh[j]); hNew[j] = a[j]
                        case .lstm:
                            let i = sig(zx[j] + zh[j]), f = sig(zx[H + j] + zh[H + j])
                            let g = tanh(zx[2 * H + j] + zh[2 * H + j]), o = sig(zx[3 * H + j] + zh[3 * H + j])
                            a[j] = i; a[H + j] = f; a[2 * H + j] = g; a[3 * H + j] = o
                            cNew[j] = f * c[j] + i * g
                            hNew[j] = o * tanh(cNew[j])
                        case .gru:
                            let r = sig(zx[j] + zh[j]), z = sig(zx[H + j] + zh[H + j])
                            hn[j] = zh[2 * H + j] + w[k * per + 3][j]
                            let n = tanh(zx[2 * H + j] + r * hn[j])
                            a[j] = r; a[H + j] = z; a[2 * H + j] = n
                            hNew[j] = (1 - z) * n + z * h[j]
                        }
                    }
                    h = hNew; c = cNew
                    hk.append(h); ck.append(c); ak.append(a); hnk.append(hn)
                }
                layerIn.append(xin); hs.append(hk); cs.append(ck); acts.append(ak); hns.append(hnk)
                xNorm.append(xNormK); rNorm.append(rNormK)
                xin = Array(hk[1...])
            }
            // Head and loss; dTop[t] = dloss/dh_top(t)
            let hw = w[L * per], hb = w[L * per + 1]
            var dOut = [[Double]](repeating: [Double](repeating: 0, count: H), count: T)
            for t in 0..<T {
                let target = targets[t * B + b]
                if target < 0 { continue }
                let top = hs[L - 1][t + 1]
                var logits = hb
                for j in 0..<V { for i in 0..<H { logits[j] += top[i] * hw[i * V + j] } }
                let m = logits.max()!
                let sum = logits.reduce(0) { $0 + exp($1 - m) }
                loss += log(sum) - (logits[target] - m)
                for j in 0..<V {
                    let d = (exp(logits[j] - m) / sum - (j == target ? 1 : 0)) / Double(scored)
                    grads[L * per + 1][j] += d
                    for i in 0..<H {
                        grads[L * per][i * V + j] += top[i] * d
                        dOut[t][i] += hw[i * V + j] * d
                    }
                }
            }
            // Backward through the layers, top down, each through time.
            for k in stride(from: L - 1, through: 0, by: -1) {
                let wx = w[k * per], wh = w[k * per + 1]
                let inW = k == 0 ? V : H
                var dIn = [[Double]](repeating: [Double](repeating: 0, count: inW), count: T)
                var dhNext = [Double](repeating: 0, count: H), dcNext = [Double](repeating: 0, count: H)
                for t in stride(from: T - 1, through: 0, by: -1) {
                    let a = acts[k][t], hPrev = hs[k][t]
                    var dh = dOut[t]
                    for j in 0..<H { dh[j] += dhNext[j] }
                    var dzx = [Double](repeating: 0, count: G * H), dzh = dzx
                    var dhPrev = [Double](repeating: 0, count: H)
                    for j in 0..<H {
                        switch config.cell {
                        case .rnn:
                            dzx[j] = dh[j] * (1 - a[j] * a[j]); dzh[j] = dzx[j]
                        case .lstm:
                            let i = a[j], f = a[H + j], g = a[2 * H + j], o = a[3 * H + j]
                            let tc = tanh(cs[k][t + 1][j])
                            let dc = dcNext[j] + dh[j] * o * (1 - tc * tc)
                            dzx[j] = dc * g * i * (1 - i)
                            dzx[H + j] = dc * cs[k][t][j] * f * (1 - f)
                            dzx[2 * H + j] = dc * i * (1 - g * g)
                            dzx[3 * H + j] = dh[j] * tc * o * (1 - o)
                            dcNext[j] = dc * f
                            for q in 0..<4 { dzh[q * H + j] = dzx[q * H + j] }
                        case .gru:
                            let r = a[j], z = a[H + j], n = a[2 * H + j], hn = hns[k][t][j]
                            let dan = dh[j] * (1 - z) * (1 - n * n)
                            let dzz = dh[j] * (hPrev[j] - n) * z * (1 - z)
                            let dzr = dan * hn * r * (1 - r)
                            dzx[j] = dzr; dzx[H + j] = dzz; dzx[2 * H + j] = dan
                            dzh[j] = dzr; dzh[H + j] = dzz; dzh[2 * H + j] = dan * r
                            dhPrev[j] = dh[j] * z
                            grads[k * per + 3][j] += dan * r
                        }
                    }
                    for j in 0..<(G * H) { grads[k * per + 2][j] += dzx[j] }
                    if ln {
                        // back through the normalisations to the products x·wx and h·wh
                        dzx = normalizeBackward(dzx, gain: k * per + gxAt, xhat: xNorm[k][t].xhat, r: xNorm[k][t].r)
                        dzh = normalizeBackward(dzh, gain: k * per + gxAt + 1, xhat: rNorm[k][t].xhat, r: rNorm[k][t].r)
                    }
                    for j in 0..<(G * H) {
                        for i in 0..<inW {
                            grads[k * per][i * G * H + j] += layerIn[k][t][i] * dzx[j]
                            dIn[t][i] += wx[i * G * H + j] * dzx[j]
                        }
                        for i in 0..<H {
                            grads[k * per + 1][i * G * H + j] += hPrev[i] * dzh[j]
                            dhPrev[i] += wh[i * G * H + j] * dzh[j]
                        }
                    }
                    dhNext = dhPrev
                }
                if k > 0 { dOut = dIn }
            }
        }
        return (loss / Double(max(scored, 1)), grads)
    }
}
