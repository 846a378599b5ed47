import Foundation
import RNNModel
import RNNKernels
import RNNText

/// One character of a scored text and what it cost.
public struct ScoredCharacter: Sendable, Equatable {
    public var scalar: Unicode.Scalar
    /// -log2 p(character | everything before it), or the fixed unknown cost.
    public var bits: Double
    /// False for a character outside the vocabulary (charged `unknownCharacterBits`).
    public var known: Bool
    /// With `StreamScorer.candidates`: the characters the model found most likely at this position, most
    /// likely first (empty for an unknown character).
    public var candidates: [Candidate] = []
    /// With `StreamScorer.unit`: that unit's activation after this character (an unknown character leaves the
    /// state, and so the activation, as it was).
    public var unit: Float? = nil

    public init(scalar: Unicode.Scalar, bits: Double, known: Bool, candidates: [Candidate] = [], unit: Float? = nil) {
        self.scalar = scalar
        self.bits = bits
        self.known = known
        self.candidates = candidates
        self.unit = unit
    }
}

/// A character and the probability the model gave it.
public struct Candidate: Sendable, Equatable {
    public var scalar: Unicode.Scalar
    public var probability: Double

    public init(scalar: Unicode.Scalar, probability: Double) {
        self.scalar = scalar
        self.probability = probability
    }
}

/// Hidden unit `index` of layer `layer` (both from 0): one component of that layer's h.
public struct HiddenUnit: Sendable, Hashable, CustomStringConvertible {
    public var layer: Int
    public var index: Int
    public init(layer: Int, index: Int) { self.layer = layer; self.index = index }
    /// `L:K`, as `rnn-score --unit` takes it.
    public var description: String { "\(layer):\(index)" }
}

/// Mean and spread of every hidden unit's activation over the characters scored (`rnn-score --unit top`).
public struct UnitStatistics: Sendable {
    public let layers: Int, hidden: Int
    public private(set) var count = 0
    private var sum: [Double], sumOfSquares: [Double]

    init(layers: Int, hidden: Int) {
        self.layers = layers
        self.hidden = hidden
        sum = [Double](repeating: 0, count: layers * hidden)
        sumOfSquares = sum
    }

    /// Adds one character's activations: `h[k]` points at layer k's H values.
    mutating func add(_ h: [UnsafePointer<Float>]) {
        count += 1
        for k in 0..<layers {
            for j in 0..<hidden {
                let v = Double(h[k][j])
                sum[k * hidden + j] += v
                sumOfSquares[k * hidden + j] += v * v
            }
        }
    }

    public func mean(_ u: HiddenUnit) -> Double { count > 0 ? sum[u.layer * hidden + u.index] / Double(count) : 0 }

    /// The standard deviation (population) of the unit's activation.
    public func deviation(_ u: HiddenUnit) -> Double {
        guard count > 0 else { return 0 }
        let m = mean(u)
        return max(0, sumOfSquares[u.layer * hidden + u.index] / Double(count) - m * m).squareRoot()
    }

    /// The `n` units whose activations vary most with the text, most first (ties: lower layer, lower index).
    public func mostVarying(_ n: Int) -> [HiddenUnit] {
        var all: [HiddenUnit] = []
        for k in 0..<layers { for j in 0..<hidden { all.append(HiddenUnit(layer: k, index: j)) } }
        let d = all.map(deviation)
        let order = all.indices.sorted { d[$0] != d[$1] ? d[$0] > d[$1] : $0 < $1 }
        return order.prefix(n).map { all[$0] }
    }
}

/// Dynamic evaluation: the model keeps learning from the text while it scores it.
///
/// The known characters are cut into chunks of `chunk`; each chunk is scored first and then taken as one
/// training step (batch 1, unrolled over the chunk, Adam at `learningRate`, gradients clipped to a global
/// norm of `clip`). So every character is scored by weights that have learned only from the characters before
/// it, and the bits per character are online: a fair measure of what the adapting model would compress.
public struct AdaptOptions: Sendable, Equatable {
    public static let defaultLearningRate = 1e-3
    public static let defaultChunk = 50

    public var learningRate = AdaptOptions.defaultLearningRate
    public var chunk = AdaptOptions.defaultChunk
    public var clip = 5.0

