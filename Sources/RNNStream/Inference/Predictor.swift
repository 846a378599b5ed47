import RNNModel
import RNNKernels
import RNNText

/// One stream at batch 1: feeds characters through the layers, carrying the state, and yields the logits that
/// predict each next character. Used by rnn-gen (one character at a time), rnn-score and validation (chunks).
///
/// A chunk of C characters runs layer by layer: the first layer's input is a row lookup, upper layers get their
/// input projection as one (C, In)·(In, G·H) product, the recurrent product runs per character as a
/// vector-matrix product streaming `wh` once, and the head is one (C, H)·(H, V) product.
///
/// The weights it multiplies by are kept packed (`PackedMatrix`), which a batch-1 product streams faster than
/// the row-major tensors. Whoever changes `parameters` (training, `--adapt`) calls `weightsChanged()` before the
/// next `advance`.
public final class Predictor {
    public let config: ModelConfig
    public let parameters: Parameters
    public let maxChunk: Int
    private let G: Int, H: Int, V: Int, L: Int

    private let h: [FloatBuffer]       // per layer (H), the carried state
    private let c: [FloatBuffer]       // LSTM: per layer (H)
    private let z: FloatBuffer         // (C, G·H) pre-activations of the current layer
    private let zh: FloatBuffer        // (G·H) GRU recurrent part of one step, or the product before LN
    private let outs: [FloatBuffer]    // two (C, H) buffers: layer outputs, ping-ponged between layers
    private let scratchC: FloatBuffer  // (H) LSTM new c
    /// (C, V) logits of the last chunk: row i predicts the character after input i.
    public let logits: FloatBuffer
    /// With `recordsLayers`, per layer (C, H): row i is that layer's h after input i of the last chunk (what
    /// `rnn-score --unit` shows); empty otherwise.
    public private(set) var layerOutputs: [FloatBuffer] = []
    /// Keep every layer's outputs of each chunk in `layerOutputs`.
    public var recordsLayers = false {
        didSet {
            layerOutputs = recordsLayers ? (0..<L).map { _ in FloatBuffer(count: maxChunk * H) } : []
        }
    }
    // packed copies of the weights: per layer wh (H, G·H) and wx (In, G·H) (layer 0's wx is a lookup), head.w
    private let packed: PackedWeights
    /// The format the packed weights are held in.
    public var weights: WeightFormat { packed.head.weights }

    /// `recurrentPacking`: storage for the packed `wh` of each layer to borrow instead of owning a copy (the
    /// trainer lends its network's, which the network packs again at its next step anyway). `weights`: the
    /// format the packed recurrent, input (above the first layer) and output weights are held in
    /// (`WeightFormat`); layer 0's input rows are looked up in fp32.
    public init(parameters: Parameters, maxChunk: Int = 128, recurrentPacking: [PackedMatrix]? = nil,
                weights: WeightFormat = .fp32) {
        config = parameters.config
        self.parameters = parameters
        self.maxChunk = maxChunk
        let config = parameters.config
        G = config.cell.gates; H = config.hiddenSize; V = config.vocabSize; L = config.layers
        h = (0..<config.layers).map { _ in FloatBuffer(count: config.hiddenSize) }
        c = config.cell == .lstm ? (0..<config.layers).map { _ in FloatBuffer(count: config.hiddenSize) } : []
        z = FloatBuffer(count: maxChunk * config.cell.gates * config.hiddenSize)
        zh = FloatBuffer(count: config.cell.gates * config.hiddenSize)
        outs = [FloatBuffer(count: maxChunk * config.hiddenSize), FloatBuffer(count: maxChunk * config.hiddenSize)]
        scratchC = FloatBuffer(count: config.hiddenSize)
        logits = FloatBuffer(count: maxChunk * config.vocabSize)
        packed = PackedWeights(config: config, weights: weights, recurrentPacking: recurrentPacking,
                               singleRowRecurrent: true)
        weightsChanged()
    }

    /// Packs the current `parameters` again; call after changing them.
    public func weightsChanged() { packed.pack(parameters) }

    /// Back to the fresh state (all zeros).
    public func reset() {
        for b in h { b.zero() }
        for b in c { b.zero() }
    }

    /// Copies the carried state into stream 0 of `state` (batch 1 or more).
    public func copyState(to state: RecurrentState) {
        for k in 0..<L {
            state.h[k].pointer.update(from: h[k].pointer, count: H)
            if !c.isEmpty { state.c[k].pointer.update(from: c[k].pointer, count: H) }
        }
    }

    /// Makes stream 0 of `state` the carried state.
    public func setState(from state: RecurrentState) {
        for k in 0..<L {
            h[k].pointer.update(from: state.h[k].pointer, count: H)
            if !c.isEmpty { c[k].pointer.update(from: state.c[k].pointer, count: H) }
        }
    }

    /// Writes the logits predicting the first character from the fresh state into `out` (V): with h = 0 they
    /// are `head.b`.
    public func initialLogits(into out: UnsafeMutablePointer<Float>) {
        out.update(from: parameters.headB, count: V)
    }

    /// Feeds `count` ≤ maxChunk character indices (all known to the vocabulary); afterwards row i of `logits`
    /// predicts the character that follows input i.
    public func advance(_ inputs: UnsafePointer<Int32>, count C: Int) {
        precondition(C >= 1 && C <= maxChunk)
        let p = parameters, GH = G * H, zp = z.pointer
        for k in 0..<L {
            let out = outs[k & 1].pointer, below = outs[(k + 1) & 1].pointer
            // zx = x·wx + b for the whole chunk (LN(x·wx) ⊙ gx + b with layer normalisation)
            packed.inputPart(p, layer: k, rows: C, inputs: inputs, below: below, into: zp)
            // the recurrence, one character at a time
            let hk = h[k].pointer, zs = zh.pointer
            for t in 0..<C {
                let zt = zp + t * GH, ht = out + t * H
                switch config.cell {
                case .rnn:
                    packed.recurrentPart(p, layer: k, rows: 1, h: hk, scratch: zs, into: zt, accumulate: true)
                    RNNCell.forward(rows: 1, hidden: H, z: zt, h: ht)
                case .lstm:
                    packed.recurrentPart(p, layer: k, rows: 1, h: hk, scratch: zs, into: zt, accumulate: true)
                    LSTMCell.forward(rows: 1, hidden: H, z: zt, cPrev: c[k].pointer, c: scratchC.pointer, h: ht)
                    c[k].copy(from: scratchC)
                case .gru:
                    packed.recurrentPart(p, layer: k, rows: 1, h: hk, scratch: zs, into: zs, accumulate: false)
                    GRUCell.forward(rows: 1, hidden: H, zx: zt, zh: zh.pointer, bhn: p.bhn(k), hPrev: hk, h: ht)
                }
                hk.update(from: ht, count: H)
            }
            if recordsLayers { layerOutputs[k].pointer.update(from: out, count: C * H) }
        }
        // head: logits = top·head.w + head.b
        let top = outs[(L - 1) & 1].pointer, lg = logits.pointer
        broadcastRows(rows: C, cols: V, p.headB, into: lg)
        matmul(m: C, a: top, lda: H, packed: packed.head, c: lg, ldc: V, accumulate: true)
    }
}
