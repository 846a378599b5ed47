import Foundation

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
    public var charactersPerSecond: Double
    public var learningRate: Double
    public var gradientNorm: Double
    /// Seconds spent validating so far (not counted in `charactersPerSecond`).
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

/// The outcome: the best model by validation (the last one when nothing was held out).
public struct TrainingResult: Sendable {
    public var model: Model
    public var trainBPC: Double
    public var validationBPC: Double?
    public var steps: Int
    public var characters: Int
    public var seconds: Double
    public var stopReason: String
}

/// Trains a model on a text held in memory, as `rnn-fit` does.
public final class Trainer {
    public let options: TrainingOptions
    public let vocabulary: Vocabulary
    public let config: ModelConfig
    private let train: [Int32]
    private let validation: [Int32]
    private let batch: Int
    private let seq: Int

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
        train = Array(text[..<trainCount])
        validation = Array(text[trainCount...])
        config = ModelConfig(cell: options.cell, vocabSize: vocabulary.count, hiddenSize: options.hiddenSize,
                             layers: options.layers)
    }

    public func run(
        initial: Model? = nil,
        sampleEvery: Double? = nil,
        shouldStop: () -> Bool = { false },
        observer: (TrainingEvent) -> Void = { _ in }
    ) -> TrainingResult {
        let start = Date()
        let model = initial ?? Model.initialized(config: config, vocabulary: vocabulary, seed: options.seed)
        let params = Parameters(model: model), grads = Parameters(config: config)
        let best = Parameters(config: config)
        best.copy(from: params)
        let optimizer = Optimizer(kind: options.optimizer, count: params.count)
        let network = Network(config: config, batch: batch, steps: seq)
        network.dropout = Float(options.dropout)
        let state = RecurrentState(config: config, batch: batch)
        var batcher = Batcher(textCount: train.count, batch: batch, steps: seq, resetEvery: options.resetEvery)
        let schedule = Schedule(base: options.resolvedLearningRate, warmupSteps: options.warmupSteps, decay: options.decay)
        var rng = Random(seed: options.seed ^ 0x5EED_D80B)
        var inputs = [Int32](repeating: 0, count: batch * seq), targets = inputs
        let scorer = validation.isEmpty ? nil : Scorer(parameters: params, vocabulary: vocabulary)
        let evalEvery = options.evalEvery ?? max(10 * validation.count, 200_000)

        observer(.started(batch: batch, seq: seq, trainCharacters: train.count, validationCharacters: validation.count,
                          parameters: params.count))
        if batch != options.batch || seq != options.seq {
            observer(.notice("small text: using batch \(batch) and seq \(seq) (asked for \(options.batch) and \(options.seq))"))
        }

        var step = 0, characters = 0, lastEvalCharacters = 0
        var windowNats = 0.0, windowChars = 0, lastTrainBPC = Double.nan, bestTrainBPC = Double.nan
        var bestVal: Double? = nil, lastVal: Double? = nil
        var stale = 0, lrScale = 1.0, lastNorm = 0.0, lr = schedule.rate(step: 0, progress: 0)
        var lastReport = Date(), lastSample = Date(), evalSeconds = 0.0
        var stopReason = "epochs"

        func elapsed() -> Double { Date().timeIntervalSince(start) }
        func fraction() -> Double {
            var f = Double(characters) / (Double(train.count) * options.epochs)
            if let limit = options.timeLimit { f = max(f, elapsed() / limit) }
            if let m = options.maxSteps { f = max(f, Double(step) / Double(max(m, 1))) }
            return min(f, 1)
        }
        func snapshot() -> TrainingProgress {
            let e = elapsed()
            if windowChars > 0 { lastTrainBPC = windowNats / Double(windowChars) / M_LN2 }
            return TrainingProgress(elapsed: e, fraction: fraction(), step: step, characters: characters,
                                    charactersPerSecond: Double(characters) / max(e - evalSeconds, 1e-9),
                                    learningRate: lr, gradientNorm: lastNorm, evaluationSeconds: evalSeconds, trainBPC: lastTrainBPC, validationBPC: lastVal,
                                    bestValidationBPC: bestVal)
        }
        func evaluate() {
            lastEvalCharacters = characters
            var progress = snapshot()
            windowNats = 0; windowChars = 0
            guard let scorer else { return }
            let evalStart = Date()
            defer { evalSeconds += Date().timeIntervalSince(evalStart) }
            scorer.reset()
            let before = scorer.totals
            validation.withUnsafeBufferPointer { scorer.feed(indices: $0) }
            scorer.flush()
            let totals = scorer.totals
            let bpc = (totals.nats - before.nats) / Double(totals.characters - before.characters) / M_LN2
            lastVal = bpc
            progress.validationBPC = bpc
            var improved = false
            if bpc.isFinite, bestVal.map({ bpc < $0 }) ?? true {
                bestVal = bpc
                bestTrainBPC = lastTrainBPC
                best.copy(from: params)
                stale = 0
                improved = true
            } else {
                stale += 1
            }
            progress.bestValidationBPC = bestVal
            observer(.evaluated(progress, improved: improved))
        }

        while true {
            if shouldStop() { stopReason = "interrupted"; break }
            if Double(characters) >= Double(train.count) * options.epochs { stopReason = "epochs"; break }
            if let limit = options.timeLimit, elapsed() >= limit { stopReason = "time"; break }
            if let m = options.maxSteps, step >= m { stopReason = "steps"; break }
            if options.patience > 0 && stale >= options.patience {
                stopReason = "early stop"
                observer(.notice("early stop: no better validation in \(stale) evaluations"))
                break
            }

            batcher.next(text: train, inputs: &inputs, targets: &targets, state: state)
            grads.buffer.zero()
            let loss = network.run(parameters: params, inputs: inputs, targets: targets, state: state, grads: grads,
                                   scoredRows: batch * seq, rng: &rng)
            let norm = gradientNorm(grads)
            if !loss.isFinite || !norm.isFinite {
                // roll back to the best weights so far and halve the rate
                params.copy(from: best)
                state.reset()
                lrScale *= 0.5
                observer(.notice(String(format: "diverged at step %d (loss %@): restored the best weights, learning rate now %.3g",
                                        step, "\(loss)", schedule.base * lrScale)))
                if lrScale < 1e-4 { stopReason = "diverged"; break }
                continue
            }
            lastNorm = norm
            if options.clip > 0 && norm > options.clip { scaleGradients(grads, by: Float(options.clip / norm)) }
            lr = schedule.rate(step: step, progress: fraction()) * lrScale
            optimizer.update(parameters: params, gradients: grads, learningRate: Float(lr))
            step += 1
            characters += batch * seq
            windowNats += loss
            windowChars += batch * seq

            if characters - lastEvalCharacters >= evalEvery {
                evaluate()
            } else if let every = sampleEvery, Date().timeIntervalSince(lastSample) >= every {
                lastSample = Date()
                let current = Model(config: config, vocabulary: vocabulary, parameters: params.tensors())
                let generator = Generator(model: current, options: SamplingOptions(), seed: UInt64(step))
                var text = String.UnicodeScalarView()
                for _ in 0..<200 { text.append(generator.nextCharacter()) }
                observer(.sample(String(text)))
            } else if Date().timeIntervalSince(lastReport) >= 0.25 {
                lastReport = Date()
                observer(.progress(snapshot()))
            }
        }
        if characters > lastEvalCharacters || bestVal == nil { evaluate() }
        if scorer == nil {
            best.copy(from: params)
            bestTrainBPC = lastTrainBPC
        }

        let seconds = elapsed()
        var info: [String: String] = [
            "seed": String(options.seed),
            "chars_seen": String(characters),
            "steps": String(step),
            "epochs": String(format: "%.4f", Double(characters) / Double(train.count)),
            "train_chars": String(train.count),
            "val_chars": String(validation.count),
            "train_bpc": String(format: "%.6f", bestTrainBPC),
            "batch": String(batch),
            "seq": String(seq),
            "optimizer": options.optimizer.rawValue,
            "learning_rate": String(options.resolvedLearningRate),
            "dropout": String(options.dropout),
            "seconds": String(format: "%.1f", seconds),
            "stop_reason": stopReason,
        ]
        if let bestVal { info["val_bpc"] = String(format: "%.6f", bestVal) }
        var out = Model(config: config, vocabulary: vocabulary, parameters: best.tensors(), info: model.info)
        out.info.merge(info) { _, new in new }
        return TrainingResult(model: out, trainBPC: bestTrainBPC, validationBPC: bestVal, steps: step,
                              characters: characters, seconds: seconds, stopReason: stopReason)
    }
}
