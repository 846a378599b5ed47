import Foundation
import RNNModel
import RNNKernels
import RNNText

/// Scores B text streams at once on one `BatchPredictor`: the batched twin of `StreamScorer`, with the same
/// accounting (each known character costs -log2 of the probability the model gave it after the known
/// characters before it in its stream; unknown characters are skipped by the model and cost `unknownCost`).
///
/// The caller feeds each stream its characters in order (`feed`), may mark where a stream starts a new text
/// from the fresh state (`endText`), and calls `step()` (one chunk of up to `maxSteps` known characters per
/// stream) or `flush()` (until everything fed is scored). Characters fed with `scored: false` (burn-in) run
/// through the model, so the state after them is as if they had been scored, but are neither counted nor
/// reported. `onCharacter` reports each scored character with its stream, in each stream's text order.
public final class BatchScorer {
    /// Rows (streams × steps) of one chunk at most: bounds the chunk's buffers (T·B·G·H floats).
    public static let chunkRows = 2048

    public let vocabulary: Vocabulary
    public let streams: Int
    /// Bits charged for each unknown character: log2(V + 1).
    public let unknownCost: Double
    /// Per stream, what it scored so far.
    public private(set) var totals: [ScoreTotals]
    /// Called for every scored character with its stream, in that stream's text order.
    public var onCharacter: ((Int, ScoredCharacter) -> Void)?
    /// How many of the most likely characters each scored character reports (`ScoredCharacter.candidates`).
    public var candidates = 0

    private let predictor: BatchPredictor
    private let parameters: Parameters
    private let T: Int, V: Int
    /// Per stream: characters fed and not yet reported, from `head[b]` on.
    private var pending: [[Entry]]
    private var head: [Int]
    /// Per stream, the known characters among them.
    private var knownCount: [Int]
    /// Per stream (V): the logits predicting its next known character.
    private let next: FloatBuffer
    private var inputs: [Int32]
    private var kinds: [StepKind]
    private var used: [Int]

    private struct Entry {
        /// The vocabulary index, `unknown`, or `textEnd` (a marker, not a character).
        var index: Int32
        var scalar: Unicode.Scalar
        var scored: Bool
        static let unknown: Int32 = -1
        static let textEnd: Int32 = -2
    }

    /// `parameters` are shared read-only. `maxSteps`: known characters per stream and chunk (default: as many
    /// as fit `chunkRows`, at most 128).
    /// `weights`: the format the predictor holds the weights in (`Predictor.init`); `products`: the precision
    /// of its products of 2 or more rows (`BatchPredictor.init`).
    public init(parameters: Parameters, vocabulary: Vocabulary, streams: Int, maxSteps: Int? = nil,
                weights: WeightFormat = .fp32, products: Precision = .fp32) {
        precondition(streams >= 1)
        self.parameters = parameters
        self.vocabulary = vocabulary
        self.streams = streams
        V = parameters.config.vocabSize
        T = maxSteps ?? max(1, min(128, BatchScorer.chunkRows / streams))
        unknownCost = unknownCharacterBits(vocabularySize: V)
        predictor = BatchPredictor(parameters: parameters, streams: streams, maxSteps: T, weights: weights, products: products)
        totals = Array(repeating: ScoreTotals(), count: streams)
        pending = Array(repeating: [], count: streams)
        head = Array(repeating: 0, count: streams)
        knownCount = Array(repeating: 0, count: streams)
        next = FloatBuffer(count: streams * V)
        inputs = [Int32](repeating: 0, count: T * streams)
        kinds = [StepKind](repeating: .idle, count: T * streams)
        used = [Int](repeating: 0, count: streams)
        for b in 0..<streams { predictor.initialLogits(into: next.pointer + b * V) }
    }

    /// Known characters fed to stream `b` and not yet run through the model.
    public func pendingKnown(stream b: Int) -> Int { knownCount[b] }

    /// Characters (known or not) fed to stream `b` and not yet reported.
    public func pendingCount(stream b: Int) -> Int { pending[b].count - head[b] }

    /// The most known characters per stream that one `step()` takes.
    public var maxSteps: Int { T }

    public func feed(_ s: Unicode.Scalar, stream b: Int, scored: Bool = true) {
        if let i = vocabulary.index(of: s) {
            pending[b].append(Entry(index: i, scalar: s, scored: scored))
            knownCount[b] += 1
        } else {
            pending[b].append(Entry(index: Entry.unknown, scalar: s, scored: scored))
        }
    }

