import Foundation

// The optimizer's loops over a flat parameter buffer (Model/Optimizer.swift holds the state and the rates).
// Plain element loops over contiguous floats: the compiler vectorises them (vsqrtps, vdivps), which it does
// not do for SIMD8's lane-by-lane squareRoot(). Each loop is its own reference.

/// Adam with the bias corrections folded into `stepSize` and `epsilon` by the caller:
/// m = β1·m + (1-β1)·g, v = β2·v + (1-β2)·g², w -= stepSize · m / (√v + epsilon).
package func adamUpdate(count n: Int, weights w: UnsafeMutablePointer<Float>, gradients d: UnsafePointer<Float>,
                        first m: UnsafeMutablePointer<Float>, second s: UnsafeMutablePointer<Float>,
                        beta1 b1: Float, beta2 b2: Float, stepSize a: Float, epsilon eps: Float) {
    for i in 0..<n {
        let gv = d[i]
        let mv = b1 * m[i] + (1 - b1) * gv
        let vv = b2 * s[i] + (1 - b2) * gv * gv
        m[i] = mv
        s[i] = vv
        w[i] = w[i] - a * mv / (vv.squareRoot() + eps)
    }
}

/// RMSprop (char-rnn's): v = α·v + (1-α)·g², w -= lr·g / √(v + ε).
package func rmspropUpdate(count n: Int, weights w: UnsafeMutablePointer<Float>, gradients d: UnsafePointer<Float>,
                           second s: UnsafeMutablePointer<Float>, alpha al: Float, learningRate lr: Float,
                           epsilon eps: Float) {
    for i in 0..<n {
        let gv = d[i]
        let vv = al * s[i] + (1 - al) * gv * gv
        s[i] = vv
        w[i] = w[i] - lr * gv / (vv + eps).squareRoot()
    }
}

/// Adagrad (min-char-rnn's): v += g², w -= lr·g / √(v + ε).
package func adagradUpdate(count n: Int, weights w: UnsafeMutablePointer<Float>, gradients d: UnsafePointer<Float>,
                           second s: UnsafeMutablePointer<Float>, learningRate lr: Float, epsilon eps: Float) {
    for i in 0..<n {
        let gv = d[i]
        let vv = s[i] + gv * gv
        s[i] = vv
        w[i] = w[i] - lr * gv / (vv + eps).squareRoot()
    }
}

/// Σ d[i]², in Double, in two interleaved 8-lane accumulators (element i into lane i mod 16), which are then
/// added lane by lane in a fixed order.
package func sumOfSquares(_ d: UnsafePointer<Float>, count n: Int) -> Double {
    var s0 = SIMD8<Double>(), s1 = SIMD8<Double>()
    var i = 0
    while i + 16 <= n {
        let v0 = SIMD8<Double>(load8(d + i)), v1 = SIMD8<Double>(load8(d + i + 8))
        s0 = s0.addingProduct(v0, v0)
        s1 = s1.addingProduct(v1, v1)
        i += 16
    }
    var sum = (s0 + s1).sum()
    while i < n {
        let v = Double(d[i])
        sum += v * v
        i += 1
    }
    return sum
}

/// d *= factor over `count` floats.
package func scale(_ d: UnsafeMutablePointer<Float>, count: Int, by factor: Float) {
    for i in 0..<count { d[i] *= factor }
}

/// The exponential moving average of the weights (`rnn-fit --ema`): a = decay·a + (1-decay)·w.
package func movingAverage(count n: Int, average a: UnsafeMutablePointer<Float>, weights w: UnsafePointer<Float>,
                           decay: Float) {
    let keep = decay, take = 1 - decay
    for i in 0..<n { a[i] = keep * a[i] + take * w[i] }
}
