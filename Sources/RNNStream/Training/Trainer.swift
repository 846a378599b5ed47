import Foundation
import RNNInference
import RNNFormat
import RNNModel
import RNNKernels
import RNNText

public struct TrainingError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A snapshot for progress displays and logs.
public struct TrainingProgress: Sendable {
    public var elapsed: Double
    /// 0…1: the largest fraction used of the epoch, time and step budgets.
    public var fraction: Double
    public var step: Int
    public var characters: Int
    /// Training characters per second of training time (validation time excluded).
    public var charactersPerSecond: Double
    public var learningRate: Double
    public var gradientNorm: Double
    /// Seconds spent validating so far.
    public var evaluationSeconds: Double
    /// Mean training bits per character since the last report.
    public var trainBPC: Double
    public var validationBPC: Double?
    public var bestValidationBPC: Double?
}

public enum TrainingEvent: Sendable {
    /// Sizes actually used (batch and seq may have been adapted to a small text).
    case started(batch: Int, seq: Int, trainCharacters: Int, validationCharacters: Int, parameters: Int)
    case progress(TrainingProgress)
    case evaluated(TrainingProgress, improved: Bool)
    /// Something the person watching should know (adapted sizes, divergence recovered, early stop).
    case notice(String)
    /// A short text sampled from the current weights (`sampleEvery`).
    case sample(String)
}

/// Why a run ended. The raw value is the text printed in `rnn-fit`'s summary and stored as the model's
/// `stop_reason` metadata.
public enum StopReason: String, Sendable, CaseIterable {
    /// The `--epochs` passes over the training text were done.
    case epochs
    /// The `--time` limit was reached.
    case time
    /// The `--steps` limit was reached.
    case steps
    /// `--patience` validations in a row found nothing better.
    case earlyStop = "early stop"
    /// The loss kept diverging after the learning rate had been halved down to `Trainer.minimumRateScale`.
    case diverged
    /// A `--stream` input was used up.
    case endOfInput = "end of input"
    /// A `--stream` input could not be read or decoded (`Trainer.streamError`).
    case readError = "read error"
    /// SIGINT or SIGTERM.
    case interrupted
    /// A `--checkpoint` write failed; training stops so that no more time is spent without one.
    case checkpointFailed = "checkpoint failed"
}

/// The outcome: the best model by validation (the last one when nothing was held out).
public struct TrainingResult: Sendable {
    public var model: Model
    public var trainBPC: Double
    public var validationBPC: Double?
    public var steps: Int
    public var characters: Int
    public var seconds: Double
    public var stopReason: StopReason
}

/// Everything a run needs to continue exactly where it stopped: written to a checkpoint, read by `--resume`.
public final class TrainingState {
    public let config: ModelConfig
    public let params: Parameters
    public let best: Parameters
    /// `--ema`: the moving average of `params` that is validated, kept as `best` and written (nil: off).
    public let average: Parameters?
    public let optimizer: Optimizer
    public let recurrent: RecurrentState
    public var batcher: Batcher
    public var rng: Random
    public var step = 0
    public var characters = 0
    public var lastEvalCharacters = 0
    public var windowNats = 0.0
    public var windowChars = 0
    public var lastTrainBPC = Double.nan
    public var bestTrainBPC = Double.nan
    public var bestValidation: Double? = nil
    public var lastValidation: Double? = nil
    public var stale = 0
    public var lrScale = 1.0
    /// Seconds trained before this process (a resumed run keeps counting).
    public var previousSeconds = 0.0

    /// Mixed into `--seed` for the training random generator (dropout), so that it does not draw the same
    /// numbers as the weight initialisation seeded with `--seed` itself. Changing it changes every run's weights.
    static let dropoutSeedSalt: UInt64 = 0x5EED_D80B

    init(config: ModelConfig, batcher: Batcher, optimizer: OptimizerKind, seed: UInt64, average: Bool = false) {
        self.config = config
        params = Parameters(config: config)
        best = Parameters(config: config)
        self.average = average ? Parameters(config: config) : nil
        self.optimizer = Optimizer(kind: optimizer, count: params.count)
        recurrent = RecurrentState(config: config, batch: batcher.batch)
        self.batcher = batcher
        rng = Random(seed: seed ^ TrainingState.dropoutSeedSalt)
    }
}

