import Foundation
import RNNModel
import RNNKernels
import RNNText

/// How to turn logits into the next character.
public struct SamplingOptions: Sendable, Equatable {
    /// Divides the logits; 0 means always the most likely character.
    public var temperature: Double = 1
    /// Keep only the K most likely characters (0: all).
    public var topK: Int = 0
    /// Keep the smallest set of most likely characters whose probability reaches P (1: all).
    public var topP: Double = 1

    public init(temperature: Double = 1, topK: Int = 0, topP: Double = 1) {
        self.temperature = temperature
        self.topK = topK
        self.topP = topP
    }
}

/// Draws character indices from logits. Like llama2.c's `sample(probabilities, coin)`, it takes its random
/// number as an argument instead of drawing it, so the same logits, options and coin always give the same
/// character (and tests can choose the coin).
public struct Sampler {
    public var options: SamplingOptions
    private var probs: [Double] = []
    private var order: [Int] = []

    public init(options: SamplingOptions) { self.options = options }

    /// The character for `coin`, uniform in [0, 1): with the kept probabilities p_j (temperature, top-k, top-p)
    /// laid end to end in index order, the one whose interval holds `coin`·Σp. Temperature 0 is the argmax
    /// (the lowest index among equal logits) and ignores the coin.
    public mutating func sample(logits: UnsafePointer<Float>, count V: Int, coin: Double) -> Int32 {
        var best = 0
        for j in 1..<V where logits[j] > logits[best] { best = j }
        if options.temperature == 0 { return Int32(best) }
        // p_j ∝ exp((l_j - max) / T), in Double so tiny probabilities keep their share
        if probs.count != V { probs = [Double](repeating: 0, count: V); order = Array(0..<V) }
        let m = Double(logits[best]), t = options.temperature
        for j in 0..<V { probs[j] = exp((Double(logits[j]) - m) / t) }
        if options.topK > 0 || options.topP < 1 {
            // most likely first; ties by index so the order is fixed
            for j in 0..<V { order[j] = j }
            order.sort { probs[$0] != probs[$1] ? probs[$0] > probs[$1] : $0 < $1 }
            var keep = V
            if options.topK > 0 { keep = min(keep, options.topK) }
            if options.topP < 1 {
                let total = probs.reduce(0, +)
                var cumulative = 0.0
                for (rank, j) in order.prefix(keep).enumerated() {
                    cumulative += probs[j]
                    if cumulative >= options.topP * total { keep = rank + 1; break }
                }
            }
            for j in order[keep...] { probs[j] = 0 }
        }
        let total = probs.reduce(0, +)
        var u = coin * total
        var last = best
        for j in 0..<V where probs[j] > 0 {
            u -= probs[j]
            if u < 0 { return Int32(j) }
            last = j
        }
        // rounding left a sliver of u (a coin just below 1): the last kept character's interval holds it
        return Int32(last)
    }
}

/// Streams characters from a model, one at a time, optionally after a prime text.
public final class Generator {
    public let vocabulary: Vocabulary
    private let predictor: Predictor
    private var sampler: Sampler
    private var rng: Random
    private let next: FloatBuffer
    private var input: Int32 = 0

    public init(model: Model, options: SamplingOptions, seed: UInt64, weights: WeightFormat = .fp32) {
        vocabulary = model.vocabulary
        predictor = Predictor(parameters: Parameters(model: model), maxChunk: 128, weights: weights)
        sampler = Sampler(options: options)
        rng = Random(seed: seed)
        next = FloatBuffer(count: model.config.vocabSize)
        predictor.initialLogits(into: next.pointer)
    }

    /// Feeds known character indices (the prime) so that sampling continues after them.
    public func prime(_ indices: [Int32]) {
        let V = predictor.config.vocabSize
        var i = 0
        while i < indices.count {
            let n = min(predictor.maxChunk, indices.count - i)
            indices.withUnsafeBufferPointer { predictor.advance($0.baseAddress! + i, count: n) }
            // the chunk's last row predicts what follows it
            next.pointer.update(from: predictor.logits.pointer + (n - 1) * V, count: V)
            i += n
        }
    }

    /// Samples the next character and feeds it back.
    public func nextCharacter() -> Unicode.Scalar {
        // one draw per character, whatever the options, so a seed's stream of coins never depends on them
        let j = sampler.sample(logits: next.pointer, count: predictor.config.vocabSize, coin: rng.nextDouble())
        input = j
        predictor.advance(&input, count: 1)
        next.pointer.update(from: predictor.logits.pointer, count: predictor.config.vocabSize)
        return vocabulary.scalars[Int(j)]
    }
}
