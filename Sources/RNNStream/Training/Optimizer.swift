import Foundation

public enum OptimizerKind: String, Sendable, CaseIterable {
    case adam, rmsprop, adagrad

    /// The learning rate each trains well with on characters.
    public var defaultLearningRate: Double {
        switch self {
        case .adam: return 2e-3
        case .rmsprop: return 2e-3
        case .adagrad: return 0.1
        }
    }
}

/// Updates parameters from gradients, with its moments in buffers of the parameters' own layout.
///
/// - Adam: m = β1·m + (1-β1)·g, v = β2·v + (1-β2)·g², p -= lr·m̂ / (√v̂ + ε) with bias correction.
/// - RMSprop (char-rnn's): v = α·v + (1-α)·g², p -= lr·g / √(v + ε), α = 0.95.
/// - Adagrad (min-char-rnn's): v += g², p -= lr·g / √(v + ε).
public final class Optimizer {
    public let kind: OptimizerKind
    public let first: FloatBuffer
    public let second: FloatBuffer
    /// Updates taken so far (Adam's bias correction).
    public var step: Int = 0

    public static let beta1: Float = 0.9, beta2: Float = 0.999, adamEpsilon: Float = 1e-8
    public static let rmsAlpha: Float = 0.95, epsilon: Float = 1e-8

    public init(kind: OptimizerKind, count: Int) {
        self.kind = kind
        first = FloatBuffer(count: kind == .adam ? count : 0)
        second = FloatBuffer(count: count)
    }

    public func update(parameters p: Parameters, gradients g: Parameters, learningRate lr: Float) {
        step += 1
        let n = p.count, w = p.pointer, d = g.pointer, s = second.pointer
        // Plain element loops over contiguous floats: the compiler vectorises them (vsqrtps, vdivps), which
        // it does not do for SIMD8's lane-by-lane squareRoot().
        switch kind {
        case .adam:
            let m = first.pointer
            let b1 = Self.beta1, b2 = Self.beta2
            let c1 = 1 - Float(pow(Double(b1), Double(step))), c2 = 1 - Float(pow(Double(b2), Double(step)))
            // fold the bias corrections into the step size: lr·√c2 / c1
            let a = lr * c2.squareRoot() / c1, eps = Self.adamEpsilon * c2.squareRoot()
            for i in 0..<n {
                let gv = d[i]
                let mv = b1 * m[i] + (1 - b1) * gv
                let vv = b2 * s[i] + (1 - b2) * gv * gv
                m[i] = mv
                s[i] = vv
                w[i] = w[i] - a * mv / (vv.squareRoot() + eps)
            }
        case .rmsprop:
            let al = Self.rmsAlpha, eps = Self.epsilon
            for i in 0..<n {
                let gv = d[i]
                let vv = al * s[i] + (1 - al) * gv * gv
                s[i] = vv
                w[i] = w[i] - lr * gv / (vv + eps).squareRoot()
            }
        case .adagrad:
            let eps = Self.epsilon
            for i in 0..<n {
                let gv = d[i]
                let vv = s[i] + gv * gv
                s[i] = vv
                w[i] = w[i] - lr * gv / (vv + eps).squareRoot()
            }
        }
    }
}

/// The global L2 norm of the gradients: squares summed in Double, in two interleaved 8-lane accumulators
/// (element i into lane i mod 16), which are then added lane by lane in a fixed order.
public func gradientNorm(_ g: Parameters) -> Double {
    let d = g.pointer, n = g.count
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
    return sum.squareRoot()
}

/// Scales all gradients by `factor`.
public func scaleGradients(_ g: Parameters, by factor: Float) {
    let d = g.pointer
    for i in 0..<g.count { d[i] *= factor }
}