    public init(learningRate: Double = AdaptOptions.defaultLearningRate, chunk: Int = AdaptOptions.defaultChunk) {
        self.learningRate = learningRate
        self.chunk = chunk
    }
}

/// Scores one text stream and reports every character's bits in text order, unknown characters included. The
/// one scorer: `rnn-score` and the trainer's validation both use it, so they agree to the bit.
///
/// It is exact: the first character is predicted from the fresh state, each later one from the state after
/// all known characters before it; unknown characters are skipped by the model and charged
/// `unknownCost`. Known characters are scored in chunks of up to `chunk`; `flush()` scores a partial chunk
/// early (at a line end, for streaming records), which changes only the float rounding, never the model's view.
///
/// With `adapt`, the scorer owns a private copy of the parameters and learns from the text (see
/// `AdaptOptions`); `flush()` then also takes a (shorter) training step, so callers keep the chunking fixed.
public final class StreamScorer {
    public let vocabulary: Vocabulary
    /// Bits charged for each unknown character: log2(V + 1).
    public let unknownCost: Double
    public private(set) var totals = ScoreTotals()
    /// Called for every character, in text order, when its chunk is scored.
    public var onCharacter: ((ScoredCharacter) -> Void)?

    private let parameters: Parameters
    private let predictor: Predictor
    private let chunk: Int
    private let V: Int
    /// Every character since the last flush, known or not, in order.
    private var pending: [Unicode.Scalar] = []
    /// The known ones among them, as indices.
    private var known: [Int32] = []
    private var targets: [Int32]
    private var rowLoss: [Double]
    private var knownBits: [Double]
    /// (V) logits predicting the next known character.
    private let next: FloatBuffer
    private let adaptation: Adaptation?

    /// How many of the most likely characters each scored character reports (`ScoredCharacter.candidates`).
    public var candidates = 0
    /// The unit whose activation each scored character reports (`ScoredCharacter.unit`).
    public var unit: HiddenUnit? {
        didSet {
            precondition(unit.map { $0.layer < parameters.config.layers && $0.index < parameters.config.hiddenSize } ?? true)
            predictor.recordsLayers = unit != nil || unitStatistics != nil
        }
    }
    /// Every unit's activation statistics over the known characters scored, once `collectUnitStatistics()` ran.
    public private(set) var unitStatistics: UnitStatistics?
    private var knownCandidates: [[Candidate]] = []
    private var knownUnit: [Float] = []
    /// The unit's activation after the last known character (0 from the fresh state).
    private var lastUnit: Float = 0

    /// From now on, keep every unit's mean and spread (`unitStatistics`).
    public func collectUnitStatistics() {
        unitStatistics = UnitStatistics(layers: parameters.config.layers, hidden: parameters.config.hiddenSize)
        predictor.recordsLayers = true
    }

    /// What dynamic evaluation keeps between chunks.
    private final class Adaptation {
        let options: AdaptOptions
        let network: Network
        let grads: Parameters
        let optimizer: Optimizer
        /// The state before `previous` was fed: where this chunk's training unroll starts.
        var start: RecurrentState
        /// The state before the current chunk's last character (the next chunk's start).
        var spare: RecurrentState
        /// The last known character of the previous chunk: the first input of this chunk's training rows.
        var previous: Int32?
        var inputs: [Int32]
        var targets: [Int32]
        var rng = Random(seed: 1)

        init(options: AdaptOptions, config: ModelConfig, parameterCount: Int) {
            self.options = options
            network = Network(config: config, batch: 1, steps: options.chunk)
            grads = Parameters(config: config)
            optimizer = Optimizer(kind: .adam, count: parameterCount)
            start = RecurrentState(config: config, batch: 1)
            spare = RecurrentState(config: config, batch: 1)
            inputs = [Int32](repeating: 0, count: options.chunk)
            targets = [Int32](repeating: -1, count: options.chunk)
        }
    }