    /// What follows in stream `b` is a new text: it starts from the fresh state.
    public func endText(stream b: Int) {
        pending[b].append(Entry(index: Entry.textEnd, scalar: " ", scored: false))
    }

    /// Every stream back to the fresh state, with nothing pending; totals are kept.
    public func reset() {
        for b in 0..<streams {
            pending[b].removeAll(keepingCapacity: true)
            head[b] = 0
            knownCount[b] = 0
            predictor.initialLogits(into: next.pointer + b * V)
        }
        predictor.reset()
    }

    /// Scores everything fed.
    public func flush() {
        while step() {}
    }

    /// Runs one chunk: up to `maxSteps` known characters of every stream through the model, reporting them
    /// (and the unknown characters among them) in order. When no stream has a known character left, reports
    /// the remaining unknown characters, applies the remaining text ends, and returns false.
    @discardableResult
    public func step() -> Bool {
        let B = streams
        var steps = 0
        for b in 0..<B {
            var i = head[b], t = 0, fresh = false
            let entries = pending[b]
            while i < entries.count && t < T {
                let e = entries[i]
                if e.index >= 0 {
                    inputs[t * B + b] = e.index
                    kinds[t * B + b] = fresh ? .resetAndFeed : .feed
                    fresh = false
                    t += 1
                } else if e.index == Entry.textEnd {
                    fresh = true
                }
                i += 1
            }
            used[b] = t
            steps = max(steps, t)
        }
        if steps == 0 {
            finishPending()
            return false
        }
        for b in 0..<B where used[b] < steps {
            for t in used[b]..<steps {
                inputs[t * B + b] = 0
                kinds[t * B + b] = .idle
            }
        }
        inputs.withUnsafeBufferPointer { x in
            kinds.withUnsafeBufferPointer { k in predictor.advance(x.baseAddress!, kinds: k.baseAddress!, steps: steps) }
        }
        let lg = predictor.logits.pointer, headB = parameters.headB
        for b in 0..<B where used[b] > 0 {
            let nextB = next.pointer + b * V
            var i = head[b], t = 0, fresh = false
            var nats = 0.0, characters = 0, unknown = 0
            while t < used[b] {
                let e = pending[b][i]
                i += 1
                if e.index == Entry.unknown {
                    if e.scored {
                        unknown += 1
                        onCharacter?(b, ScoredCharacter(scalar: e.scalar, bits: unknownCost, known: false))
                    }
                    continue
                }
                if e.index == Entry.textEnd { fresh = true; continue }
                // the character at step t is predicted by the logits before it: the fresh state's after a
                // text end, the previous chunk's last row at t = 0, else row t - 1
                if e.scored {
                    let predicting = fresh ? headB : t == 0 ? nextB : lg + ((t - 1) * B + b) * V
                    var target = e.index, rowNats = 0.0
                    _ = SoftmaxCrossEntropy.forward(rows: 1, vocab: V, logits: predicting, targets: &target,
                                                    gradScale: nil, rowLoss: &rowNats)
                    nats += rowNats
                    characters += 1
                    if let report = onCharacter {
                        var c = ScoredCharacter(scalar: e.scalar, bits: rowNats / M_LN2, known: true)
                        if candidates > 0 { c.candidates = likeliestCharacters(predicting, vocabulary: vocabulary, count: candidates) }
                        report(b, c)
                    }
                }
                fresh = false
                t += 1
            }
            nextB.update(from: lg + ((used[b] - 1) * B + b) * V, count: V)
            totals[b].nats += nats
            totals[b].characters += characters
            totals[b].unknown += unknown
            totals[b].unknownBits += Double(unknown) * unknownCost
            knownCount[b] -= used[b]
            head[b] = i
            if head[b] >= 4096 && head[b] * 2 >= pending[b].count {
                pending[b].removeFirst(head[b])
                head[b] = 0
            }
        }
        return true
    }

    /// With no known character pending: the unknown ones are reported, text ends start the fresh state.
    private func finishPending() {
        for b in 0..<streams {
            var unknown = 0
            for e in pending[b][head[b]...] {
                if e.index == Entry.textEnd {
                    predictor.reset(stream: b)
                    predictor.initialLogits(into: next.pointer + b * V)
                } else if e.scored {
                    unknown += 1
                    onCharacter?(b, ScoredCharacter(scalar: e.scalar, bits: unknownCost, known: false))
                }
            }
            totals[b].unknown += unknown
            totals[b].unknownBits += Double(unknown) * unknownCost
            pending[b].removeAll(keepingCapacity: true)
            head[b] = 0
        }
    }
}
