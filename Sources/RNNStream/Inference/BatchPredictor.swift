import RNNModel
import RNNKernels

/// What one stream does at one step of a `BatchPredictor` chunk.
public enum StepKind: UInt8, Sendable {
    /// Nothing: the stream's state stays as it was (its row is computed and ignored).
    case idle = 0
    /// Feed the step's input from the carried state.
    case feed = 1
    /// Start from the fresh (zero) state, then feed the step's input.
    case resetAndFeed = 2
}

/// B independent streams sharing one set of weights, advanced together: at each step the recurrent product is
/// one (B, H)·(H, G·H) matrix product with the packed `wh` (the same `matmul` and cell kernels as `Predictor`
/// and `Network`), so the weights are streamed once per step for all B streams instead of once per stream.
///
/// A chunk of T steps runs layer by layer over its T·B rows, time-major (row t·B + b is stream b at step t):
/// the first layer's input is a row lookup, upper layers get their input projection as one (T·B, H)·(H, G·H)
/// product, the recurrence runs per step over the B rows, and the head is one (T·B, H)·(H, V) product. A
/// stream may sit out a step (`StepKind.idle`: its state is kept) or start afresh at it (`.resetAndFeed`), so
/// streams of different lengths, and several texts one after the other in one stream, share a chunk.
///
/// With B = 1 it computes what `Predictor` does; for B > 1 the products sum in another order, so the bits
/// agree within float rounding, not exactly.
public final class BatchPredictor {
    public let config: ModelConfig
    public let parameters: Parameters
    /// B, the number of streams.
    public let streams: Int
    /// T, the most steps of one chunk.
    public let maxSteps: Int
    private let G: Int, H: Int, V: Int, L: Int

    private let h: [FloatBuffer]       // per layer (B, H), the carried state
    private let c: [FloatBuffer]       // LSTM: per layer (B, H)
    private let z: FloatBuffer         // (T·B, G·H) pre-activations of the current layer
    private let zh: FloatBuffer        // (B, G·H) GRU recurrent part of one step, or the product before LN
    private let outs: [FloatBuffer]    // two (T·B, H) buffers: layer outputs, ping-ponged between layers
    private let scratchC: FloatBuffer  // (B, H) LSTM new c
    /// (T·B, V) logits of the last chunk: row t·B + b predicts what follows stream b's input at step t.
    public let logits: FloatBuffer
    // packed copies of the weights: per layer wh (H, G·H) and wx (H, G·H) (layer 0's wx is a lookup), head.w
    private let packed: PackedWeights

    /// `weights`: the format the packed weights are rounded to (`WeightFormat`; products of B ≥ 2 rows use
    /// the rounded fp32 values, one stream the 16-bit copy), as in `Predictor`. `products` .bf16 (needs
    /// CPU.hasBF16): products of B ≥ 2 rows multiply in bf16, the states rounded to bf16 as they are packed
    /// (faster where bf16 is, `CPU.bf16IsFast`; the scores move a little, see rnn-score(1)).
    public init(parameters: Parameters, streams: Int, maxSteps: Int, weights: WeightFormat = .fp32,
                products: Precision = .fp32) {
        precondition(products.isSupported, "bf16 products on a CPU without AVX512_BF16")
        precondition(streams >= 1 && maxSteps >= 1)
        config = parameters.config
        self.parameters = parameters
        self.streams = streams
        self.maxSteps = maxSteps
        let config = parameters.config
        G = config.cell.gates; H = config.hiddenSize; V = config.vocabSize; L = config.layers
        let B = streams, GH = G * H, rows = maxSteps * streams
        h = (0..<L).map { _ in FloatBuffer(count: B * config.hiddenSize) }
        c = config.cell == .lstm ? (0..<L).map { _ in FloatBuffer(count: B * config.hiddenSize) } : []
        z = FloatBuffer(count: rows * GH)
        zh = FloatBuffer(count: config.cell == .gru || config.layerNorm ? B * GH : 0)
        outs = [FloatBuffer(count: rows * H), FloatBuffer(count: rows * H)]
        scratchC = FloatBuffer(count: B * H)
        logits = FloatBuffer(count: rows * V)
        packed = PackedWeights(config: config, weights: weights, products: products)
        weightsChanged()
    }

