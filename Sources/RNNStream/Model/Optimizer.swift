import Foundation
import RNNKernels
import RNNText

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
            let b1 = Self.beta1, b2 = Self.beta2
            let c1 = 1 - Float(pow(Double(b1), Double(step))), c2 = 1 - Float(pow(Double(b2), Double(step)))
            // fold the bias corrections into the step size: lr·√c2 / c1
            adamUpdate(count: n, weights: w, gradients: d, first: first.pointer, second: s, beta1: b1, beta2: b2,
                       stepSize: lr * c2.squareRoot() / c1, epsilon: Self.adamEpsilon * c2.squareRoot())
        case .rmsprop:
            rmspropUpdate(count: n, weights: w, gradients: d, second: s, alpha: Self.rmsAlpha, learningRate: lr,
                          epsilon: Self.epsilon)
        case .adagrad:
            adagradUpdate(count: n, weights: w, gradients: d, second: s, learningRate: lr, epsilon: Self.epsilon)
        }
    }
}

/// The global L2 norm of the gradients (the sum of squares in Double, in a fixed order).
public func gradientNorm(_ g: Parameters) -> Double {
    sumOfSquares(g.pointer, count: g.count).squareRoot()
}

/// Scales all gradients by `factor`.
public func scaleGradients(_ g: Parameters, by factor: Float) {
    scale(g.pointer, count: g.count, by: factor)
}