/// Trains a model on a text held in memory, as `rnn-fit` does.
public final class Trainer {
    /// Without `--eval-every`, validate every this many times the validation text's length of training
    /// characters, so that validating (one forward pass over the held-out text) stays a small share of the run...
    public static let evaluationSpacing = 10
    /// ...but not more often than every this many characters, so that a tiny validation text is not scored
    /// after every few steps.
    public static let minimumEvaluationInterval = 200_000
    /// Seconds between progress events: four redraws a second look live and cost nothing.
    public static let progressInterval = 0.25
    /// After a non-finite loss or gradient the learning rate is multiplied by this (halved).
    public static let divergenceRateFactor = 0.5
    /// Below this fraction of the learning rate (after 14 halvings) a diverging run gives up.
    public static let minimumRateScale = 1e-4
    /// Characters in a `--sample-every` sample: a few lines, enough to see what the model writes.
    public static let sampleLength = 200
    /// The smallest duration divided by in a rate, so that a run of zero seconds reports a finite rate.
    static let minimumSeconds = 1e-9
    /// The shortest time limit a run is given when measuring for `Sizing` used up its budget: one step.
    public static let minimumTimeLimit = 1e-3

    public let options: TrainingOptions
    public let vocabulary: Vocabulary
    public let config: ModelConfig
    /// The whole in-memory text, shared with the caller (no copy): training reads its first `trainCount`.
    private let train: [Int32]
    /// Characters of the in-memory text used for training (the rest is held out).
    public let trainCount: Int
    private let fixedValidation: [Int32]
    /// `--stream`: batches read from a stream instead of `train`.
    public let stream: StreamBatches?
    public let batch: Int
    public let seq: Int
    /// A read error that ended a stream early.
    public private(set) var streamError: TextError? = nil

    private var validation: [Int32] { stream?.validation ?? fixedValidation }

    /// Characters of the in-memory text (training and validation).
    public var textCount: Int { trainCount + fixedValidation.count }

    /// `text`: the whole input as vocabulary indices; the last `validationFraction` is held out.
    public init(text: [Int32], vocabulary: Vocabulary, options: TrainingOptions) throws(TrainingError) {
        self.options = options
        self.vocabulary = vocabulary
        guard !text.isEmpty else { throw TrainingError("no text to train on") }
        let trainCount = Int((Double(text.count) * (1 - options.validationFraction)).rounded(.down))
        guard let fit = Batcher.fit(textCount: trainCount, batch: options.batch, steps: options.seq) else {
            throw TrainingError("text too short to train on (\(text.count) characters, \(trainCount) for training; need at least 2)")
        }
        batch = fit.batch
        seq = fit.steps
        train = text
        self.trainCount = trainCount
        fixedValidation = Array(text[trainCount...])
        stream = nil
        config = ModelConfig(cell: options.cell, vocabSize: vocabulary.count, hiddenSize: options.hiddenSize,
                             layers: options.layers, layerNorm: options.layerNorm)
    }

    /// Training on a stream (`--stream`): the batches, the held-out text and the passes come from `stream`.
    public init(stream: StreamBatches, options: TrainingOptions) {
        self.options = options
        vocabulary = stream.vocabulary
        batch = stream.batch
        seq = stream.steps
        train = []
        trainCount = 0
        fixedValidation = []
        self.stream = stream
        config = ModelConfig(cell: options.cell, vocabSize: vocabulary.count, hiddenSize: options.hiddenSize,
                             layers: options.layers, layerNorm: options.layerNorm)
    }

    /// A fresh state: weights initialised from the seed, or taken from `initial` (fine-tuning).
    public func makeState(initial: Model? = nil) -> TrainingState {
        // a stream has no in-memory text: its batcher is a placeholder that is never asked for a step
        let batcher = stream == nil
            ? Batcher(textCount: trainCount, batch: batch, steps: seq, resetEvery: options.resetEvery)
            : Batcher(textCount: batch * seq + 1, batch: batch, steps: seq, resetEvery: 0)
        let s = TrainingState(config: config, batcher: batcher,
                              optimizer: options.optimizer, seed: options.seed, average: options.ema > 0)
        let model = initial ?? Model.initialized(config: config, vocabulary: vocabulary, seed: options.seed)
        s.params.copy(from: Parameters(model: model))
        s.best.copy(from: s.params)
        s.average?.copy(from: s.params)
        return s
    }

