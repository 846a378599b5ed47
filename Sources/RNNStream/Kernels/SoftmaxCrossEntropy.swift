import Foundation

/// Softmax cross-entropy over rows of logits.
package enum SoftmaxCrossEntropy {
    /// For each of `rows` rows of V logits: loss += -log softmax(logits)[target], in nats, summed in Double.
    /// When `gradScale` is given, the row is replaced by its gradient (softmax - onehot) · gradScale.
    /// A negative target marks a row that is not scored (its gradient is zero).
    package static func forward(rows: Int, vocab V: Int, logits: UnsafeMutablePointer<Float>, targets: UnsafePointer<Int32>,
                        gradScale: Float?, rowLoss: UnsafeMutablePointer<Double>? = nil) -> Double {
        var loss = 0.0
        for r in 0..<rows {
            let row = logits + r * V
            let target = Int(targets[r])
            if target < 0 {
                if gradScale != nil { row.update(repeating: 0, count: V) }
                continue
            }
            // subtract the max for stability
            var mv = Float8(repeating: -.infinity)
            var j = 0
            while j < V {
                let n = V - j
                var v = load8(row + j, n)
                if n < 8 { for l in n..<8 { v[l] = -.infinity } }
                // compare-and-blend: pointwiseMax and max() run out of line, unspecialised
                mv.replace(with: v, where: v .> mv)
                j += 8
            }
            var m = mv[0]
            for l in 1..<8 where mv[l] > m { m = mv[l] }
            let xt = Double(row[target] - m)
            var sv = Float8()
            j = 0
            while j < V {
                let n = V - j
                var e = exp8(load8(row + j, n) - m)
                if n < 8 { for l in n..<8 { e[l] = 0 } }
                sv += e
                if gradScale != nil { store8(e, row + j, n) }
                j += 8
            }
            let sum = Double(sv.sum())
            // -log p[target] = log Σ e^(x - m) - (x_target - m)
            let nats = Foundation.log(sum) - xt
            loss += nats
            rowLoss?[r] = nats
            if let scale = gradScale {
                // dlogits = (softmax - onehot) · scale
                let k = Float(1 / sum) * scale
                j = 0
                while j < V {
                    let n = V - j
                    store8(load8(row + j, n) * k, row + j, n)
                    j += 8
                }
                row[target] -= scale
            }
        }
        return loss
    }
}