    /// `parameters` are shared read-only unless `adapt` is given (then they are copied). `recurrentPacking`
    /// (without `adapt`): see `Predictor.init`.
    public init(parameters: Parameters, vocabulary: Vocabulary, chunk: Int = 128, adapt: AdaptOptions? = nil,
                recurrentPacking: [PackedMatrix]? = nil, weights: WeightFormat = .fp32) {
        precondition(adapt == nil || recurrentPacking == nil, "an adapting scorer packs its own weights")
        self.vocabulary = vocabulary
        V = parameters.config.vocabSize
        unknownCost = unknownCharacterBits(vocabularySize: parameters.config.vocabSize)
        if let adapt {
            precondition(adapt.chunk >= 1)
            let own = Parameters(config: parameters.config)
            own.copy(from: parameters)
            self.parameters = own
            self.chunk = adapt.chunk
            adaptation = Adaptation(options: adapt, config: parameters.config, parameterCount: own.count)
        } else {
            self.parameters = parameters
            self.chunk = chunk
            adaptation = nil
        }
        predictor = Predictor(parameters: self.parameters, maxChunk: self.chunk, recurrentPacking: recurrentPacking,
                              weights: weights)
        targets = [Int32](repeating: -1, count: self.chunk)
        rowLoss = [Double](repeating: 0, count: self.chunk)
        knownBits = [Double](repeating: 0, count: self.chunk)
        next = FloatBuffer(count: V)
        predictor.initialLogits(into: next.pointer)
    }

    /// Call after changing the parameters this scorer was made with (training between evaluations).
    public func weightsChanged() { predictor.weightsChanged() }

    /// Flushes, then starts a new stream from the fresh state. Totals are kept; adapted weights too.
    public func reset() {
        flush()
        predictor.reset()
        predictor.initialLogits(into: next.pointer)
        lastUnit = 0
        if let a = adaptation {
            a.start.reset()
            a.previous = nil
        }
    }

    /// Drops whatever is buffered, unscored and unreported (after a read error, before the next stream).
    public func discard() {
        pending.removeAll(keepingCapacity: true)
        known.removeAll(keepingCapacity: true)
    }

    public func feed(_ s: Unicode.Scalar) {
        pending.append(s)
        if let i = vocabulary.index(of: s) {
            known.append(i)
            if known.count == chunk { flush() }
        }
    }

    public func feed<S: Sequence>(_ scalars: S) where S.Element == Unicode.Scalar {
        for s in scalars { feed(s) }
    }

    /// Indices already known to be in the vocabulary (the trainer's validation text).
    public func feed(indices: UnsafeBufferPointer<Int32>) {
        for i in indices {
            pending.append(vocabulary.scalars[Int(i)])
            known.append(i)
            if known.count == chunk { flush() }
        }
    }

    /// Scores everything buffered and reports it; call at the end of a stream.
    public func flush() {
        let n = known.count
        if n > 0 { scoreKnown(n) }
        var k = 0
        var unknownCount = 0
        let reportUnit = unit != nil
        for s in pending {
            if k < n && vocabulary.index(of: s) != nil {
                var c = ScoredCharacter(scalar: s, bits: knownBits[k], known: true)
                if candidates > 0 { c.candidates = knownCandidates[k] }
                if reportUnit { lastUnit = knownUnit[k]; c.unit = lastUnit }
                onCharacter?(c)
                k += 1
            } else {
                unknownCount += 1
                onCharacter?(ScoredCharacter(scalar: s, bits: unknownCost, known: false, unit: reportUnit ? lastUnit : nil))
            }
        }
        totals.unknown += unknownCount
        totals.unknownBits += Double(unknownCount) * unknownCost
        pending.removeAll(keepingCapacity: true)
        known.removeAll(keepingCapacity: true)
    }

