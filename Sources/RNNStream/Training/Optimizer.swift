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
        switch kind {
        case .adam:
            let m = first.pointer
            let b1 = Self.beta1, b2 = Self.beta2
            let c1 = 1 - Float(pow(Double(b1), Double(step))), c2 = 1 - Float(pow(Double(b2), Double(step)))
            // fold the bias corrections into the step size: lr·√c2 / c1
            let a = lr * c2.squareRoot() / c1, eps = Self.adamEpsilon * c2.squareRoot()
            var i = 0
            while i < n {
                let k = n - i
                let gv = load8(d + i, k)
                let mv = b1 * load8(m + i, k) + (1 - b1) * gv
                let vv = b2 * load8(s + i, k) + (1 - b2) * gv * gv
                store8(mv, m + i, k)
                store8(vv, s + i, k)
                store8(load8(w + i, k) - a * mv / (vv.squareRoot() + eps), w + i, k)
                i += 8
            }
        case .rmsprop:
            let al = Self.rmsAlpha
            var i = 0
            while i < n {
                let k = n - i
                let gv = load8(d + i, k)
                let vv = al * load8(s + i, k) + (1 - al) * gv * gv
                store8(vv, s + i, k)
                store8(load8(w + i, k) - lr * gv / (vv + Self.epsilon).squareRoot(), w + i, k)
                i += 8
            }
        case .adagrad:
            var i = 0
            while i < n {
                let k = n - i
                let gv = load8(d + i, k)
                let vv = load8(s + i, k) + gv * gv
                store8(vv, s + i, k)
                store8(load8(w + i, k) - lr * gv / (vv + Self.epsilon).squareRoot(), w + i, k)
                i += 8
            }
        }
    }
}

/// The global L2 norm of the gradients, summed in Double.
public func gradientNorm(_ g: Parameters) -> Double {
    var sum = 0.0
    let d = g.pointer
    var i = 0
    let n = g.count
    while i < n {
        let k = n - i
        let v = load8(d + i, k)
        sum += Double((v * v).sum())
        i += 8
    }
    return sum.squareRoot()
}

/// Scales all gradients by `factor`.
public func scaleGradients(_ g: Parameters, by factor: Float) {
    let d = g.pointer
    for i in 0..<g.count { d[i] *= factor }
}
