import Foundation
import RNNModel
import RNNKernels
import RNNText

/// Totals of a scoring pass.
///
/// Unknown characters (ones the model never saw) are skipped by the model (the state does not see them) and
/// each costs a fixed `unknownCharacterBits(vocabularySize:)` = log2(V + 1) bits: the price of naming one of
/// V + 1 symbols, the vocabulary plus an escape. They are counted in `unknown` and included in
/// `allCharacters`, `totalBits`, bits per character and perplexity, so a text is never made cheaper by
/// characters the model cannot predict. With no unknown characters the two views agree.
public struct ScoreTotals: Sendable, Equatable {
    /// Known characters scored by the model.
    public var characters = 0
    /// Their summed loss.
    public var nats = 0.0
    /// Characters not in the vocabulary.
    public var unknown = 0
    /// Their summed fixed cost.
    public var unknownBits = 0.0

    public init() {}

    /// The model's bits over the known characters.
    public var bits: Double { nats / M_LN2 }
    /// Every character, known or not.
    public var allCharacters: Int { characters + unknown }
    /// The model's bits plus the unknown characters' cost.
    public var totalBits: Double { bits + unknownBits }
    /// `totalBits / allCharacters` (0 for an empty text).
    public var bitsPerCharacter: Double { allCharacters > 0 ? totalBits / Double(allCharacters) : 0 }
    /// Per-character perplexity, 2^bpc.
    public var perplexity: Double { pow(2, bitsPerCharacter) }

    public static func + (a: ScoreTotals, b: ScoreTotals) -> ScoreTotals {
        var s = a
        s.characters += b.characters; s.nats += b.nats; s.unknown += b.unknown; s.unknownBits += b.unknownBits
        return s
    }

    public static func - (a: ScoreTotals, b: ScoreTotals) -> ScoreTotals {
        var s = a
        s.characters -= b.characters; s.nats -= b.nats; s.unknown -= b.unknown; s.unknownBits -= b.unknownBits
        return s
    }
}

/// The fixed cost of one character outside a vocabulary of `V` characters: log2(V + 1) bits.
public func unknownCharacterBits(vocabularySize V: Int) -> Double { log2(Double(V + 1)) }

/// Scores one text as a single exact stream from the fresh state: the first character is predicted from the
/// fresh state, every later one from the state after all the characters before it.
///
/// Known characters are buffered into chunks of `Predictor.maxChunk` and scored chunk by chunk, so the result
/// depends only on the text, never on how it arrived (read sizes, pipes).
public final class Scorer {
    public let vocabulary: Vocabulary
    private let predictor: Predictor
    private let V: Int
    private var pending: [Int32] = []
    private var targets: [Int32]
    private var rowLoss: [Double]
    /// Logits predicting the next character.
    private let next: FloatBuffer
    public private(set) var totals = ScoreTotals()
    /// Called with (index, nats) for every scored character, in order, when set.
    public var onCharacter: ((Int32, Double) -> Void)?

    /// `recurrentPacking`: see `Predictor.init`.
    public init(parameters: Parameters, vocabulary: Vocabulary, chunk: Int = 128, recurrentPacking: [PackedMatrix]? = nil) {
        self.vocabulary = vocabulary
        predictor = Predictor(parameters: parameters, maxChunk: chunk, recurrentPacking: recurrentPacking)
        V = parameters.config.vocabSize
        targets = [Int32](repeating: -1, count: chunk)
        rowLoss = [Double](repeating: 0, count: chunk)
        next = FloatBuffer(count: parameters.config.vocabSize)
        pending.reserveCapacity(chunk)
        reset()
    }

    /// Call after changing the parameters this scorer was made with (training between evaluations).
    public func weightsChanged() { predictor.weightsChanged() }

    /// Start a new stream from the fresh state (totals are kept).
    public func reset() {
        pending.removeAll(keepingCapacity: true)
        predictor.reset()
        predictor.initialLogits(into: next.pointer)
    }

    public func feed<S: Sequence>(scalars: S) where S.Element == Unicode.Scalar {
        for s in scalars {
            if let i = vocabulary.index(of: s) {
                push(i)
            } else {
                totals.unknown += 1
                totals.unknownBits += unknownCharacterBits(vocabularySize: V)
            }
        }
    }

    /// Indices already known to be in the vocabulary.
    public func feed(indices: UnsafeBufferPointer<Int32>) {
        for i in indices { push(i) }
    }

    /// Scores whatever is buffered; call at the end of a stream (or wherever exact chunking may change).
    public func flush() {
        guard !pending.isEmpty else { return }
        let C = pending.count
        // the first pending character is predicted by `next`; the rest by the chunk's own rows
        var first = pending[0]
        var firstLoss = 0.0
        totals.nats += SoftmaxCrossEntropy.forward(rows: 1, vocab: V, logits: next.pointer, targets: &first,
                                                   gradScale: nil, rowLoss: &firstLoss)
        pending.withUnsafeBufferPointer { predictor.advance($0.baseAddress!, count: C) }
        for r in 0..<C { targets[r] = r + 1 < C ? pending[r + 1] : -1 }
        // keep the last row: it predicts the character after this chunk
        next.pointer.update(from: predictor.logits.pointer + (C - 1) * V, count: V)
        totals.nats += SoftmaxCrossEntropy.forward(rows: C, vocab: V, logits: predictor.logits.pointer,
                                                   targets: targets, gradScale: nil, rowLoss: &rowLoss)
        totals.characters += C
        if let report = onCharacter {
            report(pending[0], firstLoss)
            for r in 0..<(C - 1) { report(pending[r + 1], rowLoss[r]) }
        }
        pending.removeAll(keepingCapacity: true)
    }

    @inline(__always)
    private func push(_ i: Int32) {
        pending.append(i)
        if pending.count == predictor.maxChunk { flush() }
    }
}
