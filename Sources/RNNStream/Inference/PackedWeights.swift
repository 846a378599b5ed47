import RNNModel
import RNNKernels

/// The packed copies of a model's weights that the predictors multiply by (`PackedMatrix`): per layer wh
/// (H, G·H) and wx (H, G·H; layer 0's input is a row lookup, so its wx is empty), and the head's weights
/// (H, V), all held in `weights`. `pack` refreshes them from the parameters. `products` .bf16 keeps a bf16
/// copy too, so that products of 2 or more rows multiply in bf16 (their activations rounded as well).
final class PackedWeights {
    let wh: [PackedMatrix]
    let wx: [PackedMatrix]
    let head: PackedMatrix

    /// `recurrentPacking`: storage for each layer's packed wh to borrow instead of owning (fp32 only).
    init(config: ModelConfig, weights: WeightFormat, products: Precision = .fp32, recurrentPacking: [PackedMatrix]? = nil) {
        let H = config.hiddenSize, GH = config.cell.gates * H
        if let borrowed = recurrentPacking {
            precondition(borrowed.count == config.layers && borrowed.allSatisfy { $0.k == H && $0.n == GH })
            precondition(weights == .fp32 && products == .fp32, "borrowed packing is fp32")
            wh = borrowed
        } else {
            wh = (0..<config.layers).map { _ in PackedMatrix(k: H, n: GH, precision: products, weights: weights) }
        }
        wx = (0..<config.layers).map { k in PackedMatrix(k: k == 0 ? 0 : H, n: GH, precision: products, weights: weights) }
        head = PackedMatrix(k: H, n: config.vocabSize, precision: products, weights: weights)
    }

    /// Packs `p`'s current values.
    func pack(_ p: Parameters) {
        let c = p.config, GH = c.cell.gates * c.hiddenSize
        for k in 0..<c.layers {
            wh[k].pack(p.wh(k), ldb: GH)
            if k > 0 { wx[k].pack(p.wx(k), ldb: GH) }
        }
        head.pack(p.headW, ldb: c.vocabSize)
    }
}
