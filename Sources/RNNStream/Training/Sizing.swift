import Foundation
import RNNModel
import RNNKernels

/// `rnn-fit --time` sizes the model to the time and the text when `--cell`, `--hidden`, `--layers`, `--dropout`,
/// `--weight-drop`, `--layer-norm`, `--batch` or `--lr` is not given (explicit options always win). The rule,
/// measured on tiny-shakespeare (rnn-fit(1), "Model size", and ARCHITECTURE.md, "Sizing to the time"):
///
///     cell     = a GRU                               (`defaultCell`)
///     layer normalisation on                         (`layerNorm`)
///     rate(w)  = training characters per second of width w on this machine, measured (`measureRate`)
///     chars(w) = rate(w) · budget                    what the run would see
///     width    = the widest w with chars(w) >= 5 · parameters(w)   (the narrowest when none passes)
///     epochs   = chars(width) / training characters  (passes over the text)
///     dropout  = 0 below 3 epochs, 0.1 below 15, 0.3 from 15 on    (0 for a stream: it is seen once)
///     weight drop = 0.3 from 15 epochs on, else 0    (0 for a stream)
///     short    = chars(width) < 15M                  (an LSTM 2x512 hour, 21M, did worse with the short rule)
///     batch    = 32 when short (LSTM), else the default 50           (more, smaller updates)
///     lr       = adam's default × 12 (LSTM), × 4 (GRU) or × 2 (RNN) when short; × 2 (GRU) when long
///     steps    = chars(width) / (batch · seq)
///
/// A model that sees fewer than ~5 characters per parameter is still far from what its size could learn, and a
/// smaller one trained longer wins; a model that sees the text many times starts to learn it by heart, and
/// dropout keeps it honest. A short run is limited by its number of updates, not by what it sees: smaller batches
/// and a much larger rate buy more progress per second (the runs behind the numbers are in rnn-fit(1)).
public enum Sizing {
    /// The widths tried, narrowest first (the rates fall as the width grows, so the probe stops at the first
    /// width that fails the rule).
    public static let widths = [128, 256, 384, 512, 768]
    /// Layers when `--layers` is not given.
    public static let defaultLayers = 2
    /// The fewest training characters per parameter a width must be able to see in the budget. 3 chose a GRU 2x512
    /// for 15 minutes on a Zen 3 (3.0 expected, 2.7 seen): 2.131 val bpc, where 2x384 in the same 15 minutes
    /// (7.8 seen) reached 2.117 (rnn-fit(1), "Model size").
    public static let minimumCharactersPerParameter = 5.0
    /// Dropout by passes over the training text: the first step whose `below` exceeds the epochs.
    /// 0.1 up to 15 passes, was 10: with --ema (the default), 15 minutes of a GRU 2x384 on a Zen 3 (11.0 passes
    /// expected, 8.3 made) reached 2.104 val bpc at 0.3, where 0.1 (9.7 expected, 8.8 made) had reached 2.087.
    /// 0.1 from 3 passes, was 5: 5 minutes of a GRU 2x256 with layer norm (4.6 passes expected) reached 2.074 val
    /// bpc at 0.1 against 2.057 at 0, but did better on all three plays it never saw (First Folio Hamlet 3.164
    /// against 3.296, where the PyTorch recipe's 15 minutes reach 3.210). Below 3 passes it is not measured.
    public static let dropoutSteps: [(below: Double, dropout: Double)] = [(3, 0), (15, 0.1)]
    /// 0.3, was 0.2: 15 minutes of a GRU 2x384 on a Zen 3 (12.5 passes expected, 9.7 made) reached 2.112 val bpc at
    /// 0.3 against 2.117 at 0.2 (without --ema), and did better on all three unseen plays (First Folio Hamlet 3.190
    /// against 3.254); an hour of a GRU 2x512 (18.7M characters, 18.7 passes) reached 2.098 at 0.3 with weight drop.
    public static let dropoutAfterSteps = 0.3
    /// Weight drop (`WeightDrop`, `--weight-drop`) for a run that makes at least `weightDropFromEpochs` passes: an
    /// hour of a GRU 2x512 on a Zen 3 (dropout 0.3, weight drop 0.3, 0.004, --ema; 18.7M characters) reached 2.098
    /// val bpc, where the LSTM 2x512 without it had reached 2.114 and the GRU 2x512 at dropout 0.2 (no --ema) 2.128.
    /// Its validation ended 0.17 bits above its training loss (the GRU at 0.2: 0.58, when it stopped early).
    public static let weightDropRate = 0.3
    public static let weightDropFromEpochs = 15.0
    /// A run expected to train on fewer characters than this is short: it gets `shortRun`'s batch (when --batch is
    /// not given) and learning-rate factor (when --lr is not given), else `longRunRateFactor`. 15M, was 20M: an hour
    /// of a GRU 2x512 on a Zen 3 trained on 18.7M characters this afternoon (its probe may read less), and a GRU
    /// 2x512 at the short run's 0.008 (dropout 0.5) diverged: its training loss rose from 2.49 to 3.87 bits per
    /// character between 2.2M and 4.5M characters. 15 minutes estimated 9.7M to 12M characters there.
    public static let shortRunCharacters = 15e6