    /// Trains from `state` (a fresh one by default) until a stop condition, and returns the best model.
    /// `checkpoint` is called every `checkpointEvery` seconds and once when the loop stops, before the final
    /// validation, so that a resumed run continues exactly as an uninterrupted one would. `shouldStop` is asked
    /// before every step; the reason it returns ends the run (nil: go on).
    public func run(
        state: TrainingState? = nil,
        info: [String: String] = [:],
        sampleEvery: Double? = nil,
        sampleAtEvaluations: Bool = false,
        checkpointEvery: Double? = nil,
        checkpoint: ((TrainingState, _ seconds: Double) -> Void)? = nil,
        shouldStop: () -> StopReason? = { nil },
        observer: (TrainingEvent) -> Void = { _ in }
    ) -> TrainingResult {
        let start = Date()
        let s = state ?? makeState()
        let params = s.params, grads = Parameters(config: config)
        // what is validated, kept and written: the weights, or with --ema their moving average
        let evaluated = s.average ?? params
        let network = Network(config: config, batch: batch, steps: seq, precision: options.precision)
        network.dropout = Float(options.dropout)
        let weightDrop = options.weightDrop > 0 ? WeightDrop(config: config, rate: options.weightDrop) : nil
        let schedule = Schedule(base: options.resolvedLearningRate, warmupSteps: options.warmupSteps, decay: options.decay)
        var inputs = [Int32](repeating: 0, count: batch * seq), targets = inputs
        // validation borrows the network's packed recurrent weights (packed again at the start of every step)
        let scorer = validation.isEmpty && stream == nil
            ? nil : StreamScorer(parameters: evaluated, vocabulary: vocabulary, recurrentPacking: network.packedWh)
        let evalEvery = options.evalEvery ?? max(Trainer.evaluationSpacing * (stream?.validationLimit ?? validation.count),
                                             Trainer.minimumEvaluationInterval)
        var lastNorm = 0.0, lr = schedule.rate(step: s.step, progress: 0)
        var lastReport = Date(), lastSample = Date(), lastCheckpoint = Date(), evalSeconds = 0.0
        var stopReason = StopReason.epochs

        observer(.started(batch: batch, seq: seq, trainCharacters: trainCount, validationCharacters: validation.count,
                          parameters: params.count))
        if batch != options.batch || seq != options.seq {
            observer(.notice("small text: using batch \(batch) and seq \(seq) (asked for \(options.batch) and \(options.seq))"))
        }

        func elapsed() -> Double { Date().timeIntervalSince(start) }
        func fraction() -> Double {
            var f = 0.0
            if let stream {
                if let bytes = stream.inputBytes, bytes > 0 { f = Double(stream.bytesRead) / (Double(bytes) * Double(stream.passes)) }
            } else {
                f = Double(s.characters) / (Double(trainCount) * options.epochs)
            }
            if let limit = options.timeLimit { f = max(f, (s.previousSeconds + elapsed()) / limit) }
            if let m = options.maxSteps { f = max(f, Double(s.step) / Double(max(m, 1))) }
            return min(f, 1)
        }
        func snapshot() -> TrainingProgress {
            let e = elapsed()
            if s.windowChars > 0 { s.lastTrainBPC = s.windowNats / Double(s.windowChars) / M_LN2 }
            return TrainingProgress(elapsed: s.previousSeconds + e, fraction: fraction(), step: s.step,
                                    characters: s.characters,
                                    charactersPerSecond: Double(s.characters) / max(s.previousSeconds + e - evalSeconds, Trainer.minimumSeconds),
                                    learningRate: lr, gradientNorm: lastNorm, evaluationSeconds: evalSeconds,
                                    trainBPC: s.lastTrainBPC, validationBPC: s.lastValidation,
                                    bestValidationBPC: s.bestValidation)
        }
        func evaluate() {
            s.lastEvalCharacters = s.characters
            var progress = snapshot()
            s.windowNats = 0; s.windowChars = 0
            guard let scorer, !validation.isEmpty else {
                // nothing held out (yet): still report, so logs and displays see the run's end
                observer(.evaluated(progress, improved: false))
                return
            }
            let evalStart = Date()
            defer { evalSeconds += Date().timeIntervalSince(evalStart) }
            let before = scorer.totals
            scorer.weightsChanged()
            scorer.reset()
            validation.withUnsafeBufferPointer { scorer.feed(indices: $0) }
            scorer.flush()
            let bpc = (scorer.totals.nats - before.nats) / Double(scorer.totals.characters - before.characters) / M_LN2
            s.lastValidation = bpc
            progress.validationBPC = bpc
            var improved = false
            if bpc.isFinite, s.bestValidation.map({ bpc < $0 }) ?? true {
                s.bestValidation = bpc
                s.bestTrainBPC = s.lastTrainBPC
                s.best.copy(from: evaluated)
                s.stale = 0
                improved = true
            } else {
                s.stale += 1
            }
            progress.bestValidationBPC = s.bestValidation
            observer(.evaluated(progress, improved: improved))
        }

        /// 200 characters from the weights validated (their average with --ema), from the fresh state, seeded by the step.
        func sample() {
            let current = Model(config: config, vocabulary: vocabulary, parameters: evaluated.tensors())
            let generator = Generator(model: current, options: SamplingOptions(), seed: UInt64(s.step))
            var text = String.UnicodeScalarView()
            for _ in 0..<Trainer.sampleLength { text.append(generator.nextCharacter()) }
            observer(.sample(String(text)))
        }

        while true {
            if let reason = shouldStop() { stopReason = reason; break }
            if stream == nil && Double(s.characters) >= Double(trainCount) * options.epochs { stopReason = .epochs; break }
            if let limit = options.timeLimit, s.previousSeconds + elapsed() >= limit { stopReason = .time; break }
            if let m = options.maxSteps, s.step >= m { stopReason = .steps; break }
            if options.patience > 0 && s.stale >= options.patience {
                stopReason = .earlyStop
                observer(.notice("early stop: no better validation in \(s.stale) evaluations"))
                break
            }
            if let every = checkpointEvery, let checkpoint, Date().timeIntervalSince(lastCheckpoint) >= every {
                lastCheckpoint = Date()
                checkpoint(s, s.previousSeconds + elapsed())
            }

            if let stream {
                do throws(TextError) {
                    guard try stream.next(inputs: &inputs, targets: &targets, state: s.recurrent) else {
                        stopReason = .endOfInput
                        break
                    }
                } catch {
                    streamError = error
                    stopReason = .readError
                    break
                }
            } else {
                s.batcher.next(text: train, inputs: &inputs, targets: &targets, state: s.recurrent)
            }
            grads.buffer.zero()
            weightDrop?.draw(from: params, rng: &s.rng)
            let loss = network.run(parameters: weightDrop?.dropped ?? params, inputs: inputs, targets: targets,
                                   state: s.recurrent, grads: grads, scoredRows: batch * seq, rng: &s.rng)
            weightDrop?.maskGradients(grads)
            let norm = gradientNorm(grads)
            if !loss.isFinite || !norm.isFinite {
                // roll back to the best weights so far and halve the rate
                params.copy(from: s.best)
                s.average?.copy(from: s.best)
                s.recurrent.reset()
                s.lrScale *= Trainer.divergenceRateFactor
                observer(.notice(String(format: "diverged at step %d (loss %@): restored the best weights, learning rate now %.3g",
                                        s.step, "\(loss)", schedule.base * s.lrScale)))
                if s.lrScale < Trainer.minimumRateScale { stopReason = .diverged; break }
                continue
            }
            lastNorm = norm
            if options.clip > 0 && norm > options.clip { scaleGradients(grads, by: Float(options.clip / norm)) }
            lr = schedule.rate(step: s.step, progress: fraction()) * s.lrScale
            s.optimizer.update(parameters: params, gradients: grads, learningRate: Float(lr))
            if let average = s.average {
                // follow the weights closely at first, then average over about 1/(1-ema) updates
                let t = Double(s.optimizer.step)
                movingAverage(count: average.count, average: average.pointer, weights: params.pointer,
                              decay: Float(min(options.ema, (1 + t) / (10 + t))))
            }
            s.step += 1
            s.characters += batch * seq
            s.windowNats += loss
            s.windowChars += batch * seq

            if s.characters - s.lastEvalCharacters >= evalEvery {
                evaluate()
                if sampleAtEvaluations { sample() }
            } else if let every = sampleEvery, Date().timeIntervalSince(lastSample) >= every {
                lastSample = Date()
                sample()
            } else if Date().timeIntervalSince(lastReport) >= Trainer.progressInterval {
                lastReport = Date()
                observer(.progress(snapshot()))
            }
        }
        checkpoint?(s, s.previousSeconds + elapsed())
        if s.characters > s.lastEvalCharacters || s.bestValidation == nil {
            evaluate()
            if sampleAtEvaluations { sample() }
        }
        if scorer == nil || validation.isEmpty {
            s.best.copy(from: evaluated)
            s.bestTrainBPC = s.lastTrainBPC
        }

        var out = Model(config: config, vocabulary: vocabulary, parameters: s.best.tensors(), info: info)
        out.info.merge([
            "seed": String(options.seed),
            "chars_seen": String(s.characters),
            "steps": String(s.step),
            "epochs": stream == nil ? String(format: "%.4f", Double(s.characters) / Double(trainCount)) : String(stream!.pass + 1),
            "train_chars": String(stream?.consumed ?? trainCount),
            "val_chars": String(validation.count),
            "train_bpc": String(format: "%.6f", s.bestTrainBPC),
            "batch": String(batch),
            "seq": String(seq),
            "optimizer": options.optimizer.rawValue,
            "learning_rate": String(options.resolvedLearningRate),
            "dropout": String(options.dropout),
            "precision": options.precision.rawValue,
            "stop_reason": stopReason.rawValue,
        ]) { _, new in new }
        if let v = s.bestValidation { out.info["val_bpc"] = String(format: "%.6f", v) }
        if options.ema > 0 { out.info["ema"] = String(options.ema) }
        if options.weightDrop > 0 { out.info["weight_drop"] = String(options.weightDrop) }
        return TrainingResult(model: out, trainBPC: s.bestTrainBPC, validationBPC: s.bestValidation, steps: s.step,
                              characters: s.characters, seconds: s.previousSeconds + elapsed(), stopReason: stopReason)
    }
}
