import RNNKernels
import RNNText

/// The carried recurrent state of B streams: per layer h (B, H) and, for an LSTM, c (B, H).
public final class RecurrentState {
    public let batch: Int
    public let hidden: Int
    public let h: [FloatBuffer]
    public let c: [FloatBuffer]

    public init(config: ModelConfig, batch: Int) {
        self.batch = batch
        hidden = config.hiddenSize
        h = (0..<config.layers).map { _ in FloatBuffer(count: batch * config.hiddenSize) }
        c = config.cell == .lstm ? (0..<config.layers).map { _ in FloatBuffer(count: batch * config.hiddenSize) } : []
    }

    /// Zero the state of every stream.
    public func reset() {
        for b in h { b.zero() }
        for b in c { b.zero() }
    }

    /// Zero the state of stream `b` only.
    public func reset(stream b: Int) {
        for buf in h + c { (buf.pointer + b * hidden).update(repeating: 0, count: hidden) }
    }
}

/// Training-time forward and backward over one chunk of T steps for B streams (truncated BPTT).
///
/// Rows are time-major: row `t·B + b` is stream b at step t. The big products run over all T·B rows at once
/// (input projections of layers above the first, the output head and their gradients, and the recurrent
/// weight gradient); only `h_prev·wh` and its transpose run per step, at batch size.
public final class Network {
    public let config: ModelConfig
    public let batch: Int
    public let steps: Int
    /// Dropout probability applied to each layer's output (between layers and before the head).
    public var dropout: Float = 0

    private let G: Int, H: Int, V: Int, L: Int

    // Per layer, T·B rows each unless noted.
    // Backward writes each step's gradients over that step's activations (the cell kernels read a row's
    // values before they store its gradients), so the gradient buffers alias the forward ones.
    private var act: [FloatBuffer]      // (T·B, G·H) pre-activations, then activations, then dz
    private var zh: [FloatBuffer]       // GRU: (T·B, 3H) recurrent part, n-block holds hn, then dzh
    private var hs: [FloatBuffer]       // ((T+1)·B, H) block 0 the carried state, block t+1 = h_t
    private var cs: [FloatBuffer]       // LSTM: ((T+1)·B, H)
    private var mask: [FloatBuffer]     // dropout: (T·B, H) 0 or 1/(1-p)
    private var dropped: [FloatBuffer]  // dropout: (T·B, H) h ⊙ mask, the input of the next layer or head
    // Layer normalisation (config.layerNorm), per layer: the normalised input part x̂ (T·B, G·H) and its 1/σ
    // per block (T·B, G), the same for the recurrent part; backward overwrites x̂ and r̂ with the gradients
    // at the products x·wx and h·wh.
    private let xhat: [FloatBuffer], xstd: [FloatBuffer]
    private let rhat: [FloatBuffer], rstd: [FloatBuffer]
    private let lnPartials: FloatBuffer  // LayerNorm.backward's partial gain gradients, for up to T·B rows
    private let logits: FloatBuffer     // (T·B, V), then dlogits
    private let dOut: FloatBuffer       // (T·B, H) gradient at a layer's output
    private let dh: FloatBuffer         // (B, H) gradient flowing to h_prev
    private let dc: FloatBuffer         // (B, H) LSTM cell gradient
    private let dhDirect: FloatBuffer   // (B, H) GRU direct path z ⊙ dh
    // Per layer, the recurrent weights packed once per run for the per-step products: wh (H, G·H) for the
    // forward h_prev·wh, whᵀ (G·H, H) for the backward dz·whᵀ.
    // `run` fills packedWh from the parameters at every call; validation borrows it between calls.
    package let packedWh: [PackedMatrix]
    private let packedWhT: [PackedMatrix]

    /// The precision of the matrix products of 2 or more rows (fp32, or bf16 where `Precision.isSupported`);
    /// weights, gradients, cells and loss are fp32 either way.
    public let precision: Precision