    /// The cell when `--cell` is not given. In the same time and on the same characters, a GRU beat the LSTM at its
    /// best measured settings (rnn-fit(1), "Model size"): 5 minutes' worth of 2x256 (4.8M characters), 2.139 val bpc
    /// (batch 50, 0.008) against 2.201 (batch 32, 0.024); 15 minutes' worth of 2x384 (8M characters), 2.112 (dropout
    /// 0.2, batch 50, 0.008) against 2.120, in 1,135 s against 1,261 s. The hour too, with weight drop: a GRU 2x512
    /// (dropout 0.3, weight drop 0.3, 0.004, --ema) reached 2.098 where the LSTM 2x512 (dropout 0.3, 0.002, --ema)
    /// had reached 2.114, and did better on all three plays it never saw (First Folio Hamlet 3.085 against 3.250).
    public static let defaultCell = CellKind.gru
    /// Layer normalisation (`LayerNorm`, `--layer-norm`) when it is not asked for or against. With it, on a Zen 3
    /// (rnn-fit(1), "Model size"): 15 minutes of a GRU 2x384 reached 2.035 val bpc (2.094 without), 5 minutes of a
    /// GRU 2x256 2.057 (2.125), the hour of a GRU 2x512 2.053 (2.098), though a character costs up to ~6% more time
    /// (7-17% before its loops were fused). Later 15 minutes at the defaults: 2.044 at 11.0k chars/s.
    public static let layerNorm = true

    /// A short run's batch (nil: the run's) and multiple of the default learning rate, by cell, with adam (the
    /// only optimizer measured; the others keep their rates). 5 minutes' worth of 2x256 (rnn-fit(1), "Model
    /// size"): the LSTM does best at batch 32 and 0.024 (2.201 val bpc; 0.012: 2.217, 0.036: 2.247); a GRU at
    /// batch 50 and 0.008 (2.139; 0.004: 2.148; batch 32 and 0.008: 2.146, and 0.024: 2.457); an RNN at batch 50
    /// and 0.004 (2.552; batch 32 and 0.024: 4.854).
    public static func shortRun(cell: CellKind, optimizer: OptimizerKind) -> (batch: Int?, rateFactor: Double) {
        guard optimizer == .adam else { return (nil, 1) }
        switch cell {
        case .lstm: return (32, 12)
        case .gru: return (nil, 4)
        case .rnn: return (nil, 2)
        }
    }
    /// A long run's multiple of the default learning rate, with adam: 2 for a GRU (its hour, 2x512 with dropout and
    /// weight drop 0.3, reached 2.098 at 0.004; the same model at 0.008 with dropout 0.5 diverged), else 1 (an
    /// LSTM 2x512's hour did best at 0.002: 2.120 against 2.173 at 0.024).
    public static func longRunRateFactor(cell: CellKind, optimizer: OptimizerKind) -> Double {
        optimizer == .adam && cell == .gru ? 2 : 1
    }
    /// What a whole run sustains, as a share of `measureRate`'s short probe; the estimates the rule uses are
    /// probe × this. It differs by machine and cell: 0.77 on 2026-12-03's Xeon (2x256 LSTM probed at 19.7-21.6k
    /// chars/s, sustained 15.2-16.6k), 0.90-0.97 for the LSTM on an EPYC (Zen 3) and 1.12-1.18 for the GRU there
    /// (2x256 probed at 23.7k, sustained 26.5k for 5 minutes; 2x384 12.0k, sustained 14.1k for 15). At 0.77 that
    /// 15-minute GRU expected 8.3 passes over the text and got dropout 0.1 where it made 12.0 (0.2 did better on
    /// the same model: 2.112 against 2.125 val bpc over 8M characters), so the probe is taken as it is.
    public static let sustainedShare = 1.0
    /// Training steps timed per width, at least (after one untimed warm-up step), and seconds, at least.
    public static let probeSteps = 5
    public static let probeSeconds = 0.5

