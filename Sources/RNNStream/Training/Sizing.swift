import Foundation
import RNNModel
import RNNKernels

/// `rnn-fit --time` sizes the model to the time and the text when `--hidden`, `--layers` or `--dropout` is not
/// given (explicit options always win). The rule, measured on tiny-shakespeare (rnn-fit(1), "MODEL SIZE", and
/// ARCHITECTURE.md, "Sizing to the time"):
///
///     rate(w)  = training characters per second of width w on this machine, measured (`measureRate`)
///     chars(w) = rate(w) · budget                    what the run would see
///     width    = the widest w with chars(w) >= 3 · parameters(w)   (the narrowest when none passes)
///     epochs   = chars(width) / training characters  (passes over the text)
///     dropout  = 0 below 5 epochs, 0.1 below 10, 0.2 from 10 on    (0 for a stream: it is seen once)
///
/// A model that sees fewer than ~3 characters per parameter is still far from what its size could learn, and a
/// smaller one trained longer wins; a model that sees the text many times starts to learn it by heart, and
/// dropout keeps it honest.
public enum Sizing {
    /// The widths tried, narrowest first (the rates fall as the width grows, so the probe stops at the first
    /// width that fails the rule).
    public static let widths = [128, 256, 384, 512, 768]
    /// Layers when `--layers` is not given.
    public static let defaultLayers = 2
    /// The fewest training characters per parameter a width must be able to see in the budget.
    public static let minimumCharactersPerParameter = 3.0
    /// Dropout by passes over the training text: the first step whose `below` exceeds the epochs.
    public static let dropoutSteps: [(below: Double, dropout: Double)] = [(5, 0), (10, 0.1)]
    public static let dropoutAfterSteps = 0.2
    /// Seconds of training steps timed per width (after one untimed warm-up step).
    public static let probeSeconds = 0.3

    /// The widths and layers `rnn-fit` chose, and what it measured to choose them.
    public struct Choice: Sendable, Equatable {
        public var hiddenSize: Int
        public var layers: Int
        public var dropout: Double
        public var parameters: Int
        /// Measured training characters per second of the chosen size.
        public var charactersPerSecond: Double
        /// What the budget buys at that rate.
        public var estimatedCharacters: Double
        /// Passes over the training text (nil for a stream).
        public var estimatedEpochs: Double?
        /// Seconds spent measuring.
        public var probeSeconds: Double

        /// One line for stderr and the `sizing` metadata.
        public var summary: String {
            let epochs = estimatedEpochs.map { String(format: ", %.1f epochs", $0) } ?? ""
            return String(format: "%dx%d, dropout %g: %.0f chars/s measured, ~%.2gM characters in the budget "
                          + "(%.1f per parameter%@)", layers, hiddenSize, dropout, charactersPerSecond,
                          estimatedCharacters / 1e6, estimatedCharacters / Double(parameters), epochs)
        }
    }

    /// The dropout for a run that makes `epochs` passes over its text (nil: a stream, seen once).
    public static func dropout(epochs: Double?) -> Double {
        guard let epochs else { return 0 }
        return dropoutSteps.first { epochs < $0.below }?.dropout ?? dropoutAfterSteps
    }

    /// Chooses a width from `widths` (narrowest first) and dropout for `budget` seconds: `measure` gives a width's
    /// (parameters, characters per second) and is called for each width until one fails the rule.
    /// `dropout` not nil: the user's, kept.
    public static func choose(widths: [Int], layers: Int, dropout given: Double?, budget: Double,
                              trainCharacters: Int?, measure: (Int) -> (parameters: Int, rate: Double)) -> Choice {
        precondition(!widths.isEmpty)
        var chosen: (width: Int, parameters: Int, rate: Double)? = nil
        for w in widths {
            let (parameters, rate) = measure(w)
            let passes = rate * budget >= minimumCharactersPerParameter * Double(parameters)
            if chosen == nil || passes { chosen = (w, parameters, rate) }
            if !passes { break }
        }
        let c = chosen!
        let chars = c.rate * budget
        let epochs = trainCharacters.map { chars / Double(max($0, 1)) }
        return Choice(hiddenSize: c.width, layers: layers, dropout: given ?? dropout(epochs: epochs),
                      parameters: c.parameters, charactersPerSecond: c.rate, estimatedCharacters: chars,
                      estimatedEpochs: epochs, probeSeconds: 0)
    }

    /// Training characters per second of `config` at `batch`×`seq` on this machine: one untimed step (the first
    /// pays for page faults and packing), then steps until `probeSeconds` (at least two). Forward, backward and
    /// dropout as in training; the optimizer's update, a small share of a step, is left out.
    public static func measureRate(config: ModelConfig, batch: Int, seq: Int, precision: Precision,
                                   dropout: Double) -> Double {
        let params = Parameters(config: config), grads = Parameters(config: config)
        var rng = Random(seed: 1)
        for i in 0..<params.count { params.pointer[i] = (rng.nextFloat() - 0.5) * 0.1 }
        let network = Network(config: config, batch: batch, steps: seq, precision: precision)
        network.dropout = Float(dropout)
        let state = RecurrentState(config: config, batch: batch)
        let inputs = (0..<batch * seq).map { _ in Int32(rng.next() % UInt64(config.vocabSize)) }
        let targets = (0..<batch * seq).map { _ in Int32(rng.next() % UInt64(config.vocabSize)) }
        func step() {
            grads.buffer.zero()
            _ = network.run(parameters: params, inputs: inputs, targets: targets, state: state, grads: grads,
                            scoredRows: batch * seq, rng: &rng)
        }
        step()
        let start = Date()
        var steps = 0
        repeat {
            step()
            steps += 1
        } while steps < 2 || Date().timeIntervalSince(start) < probeSeconds
        return Double(steps * batch * seq) / max(Date().timeIntervalSince(start), 1e-9)
    }
}