    public init(config: ModelConfig, batch: Int, steps: Int, precision: Precision = .fp32) {
        precondition(precision.isSupported, "\(precision) products are not supported on this CPU")
        self.config = config
        self.precision = precision
        self.batch = batch
        self.steps = steps
        let G = config.cell.gates, H = config.hiddenSize, V = config.vocabSize, L = config.layers
        self.G = G; self.H = H; self.V = V; self.L = L
        let TB = steps * batch
        let gru = config.cell == .gru, lstm = config.cell == .lstm
        act = (0..<L).map { _ in FloatBuffer(count: TB * G * H) }
        zh = gru ? (0..<L).map { _ in FloatBuffer(count: TB * G * H) } : []
        hs = (0..<L).map { _ in FloatBuffer(count: (steps + 1) * batch * H) }
        cs = lstm ? (0..<L).map { _ in FloatBuffer(count: (steps + 1) * batch * H) } : []
        mask = []
        dropped = []
        let ln = config.layerNorm
        xhat = ln ? (0..<L).map { _ in FloatBuffer(count: TB * G * H) } : []
        xstd = ln ? (0..<L).map { _ in FloatBuffer(count: TB * G) } : []
        rhat = ln ? (0..<L).map { _ in FloatBuffer(count: TB * G * H) } : []
        rstd = ln ? (0..<L).map { _ in FloatBuffer(count: TB * G) } : []
        lnPartials = FloatBuffer(count: ln ? LayerNorm.partialsCount(rows: TB, cols: G * H) : 0)
        logits = FloatBuffer(count: TB * V)
        dOut = FloatBuffer(count: TB * H)
        dh = FloatBuffer(count: batch * H)
        dc = FloatBuffer(count: batch * H)
        dhDirect = FloatBuffer(count: batch * H)
        packedWh = (0..<L).map { _ in PackedMatrix(k: H, n: G * H, precision: precision) }
        packedWhT = (0..<L).map { _ in PackedMatrix(k: G * H, n: H, precision: precision) }
    }

    private func ensureDropoutBuffers() {
        if mask.isEmpty {
            mask = (0..<L).map { _ in FloatBuffer(count: steps * batch * H) }
            dropped = (0..<L).map { _ in FloatBuffer(count: steps * batch * H) }
        }
    }

    /// The T·B-row input of layer k > 0, or of the head when k == L.
    private func layerInput(_ k: Int, dropping: Bool) -> UnsafeMutablePointer<Float> {
        dropping ? dropped[k - 1].pointer : hs[k - 1].pointer + batch * H
    }