    /// The widths and layers `rnn-fit` chose, and what it measured to choose them.
    public struct Choice: Sendable, Equatable {
        public var cell: CellKind
        public var hiddenSize: Int
        public var layers: Int
        public var dropout: Double
        /// `--weight-drop`'s fraction (`WeightDrop`).
        public var weightDrop: Double
        /// Layer normalisation (`--layer-norm`), as measured.
        public var layerNorm: Bool
        /// Streams per step (the run's, or `shortRun`'s for a short run that left it to rnn-fit).
        public var batch: Int
        public var parameters: Int
        /// Training characters per second expected of the chosen size (measured × `sustainedShare`).
        public var charactersPerSecond: Double
        /// What the budget buys at that rate.
        public var estimatedCharacters: Double
        /// Passes over the training text (nil for a stream).
        public var estimatedEpochs: Double?
        /// Updates the budget buys.
        public var estimatedSteps: Double
        /// A multiple of the optimizer's default learning rate (1 unless the run is short).
        public var rateFactor: Double
        /// Seconds spent measuring.
        public var probeSeconds: Double
        /// Short of updates, not of text: fewer characters in the budget than `shortRunCharacters`, so the run got
        /// `shortRun`'s batch and rate.
        public var isShort: Bool

        /// One line for stderr and the `sizing` metadata.
        public var summary: String {
            let epochs = estimatedEpochs.map { String(format: ", %.1f epochs", $0) } ?? ""
            let rate = rateFactor == 1 ? "" : String(format: ", learning rate %gx", rateFactor)
            let drop = weightDrop == 0 ? "" : String(format: ", weight drop %g", weightDrop)
            return String(format: "%@ %dx%d%@, dropout %g%@, batch %d%@: %.0f chars/s expected, ~%.2gM characters in the budget "
                          + "(%.1f per parameter%@, %.0f steps)", cell.rawValue, layers, hiddenSize,
                          layerNorm ? " with layer norm" : "", dropout, drop, batch, rate,
                          charactersPerSecond,
                          estimatedCharacters / 1e6, estimatedCharacters / Double(parameters), epochs, estimatedSteps)
        }
    }

    /// The dropout for a run that makes `epochs` passes over its text (nil: a stream, seen once).
    public static func dropout(epochs: Double?) -> Double {
        guard let epochs else { return 0 }
        return dropoutSteps.first { epochs < $0.below }?.dropout ?? dropoutAfterSteps
    }

    /// The weight drop for a run that makes `epochs` passes over its text (nil: a stream, seen once).
    public static func weightDrop(epochs: Double?) -> Double {
        guard let epochs, epochs >= weightDropFromEpochs else { return 0 }
        return weightDropRate
    }