    /// Scores the n buffered known characters into `knownBits` (and learns from them when adapting).
    private func scoreKnown(_ n: Int) {
        // the first is predicted by `next`, the rest by the chunk's own rows
        var first = known[0], firstLoss = 0.0
        var nats = SoftmaxCrossEntropy.forward(rows: 1, vocab: V, logits: next.pointer, targets: &first,
                                               gradScale: nil, rowLoss: &firstLoss)
        knownBits[0] = firstLoss / M_LN2
        if candidates > 0 {
            knownCandidates.removeAll(keepingCapacity: true)
            knownCandidates.append(mostLikely(next.pointer))
        }
        knownUnit.removeAll(keepingCapacity: true)
        // rows 0..<n-1 predict known[1..<n]; the last character runs apart so that the state before it can be
        // kept for the next training unroll
        let head = adaptation != nil ? n - 1 : n
        if head > 0 {
            known.withUnsafeBufferPointer { predictor.advance($0.baseAddress!, count: head) }
            for r in 0..<head { targets[r] = r + 1 < n ? known[r + 1] : -1 }
            nats += SoftmaxCrossEntropy.forward(rows: head, vocab: V, logits: predictor.logits.pointer,
                                                targets: targets, gradScale: nil, rowLoss: &rowLoss)
            for r in 0..<min(head, n - 1) { knownBits[r + 1] = rowLoss[r] / M_LN2 }
            if candidates > 0 {
                for r in 0..<min(head, n - 1) { knownCandidates.append(mostLikely(predictor.logits.pointer + r * V)) }
            }
            recordLayers(rows: head)
            next.pointer.update(from: predictor.logits.pointer + (head - 1) * V, count: V)
        }
        if let a = adaptation {
            predictor.copyState(to: a.spare)
            known.withUnsafeBufferPointer { predictor.advance($0.baseAddress! + (n - 1), count: 1) }
            recordLayers(rows: 1)
            next.pointer.update(from: predictor.logits.pointer, count: V)
            learn(a, n)
        }
        totals.nats += nats
        totals.characters += n
    }

    /// The chosen unit's activation and every unit's statistics for the `rows` characters just advanced.
    private func recordLayers(rows: Int) {
        guard predictor.recordsLayers else { return }
        let H = parameters.config.hiddenSize
        for r in 0..<rows {
            if let u = unit { knownUnit.append(predictor.layerOutputs[u.layer].pointer[r * H + u.index]) }
            if unitStatistics != nil {
                unitStatistics!.add(predictor.layerOutputs.map { UnsafePointer($0.pointer + r * H) })
            }
        }
    }

    /// The `candidates` most likely characters under `logits` (V), with their softmax probabilities.
    private func mostLikely(_ logits: UnsafePointer<Float>) -> [Candidate] {
        likeliestCharacters(logits, vocabulary: vocabulary, count: candidates)
    }

    /// One training step on the characters just scored: inputs [previous, known[0..<n-1]] from the state
    /// before `previous`, targets known[0..<n] (without a previous character the first one has no input).
    private func learn(_ a: Adaptation, _ n: Int) {
        var m = 0
        if let p = a.previous {
            a.inputs[0] = p
            for i in 0..<n { a.targets[i] = known[i] }
            for i in 1..<max(n, 1) { a.inputs[i] = known[i - 1] }
            m = n
        } else {
            for i in 0..<(n - 1) { a.inputs[i] = known[i]; a.targets[i] = known[i + 1] }
            m = n - 1
        }
        // rows past m are padding: input 0, not scored
        for i in m..<a.options.chunk { a.inputs[i] = 0; a.targets[i] = -1 }
        if m > 0 {
            a.grads.buffer.zero()
            _ = a.network.run(parameters: parameters, inputs: a.inputs, targets: a.targets, state: a.start,
                              grads: a.grads, scoredRows: m, rng: &a.rng)
            let norm = gradientNorm(a.grads)
            if a.options.clip > 0 && norm > a.options.clip { scaleGradients(a.grads, by: Float(a.options.clip / norm)) }
            if norm.isFinite {
                a.optimizer.update(parameters: parameters, gradients: a.grads, learningRate: Float(a.options.learningRate))
                predictor.weightsChanged()
            }
        }
        // the next unroll starts before this chunk's last character
        swap(&a.start, &a.spare)
        a.previous = known[n - 1]
    }
}

/// The `count` most likely characters of `vocabulary` under `logits` (V), with their softmax probabilities,
/// most likely first (ties: the lower index).
func likeliestCharacters(_ logits: UnsafePointer<Float>, vocabulary: Vocabulary, count: Int) -> [Candidate] {
    let V = vocabulary.count
    var m = logits[0]
    for j in 1..<V where logits[j] > m { m = logits[j] }
    var p = [Double](repeating: 0, count: V), sum = 0.0
    for j in 0..<V {
        p[j] = exp(Double(logits[j] - m))
        sum += p[j]
    }
    var out: [Candidate] = []
    var taken = Set<Int>()
    for _ in 0..<min(count, V) {
        var best = -1
        for j in 0..<V where !taken.contains(j) && (best < 0 || p[j] > p[best]) { best = j }
        taken.insert(best)
        out.append(Candidate(scalar: vocabulary.scalars[best], probability: p[best] / sum))
    }
    return out
}