    /// Runs T steps from `state` (which is advanced to the end state) and returns the summed loss in nats over
    /// the scored rows. When `grads` is given, also backpropagates the mean loss into it (accumulating: the
    /// caller zeroes it once per step). Targets < 0 are not scored.
    public func run(
        parameters p: Parameters, inputs: UnsafePointer<Int32>, targets: UnsafePointer<Int32>,
        state: RecurrentState, grads: Parameters?, scoredRows: Int, rng: inout Random
    ) -> Double {
        let B = batch, T = steps, TB = T * B, GH = G * H
        let training = grads != nil
        let dropping = training && dropout > 0
        if dropping { ensureDropoutBuffers() }
        let ln = config.layerNorm

        /// Step t's recurrent part h_prev·wh of layer k (with layer normalisation LN(h_prev·wh) ⊙ gh, r̂ and
        /// its 1/σ kept) stored into, or added to, `c` (B, G·H).
        func recurrent(_ k: Int, _ t: Int, hPrev: UnsafePointer<Float>, into c: UnsafeMutablePointer<Float>,
                       accumulate: Bool) {
            guard ln else {
                matmul(m: B, a: hPrev, lda: H, packed: packedWh[k], c: c, ldc: GH, accumulate: accumulate)
                return
            }
            let rt = rhat[k].pointer + t * B * GH
            matmul(m: B, a: hPrev, lda: H, packed: packedWh[k], c: rt, ldc: GH, accumulate: false)
            LayerNorm.forward(rows: B, blocks: G, width: H, rt, rstd: rstd[k].pointer + t * B * G, gain: p.gh(k),
                              into: c, accumulate: accumulate)
        }

        // Forward, layer by layer over the whole chunk.
        for k in 0..<L {
            let a = act[k].pointer, hk = hs[k].pointer
            hk.update(from: state.h[k].pointer, count: B * H)
            if config.cell == .lstm { cs[k].pointer.update(from: state.c[k].pointer, count: B * H) }
            // zx = x·wx + b for all T·B rows (LN(x·wx) ⊙ gx + b with layer normalisation); x is one-hot for
            // layer 0, so x·wx is the row wx[x]
            let wx = p.wx(k), bias = p.b(k)
            let xw = ln ? xhat[k].pointer : a
            if ln { xw.update(repeating: 0, count: TB * GH) } else { broadcastRows(rows: TB, cols: GH, bias, into: a) }
            if k == 0 {
                gatherAddRows(rows: TB, cols: GH, table: wx, indices: inputs, into: xw)
            } else {
                matmul(m: TB, n: GH, k: H, a: layerInput(k, dropping: dropping), lda: H, b: wx, ldb: GH,
                       c: xw, ldc: GH, accumulate: !ln, precision: precision)
            }
            if ln {
                LayerNorm.forward(rows: TB, blocks: G, width: H, xw, rstd: xstd[k].pointer, gain: p.gx(k), bias: bias,
                                  into: a, accumulate: false)
            }
            packedWh[k].pack(p.wh(k), ldb: GH)
            for t in 0..<T {
                let hPrev = hk + t * B * H, hNext = hk + (t + 1) * B * H, at = a + t * B * GH
                switch config.cell {
                case .rnn:
                    recurrent(k, t, hPrev: hPrev, into: at, accumulate: true)
                    RNNCell.forward(rows: B, hidden: H, z: at, h: hNext)
                case .lstm:
                    let ck = cs[k].pointer
                    recurrent(k, t, hPrev: hPrev, into: at, accumulate: true)
                    LSTMCell.forward(rows: B, hidden: H, z: at, cPrev: ck + t * B * H, c: ck + (t + 1) * B * H, h: hNext)
                case .gru:
                    let zt = zh[k].pointer + t * B * GH
                    recurrent(k, t, hPrev: hPrev, into: zt, accumulate: false)
                    GRUCell.forward(rows: B, hidden: H, zx: at, zh: zt, bhn: p.bhn(k), hPrev: hPrev, h: hNext)
                }
            }
            state.h[k].pointer.update(from: hk + T * B * H, count: B * H)
            if config.cell == .lstm { state.c[k].pointer.update(from: cs[k].pointer + T * B * H, count: B * H) }
            if dropping {
                // inverted dropout: keep with probability 1-p and scale by 1/(1-p)
                RNNKernels.dropout(count: TB * H, keep: 1 - dropout, rng: &rng, mask: mask[k].pointer,
                                   src: hk + B * H, out: dropped[k].pointer)
            }
        }

        // Output head over all rows: logits = top·head.w + head.b
        let top = layerInput(L, dropping: dropping)
        let lg = logits.pointer
        broadcastRows(rows: TB, cols: V, p.headB, into: lg)
        matmul(m: TB, n: V, k: H, a: top, lda: H, b: p.headW, ldb: V, c: lg, ldc: V, accumulate: true, precision: precision)
        let scale: Float? = training ? 1 / Float(max(scoredRows, 1)) : nil
        let loss = SoftmaxCrossEntropy.forward(rows: TB, vocab: V, logits: lg, targets: targets, gradScale: scale)
        guard let g = grads else { return loss }

        // Backward. Head: dW += topᵀ·dlogits, db += Σ dlogits, dtop = dlogits·head.wᵀ
        matmulAT(m: H, n: V, k: TB, a: top, lda: H, b: lg, ldb: V, c: g.headW, ldc: V, accumulate: true, precision: precision)
        columnSum(rows: TB, cols: V, lg, into: g.headB)
        matmulBT(m: TB, n: H, k: V, a: lg, lda: V, b: p.headW, ldb: V, c: dOut.pointer, ldc: H, accumulate: false, precision: precision)

        for k in stride(from: L - 1, through: 0, by: -1) {
            let a = act[k].pointer, hk = hs[k].pointer, dzk = act[k].pointer, d = dOut.pointer
            if dropping { multiplyInPlace(d, mask[k].pointer, count: TB * H) }
            dh.zero()
            dc.zero()
            let whT = packedWhT[k]
            whT.pack(transposeOf: p.wh(k), ldbt: GH)
            /// The gradient at step t's recurrent part (dz, or for a GRU dzh) back through layer normalisation:
            /// dgh accumulates, and the gradient at h_prev·wh replaces r̂. Returns where that gradient is.
            func recurrentGradient(_ t: Int, _ dRec: UnsafeMutablePointer<Float>) -> UnsafeMutablePointer<Float> {
                guard ln else { return dRec }
                let rt = rhat[k].pointer + t * B * GH
                LayerNorm.backward(rows: B, blocks: G, width: H, dy: dRec, gain: p.gh(k), rstd: rstd[k].pointer + t * B * G,
                                   xhatInDzOut: rt, dGain: g.gh(k), partials: lnPartials.pointer)
                return rt
            }
            for t in stride(from: T - 1, through: 0, by: -1) {
                // total gradient at h_t: from above (or the head) plus from step t+1
                let dht = d + t * B * H
                addInPlace(dht, dh.pointer, count: B * H)
                let hPrev = hk + t * B * H, dzt = dzk + t * B * GH
                switch config.cell {
                case .rnn:
                    RNNCell.backward(rows: B, hidden: H, h: hk + (t + 1) * B * H, dh: dht, dz: dzt)
                    matmul(m: B, a: recurrentGradient(t, dzt), lda: GH, packed: whT, c: dh.pointer, ldc: H, accumulate: false)
                case .lstm:
                    let ck = cs[k].pointer
                    LSTMCell.backward(rows: B, hidden: H, act: a + t * B * GH, cPrev: ck + t * B * H,
                                      c: ck + (t + 1) * B * H, dh: dht, dc: dc.pointer, dz: dzt)
                    matmul(m: B, a: recurrentGradient(t, dzt), lda: GH, packed: whT, c: dh.pointer, ldc: H, accumulate: false)
                case .gru:
                    let dzht = zh[k].pointer + t * B * GH
                    GRUCell.backward(rows: B, hidden: H, act: a + t * B * GH, zh: zh[k].pointer + t * B * GH,
                                     hPrev: hPrev, dh: dht, dzx: dzt, dzh: dzht, dhPrev: dhDirect.pointer)
                    dh.copy(from: dhDirect)
                    matmul(m: B, a: recurrentGradient(t, dzht), lda: GH, packed: whT, c: dh.pointer, ldc: H, accumulate: true)
                }
            }
            // Recurrent weights, one product per chunk: dwh += [h_0 … h_{T-1}]ᵀ · d(h·wh)
            let dzRec = config.cell == .gru ? zh[k].pointer : dzk
            let dProduct = ln ? rhat[k].pointer : dzRec
            matmulAT(m: H, n: GH, k: TB, a: hk, lda: H, b: dProduct, ldb: GH, c: g.wh(k), ldc: GH, accumulate: true, precision: precision)
            columnSum(rows: TB, cols: GH, dzk, into: g.b(k))
            if config.cell == .gru {
                // dbhn = Σ dzh_n (the n-block)
                columnSum(rows: TB, cols: H, dzRec + 2 * H, ld: GH, into: g.bhn(k))
            }
            // the gradient at x·wx: dz itself, or back through layer normalisation (dgx accumulates)
            var dx = dzk
            if ln {
                LayerNorm.backward(rows: TB, blocks: G, width: H, dy: dzk, gain: p.gx(k), rstd: xstd[k].pointer,
                                   xhatInDzOut: xhat[k].pointer, dGain: g.gx(k), partials: lnPartials.pointer)
                dx = xhat[k].pointer
            }
            if k == 0 {
                // one-hot input: scatter-add each row of dz into the row of wx it selected
                scatterAddRows(rows: TB, cols: GH, dx, indices: inputs, into: g.wx(0))
            } else {
                let x = layerInput(k, dropping: dropping)
                matmulAT(m: H, n: GH, k: TB, a: x, lda: H, b: dx, ldb: GH, c: g.wx(k), ldc: GH, accumulate: true, precision: precision)
                // gradient at the layer below's output
                matmulBT(m: TB, n: H, k: GH, a: dx, lda: GH, b: p.wx(k), ldb: GH, c: dOut.pointer, ldc: H, accumulate: false, precision: precision)
            }
        }
        return loss
    }
}