    /// Chooses a width from `widths` (narrowest first), dropout and weight drop for `budget` seconds of `cell`
    /// (`defaultCell` when nil): `measure` gives a cell's and width's (parameters, characters per second) and is
    /// called for each width until one fails the rule.
    /// `dropout`, `weightDrop` not nil: the user's, kept. `batch`, `seq`: the run's, at which `measure` probes.
    /// `rateGiven`, `batchGiven`: the user gave --lr or --batch (the factor stays 1, the batch stays `batch`).
    /// `layerNorm`: whether the models `measure` probes normalise (recorded in the choice).
    public static func choose(widths: [Int], layers: Int, layerNorm: Bool = false, dropout given: Double?, weightDrop givenDrop: Double? = 0,
                              rateGiven: Bool = false, cell: CellKind? = .lstm, optimizer: OptimizerKind = .adam,
                              batch: Int, batchGiven: Bool = false, seq: Int, budget: Double, trainCharacters: Int?,
                              measure: (CellKind, Int) -> (parameters: Int, rate: Double)) -> Choice {
        precondition(!widths.isEmpty)
        let cell = cell ?? defaultCell
        var chosen: (width: Int, parameters: Int, rate: Double)? = nil
        for w in widths {
            let (parameters, probed) = measure(cell, w)
            let rate = probed * sustainedShare
            let passes = rate * budget >= minimumCharactersPerParameter * Double(parameters)
            if chosen == nil || passes { chosen = (w, parameters, rate) }
            if !passes { break }
        }
        let c = chosen!
        let chars = c.rate * budget
        let epochs = trainCharacters.map { chars / Double(max($0, 1)) }
        let short = chars < shortRunCharacters
        let rule = shortRun(cell: cell, optimizer: optimizer)
        // a smaller batch trains at nearly the probed rate (2x256 here: 16.4k chars/s at 32, 17.0k at 50)
        let runBatch = short && !batchGiven ? min(batch, rule.batch ?? batch) : batch
        let steps = chars / Double(max(runBatch * seq, 1))
        let factor = short ? rule.rateFactor : longRunRateFactor(cell: cell, optimizer: optimizer)
        return Choice(cell: cell, hiddenSize: c.width, layers: layers, dropout: given ?? dropout(epochs: epochs),
                      weightDrop: givenDrop ?? weightDrop(epochs: epochs), layerNorm: layerNorm, batch: runBatch,
                      parameters: c.parameters, charactersPerSecond: c.rate, estimatedCharacters: chars,
                      estimatedEpochs: epochs, estimatedSteps: steps,
                      rateFactor: rateGiven ? 1 : factor, probeSeconds: 0, isShort: short)
    }

    /// Training characters per second of `config` at `batch`×`seq` on this machine: one untimed step (the first
    /// pays for page faults and packing), then at least `probeSteps` timed steps and at least `probeSeconds`,
    /// their mean time giving the rate (a median read up to half again faster than real runs: steps vary). A step is
    /// training's: forward, backward and dropout, the gradients' norm and the optimizer's update.
    public static func measureRate(config: ModelConfig, batch: Int, seq: Int, precision: Precision,
                                   dropout: Double, optimizer kind: OptimizerKind = .adam) -> Double {
        let params = Parameters(config: config), grads = Parameters(config: config)
        var rng = Random(seed: 1)
        for i in 0..<params.count { params.pointer[i] = (rng.nextFloat() - 0.5) * 0.1 }
        let network = Network(config: config, batch: batch, steps: seq, precision: precision)
        network.dropout = Float(dropout)
        let state = RecurrentState(config: config, batch: batch)
        let optimizer = Optimizer(kind: kind, count: params.count)
        let inputs = (0..<batch * seq).map { _ in Int32(rng.next() % UInt64(config.vocabSize)) }
        let targets = (0..<batch * seq).map { _ in Int32(rng.next() % UInt64(config.vocabSize)) }
        func step() {
            grads.buffer.zero()
            _ = network.run(parameters: params, inputs: inputs, targets: targets, state: state, grads: grads,
                            scoredRows: batch * seq, rng: &rng)
            let norm = gradientNorm(grads)
            if norm > 5 { scaleGradients(grads, by: Float(5 / norm)) }
            optimizer.update(parameters: params, gradients: grads, learningRate: 1e-4)
        }
        step()
        let start = Date()
        var steps = 0
        repeat {
            step()
            steps += 1
        } while steps < probeSteps || Date().timeIntervalSince(start) < probeSeconds
        return Double(steps * batch * seq) / max(Date().timeIntervalSince(start), 1e-9)
    }
}
