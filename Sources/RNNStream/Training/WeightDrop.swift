import RNNModel
import RNNKernels

/// `rnn-fit --weight-drop P`: DropConnect on the recurrent weights (AWD-LSTM's "weight drop", Merity et al. 2017).
/// Every update draws one mask m over each layer's Wh, keeping an entry with probability 1-P and scaling it by
/// 1/(1-P), and runs the step with Wh ⊙ m; the whole batch and all T steps share the mask. Dropout between layers
/// cannot reach the recurrent connections, where a long run learns its text by heart; this can.
///
///     forward:   Wh' = Wh ⊙ m          (every other tensor as it is)
///     backward:  dL/dWh = dL/dWh' ⊙ m   (the chain rule through the elementwise product)
///
/// Validation, scoring and generation use Wh itself (inverted scaling keeps its expected product the same).
public final class WeightDrop {
    public let keep: Float
    /// The weights a step runs with: `params` with each Wh masked.
    public let dropped: Parameters
    /// One mask per layer, (H, G·H): 0 or 1/keep.
    private let masks: [FloatBuffer]

    public init(config: ModelConfig, rate: Double) {
        precondition(rate > 0 && rate < 1)
        keep = Float(1 - rate)
        dropped = Parameters(config: config)
        let H = config.hiddenSize, G = config.cell.gates
        masks = (0..<config.layers).map { _ in FloatBuffer(count: H * G * H) }
    }

    /// Draws new masks and fills `dropped` from `params`.
    public func draw(from params: Parameters, rng: inout Random) {
        dropped.copy(from: params)
        for (k, mask) in masks.enumerated() {
            dropout(count: mask.count, keep: keep, rng: &rng, mask: mask.pointer, src: params.wh(k), out: dropped.wh(k))
        }
    }

    /// Fills `dropped` from `params` with the masks drawn last (no new draw).
    public func apply(to params: Parameters) {
        dropped.copy(from: params)
        for (k, mask) in masks.enumerated() {
            let w = params.wh(k), out = dropped.wh(k), m = mask.pointer
            for i in 0..<mask.count { out[i] = w[i] * m[i] }
        }
    }

    /// Turns the gradients with respect to `dropped` into gradients with respect to the weights: dWh ⊙ m.
    public func maskGradients(_ grads: Parameters) {
        for (k, mask) in masks.enumerated() {
            let g = grads.wh(k), m = mask.pointer
            for i in 0..<mask.count { g[i] *= m[i] }
        }
    }

    /// The mask of layer `k` (for tests).
    public func mask(layer k: Int) -> [Float] { masks[k].array }
}