    /// Packs the current `parameters` again; call after changing them.
    public func weightsChanged() { packed.pack(parameters) }

    /// Every stream back to the fresh state.
    public func reset() {
        for b in h { b.zero() }
        for b in c { b.zero() }
    }

    /// Stream `b` back to the fresh state.
    public func reset(stream b: Int) {
        for buf in h + c { (buf.pointer + b * H).update(repeating: 0, count: H) }
    }

    /// Writes the logits predicting a stream's first character from the fresh state into `out` (V): `head.b`.
    public func initialLogits(into out: UnsafeMutablePointer<Float>) {
        out.update(from: parameters.headB, count: V)
    }

    /// Runs `steps` ≤ maxSteps steps. `inputs` and `kinds` are (steps, B), time-major: the character index
    /// stream b reads at step t (any valid index when idle) and what it does there. Afterwards row t·B + b of
    /// `logits` predicts the character after that input (meaningless for an idle step).
    public func advance(_ inputs: UnsafePointer<Int32>, kinds: UnsafePointer<StepKind>, steps T: Int) {
        precondition(T >= 1 && T <= maxSteps)
        let p = parameters, B = streams, GH = G * H, rows = T * B, zp = z.pointer
        for k in 0..<L {
            let out = outs[k & 1].pointer, below = outs[(k + 1) & 1].pointer
            // zx = x·wx + b for the whole chunk (LN(x·wx) ⊙ gx + b with layer normalisation)
            packed.inputPart(p, layer: k, rows: rows, inputs: inputs, below: below, into: zp)
            // the recurrence, one step (B rows) at a time
            let hk = h[k].pointer, ck = c.isEmpty ? nil : c[k].pointer, zs = zh.pointer
            for t in 0..<T {
                let zt = zp + t * B * GH, ht = out + t * B * H, kt = kinds + t * B
                var allFeed = true
                for b in 0..<B {
                    switch kt[b] {
                    case .feed: break
                    case .idle: allFeed = false
                    case .resetAndFeed:
                        (hk + b * H).update(repeating: 0, count: H)
                        ck.map { ($0 + b * H).update(repeating: 0, count: H) }
                    }
                }
                switch config.cell {
                case .rnn:
                    packed.recurrentPart(p, layer: k, rows: B, h: hk, scratch: zs, into: zt, accumulate: true)
                    RNNCell.forward(rows: B, hidden: H, z: zt, h: ht)
                case .lstm:
                    packed.recurrentPart(p, layer: k, rows: B, h: hk, scratch: zs, into: zt, accumulate: true)
                    LSTMCell.forward(rows: B, hidden: H, z: zt, cPrev: ck!, c: scratchC.pointer, h: ht)
                case .gru:
                    packed.recurrentPart(p, layer: k, rows: B, h: hk, scratch: zs, into: zs, accumulate: false)
                    GRUCell.forward(rows: B, hidden: H, zx: zt, zh: zs, bhn: p.bhn(k), hPrev: hk, h: ht)
                }
                // the new state of every stream that fed; an idle one keeps its own
                if allFeed {
                    hk.update(from: ht, count: B * H)
                    ck?.update(from: scratchC.pointer, count: B * H)
                } else {
                    for b in 0..<B where kt[b] != .idle {
                        (hk + b * H).update(from: ht + b * H, count: H)
                        ck.map { ($0 + b * H).update(from: scratchC.pointer + b * H, count: H) }
                    }
                }
            }
        }
        // head: logits = top·head.w + head.b
        let top = outs[(L - 1) & 1].pointer, lg = logits.pointer
        broadcastRows(rows: rows, cols: V, p.headB, into: lg)
        matmul(m: rows, a: top, lda: H, packed: packed.head, c: lg, ldc: V, accumulate: true)
    }
}
