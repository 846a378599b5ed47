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
    /// `singleRowRecurrent`: the recurrent products are all of one row (one stream), so 16-bit weights keep no
    /// fp32 copy of wh (`PackedMatrix.init(singleRow:)`).
    init(config: ModelConfig, weights: WeightFormat, products: Precision = .fp32, recurrentPacking: [PackedMatrix]? = nil,
         singleRowRecurrent: Bool = false) {
        let H = config.hiddenSize, GH = config.cell.gates * H
        if let borrowed = recurrentPacking {
            precondition(borrowed.count == config.layers && borrowed.allSatisfy { $0.k == H && $0.n == GH })
            precondition(weights == .fp32 && products == .fp32, "borrowed packing is fp32")
            wh = borrowed
        } else {
            wh = (0..<config.layers).map { _ in
                PackedMatrix(k: H, n: GH, precision: products, weights: weights, singleRow: singleRowRecurrent)
            }
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

extension PackedWeights {
    /// The input part of layer k for `rows` rows into z (rows, G·H): x·wx + b, or with layer normalisation
    /// LN(x·wx) ⊙ gx + b. Layer 0 looks its rows up by `inputs`; a layer above multiplies `below` (rows, H).
    func inputPart(_ p: Parameters, layer k: Int, rows: Int, inputs: UnsafePointer<Int32>,
                   below: UnsafePointer<Float>, into z: UnsafeMutablePointer<Float>) {
        let c = p.config, G = c.cell.gates, H = c.hiddenSize, GH = G * H
        if c.layerNorm { z.update(repeating: 0, count: rows * GH) } else { broadcastRows(rows: rows, cols: GH, p.b(k), into: z) }
        if k == 0 {
            gatherAddRows(rows: rows, cols: GH, table: p.wx(0), indices: inputs, into: z)
        } else {
            matmul(m: rows, a: below, lda: H, packed: wx[k], c: z, ldc: GH, accumulate: !c.layerNorm)
        }
        if c.layerNorm {
            LayerNorm.forward(rows: rows, blocks: G, width: H, z, rstd: nil, gain: p.gx(k), bias: p.b(k), into: z, accumulate: false)
        }
    }

    /// The recurrent part of one step of layer k for `rows` rows, h (rows, H) times wh, or with layer
    /// normalisation LN(h·wh) ⊙ gh, stored into or added to `c` (rows, G·H). `scratch` (rows, G·H) holds the
    /// product before it is normalised; it may be `c` itself when not accumulating.
    func recurrentPart(_ p: Parameters, layer k: Int, rows: Int, h: UnsafePointer<Float>,
                       scratch: UnsafeMutablePointer<Float>, into c: UnsafeMutablePointer<Float>, accumulate: Bool) {
        let config = p.config, G = config.cell.gates, H = config.hiddenSize, GH = G * H
        guard config.layerNorm else {
            matmul(m: rows, a: h, lda: H, packed: wh[k], c: c, ldc: GH, accumulate: accumulate)
            return
        }
        matmul(m: rows, a: h, lda: H, packed: wh[k], c: scratch, ldc: GH, accumulate: false)
        LayerNorm.forward(rows: rows, blocks: G, width: H, scratch, rstd: nil, gain: p.gh(k), into: c, accumulate: accumulate)
    }
}
