import Foundation
import RNNInference
import RNNFormat
import RNNModel
import RNNKernels
import RNNText

/// A resumable training state on disk: one gzip'd safetensors file holding the model exactly as a weights file
/// does (its tensors and metadata) plus the run's state under `checkpoint.` names: the best weights so far,
/// the optimizer's moments, the carried recurrent state, and in the metadata the step, data position, RNG
/// state, validation history, the options that shape the run and the SHA-256 of the training text.
public enum Checkpoint {
    public static let format = "rnnstream-checkpoint"
    public static let version = "1"
    private static let prefix = "checkpoint."

    /// The metadata keys, each under `checkpoint.`: the one list both `encode` and `decode` use.
    package enum Key: String, CaseIterable {
        case format
        case version
        case trainSHA256 = "train_sha256"
        case step
        case characters
        case lastEvalCharacters = "last_eval_characters"
        case windowNats = "window_nats"
        case windowChars = "window_chars"
        case lastTrainBPC = "last_train_bpc"
        case bestTrainBPC = "best_train_bpc"
        case bestValidation = "best_validation"
        case lastValidation = "last_validation"
        case stale
        case lrScale = "lr_scale"
        case seconds
        case optimizerStep = "optimizer_step"
        case batcherPosition = "batcher_position"
        case batcherEpoch = "batcher_epoch"
        case rng

        package var name: String { Checkpoint.prefix + rawValue }
        /// A shaping option (`shapeOptions`), which a resumed run must match.
        package static func option(_ option: String) -> String { Checkpoint.prefix + "option." + option }
    }

    /// The tensor names of the run's state, each under `checkpoint.` (the model's own tensors keep theirs).
    package enum TensorName {
        static func best(_ tensor: String) -> String { "best." + tensor }
        package static let optimizerFirst = "optimizer.first"
        package static let optimizerSecond = "optimizer.second"
        /// `--ema` only: the moving average of the weights, flat in `Parameters` order
        package static let average = "average"
        /// (B, H) per layer
        package static func hidden(layer: Int) -> String { "state.h.\(layer)" }
        /// (B, H) per layer, LSTM only
        package static func cell(layer: Int) -> String { "state.c.\(layer)" }
    }

    /// The options a resumed run takes from the checkpoint (they fix the model, the data walk and the math).
    /// Those at their `absentOption` value are left out.
    package static func shapeOptions(_ o: TrainingOptions, batch: Int, seq: Int) -> [String: String] {
        var options = [
            "cell": o.cell.rawValue, "hidden": String(o.hiddenSize), "layers": String(o.layers),
            "batch": String(batch), "seq": String(seq), "optimizer": o.optimizer.rawValue,
            "lr": String(o.resolvedLearningRate), "warmup": String(o.warmupSteps), "decay": o.decay.rawValue,
            "clip": String(o.clip), "dropout": String(o.dropout), "val_frac": String(o.validationFraction),
            "reset_every": String(o.resetEvery), "seed": String(o.seed),
            // (-0 as 0: both are off)
            "precision": o.precision.rawValue, "ema": String(o.ema > 0 ? o.ema : 0),
            "weight_drop": String(o.weightDrop > 0 ? o.weightDrop : 0), "layer_norm": o.layerNorm ? "1" : "0",
        ]
        for (k, v) in absentOption where options[k] == v { options[k] = nil }
        return options
    }

    /// The shaping options left out at these values, so that checkpoints written before they existed (and read
    /// with these values) resume; a missing one means its value here, on either side of a resume.
    package static let absentOption = [
        "precision": Precision.fp32.rawValue, "ema": String(0.0), "weight_drop": String(0.0), "layer_norm": "0",
    ]

    public static func encode(state s: TrainingState, trainer: Trainer, textSHA256: String, seconds: Double) -> [UInt8] {
        let model = Model(config: s.config, vocabulary: trainer.vocabulary, parameters: s.params.tensors())
        var file = model.safeTensorsFile()
        var meta = file.metadata
        func put(_ key: Key, _ value: String) { meta[key.name] = value }
        put(.format, format)
        put(.version, version)
        put(.trainSHA256, textSHA256)
        for (k, v) in shapeOptions(trainer.options, batch: trainer.batch, seq: trainer.seq) { meta[Key.option(k)] = v }
        put(.step, String(s.step))
        put(.characters, String(s.characters))
        put(.lastEvalCharacters, String(s.lastEvalCharacters))
        put(.windowNats, String(s.windowNats))
        put(.windowChars, String(s.windowChars))
        put(.lastTrainBPC, String(s.lastTrainBPC))
        put(.bestTrainBPC, String(s.bestTrainBPC))
        if let v = s.bestValidation { put(.bestValidation, String(v)) }
        if let v = s.lastValidation { put(.lastValidation, String(v)) }
        put(.stale, String(s.stale))
        put(.lrScale, String(s.lrScale))
        put(.seconds, String(seconds))
        put(.optimizerStep, String(s.optimizer.step))
        put(.batcherPosition, String(s.batcher.position))
        put(.batcherEpoch, String(s.batcher.epoch))
        put(.rng, [s.rng.state.0, s.rng.state.1, s.rng.state.2, s.rng.state.3].map { String($0) }.joined(separator: ","))
        file.metadata = meta
        for t in s.best.tensors() { file.tensors.append(Tensor(name: prefix + TensorName.best(t.name), shape: t.shape, data: t.data)) }
        if s.optimizer.first.count > 0 {
            file.tensors.append(Tensor(name: prefix + TensorName.optimizerFirst, shape: [s.optimizer.first.count], data: s.optimizer.first.array))
        }
        file.tensors.append(Tensor(name: prefix + TensorName.optimizerSecond, shape: [s.optimizer.second.count], data: s.optimizer.second.array))
        if let average = s.average {
            file.tensors.append(Tensor(name: prefix + TensorName.average, shape: [average.count], data: average.buffer.array))
        }
        for (k, h) in s.recurrent.h.enumerated() {
            file.tensors.append(Tensor(name: prefix + TensorName.hidden(layer: k), shape: [s.recurrent.batch, s.recurrent.hidden], data: h.array))
        }
        for (k, c) in s.recurrent.c.enumerated() {
            file.tensors.append(Tensor(name: prefix + TensorName.cell(layer: k), shape: [s.recurrent.batch, s.recurrent.hidden], data: c.array))
        }
        return Gzip.compress(file.encoded(), level: 1)
    }

    /// The shaping options stored in a checkpoint (`shapeOptions`' keys), read before a trainer exists: a resumed
    /// `--time` run takes its model size from them instead of sizing again (`Sizing`).
    public static func storedOptions(_ bytes: [UInt8]) throws(TrainingError) -> [String: String] {
        let meta = try readFile(bytes).metadata
        guard meta[Key.format.name] == format else { throw TrainingError("not an rnnstream checkpoint") }
        return options(in: meta)
    }

    /// The shaping options in a checkpoint's metadata, with `absentOption`'s values for the ones left out.
    private static func options(in meta: [String: String]) -> [String: String] {
        var out = absentOption
        for (k, v) in meta where k.hasPrefix(Key.option("")) { out[String(k.dropFirst(Key.option("").count))] = v }
        return out
    }

    private static func readFile(_ bytes: [UInt8]) throws(TrainingError) -> SafeTensorsFile {
        do {
            let raw = try Gzip.decompress(bytes, maxOutput: 4 * weightsFileMemoryLimit)
            return try SafeTensorsFile.decode(raw)
        } catch let e as GzipError {
            throw TrainingError(e.description)
        } catch {
            throw TrainingError("\(error)")
        }
    }

    /// Restores a state for `trainer`, which must have been made from the same text and shaping options.
    public static func decode(_ bytes: [UInt8], trainer: Trainer, textSHA256: String) throws(TrainingError) -> (TrainingState, seconds: Double) {
        let file = try readFile(bytes)
        let meta = file.metadata
        guard meta[Key.format.name] == format else { throw TrainingError("not an rnnstream checkpoint") }
        guard meta[Key.version.name] == version else {
            throw TrainingError("unsupported checkpoint version \(meta[Key.version.name] ?? "?")")
        }
        guard meta[Key.trainSHA256.name] == textSHA256 else {
            throw TrainingError("the input is not the text this checkpoint was trained on (SHA-256 differs)")
        }
        // Every option on either side, a missing one taking its `absentOption` value (a bf16 checkpoint needs
        // bf16 here, one with a moving average the same --ema).
        let here = absentOption.merging(shapeOptions(trainer.options, batch: trainer.batch, seq: trainer.seq)) { $1 }
        let there = options(in: meta)
        for k in Set(here.keys).union(there.keys).sorted() where here[k] != there[k] {
            throw TrainingError("option \(k) is \(here[k] ?? "unset") here but \(there[k] ?? "unset") in the checkpoint")
        }
        // The model part is a weights file: validate it as one.
        var modelFile = SafeTensorsFile(tensors: file.tensors.filter { !$0.name.hasPrefix(prefix) })
        modelFile.metadata = meta.filter { !$0.key.hasPrefix(prefix) }
        let model: Model
        do { model = try Model.load(safeTensors: modelFile.encoded()) } catch { throw TrainingError(error.description) }
        guard model.config == trainer.config, model.vocabulary == trainer.vocabulary else {
            throw TrainingError("the checkpoint's model does not match the options and text")
        }
        let s = trainer.makeState(initial: model)
        var byName: [String: Tensor] = [:]
        for t in file.tensors where t.name.hasPrefix(prefix) { byName[String(t.name.dropFirst(prefix.count))] = t }
        func fill(_ name: String, _ buffer: FloatBuffer) throws(TrainingError) {
            guard let t = byName[name], t.count == buffer.count else { throw TrainingError("checkpoint tensor \(name) is missing or has the wrong size") }
            t.data.withUnsafeBufferPointer { buffer.pointer.update(from: $0.baseAddress!, count: t.count) }
        }
        for (i, (name, _)) in s.config.tensorShapes.enumerated() {
            guard let t = byName[TensorName.best(name)], t.count == s.best.offsets[i + 1] - s.best.offsets[i] else {
                throw TrainingError("checkpoint tensor \(TensorName.best(name)) is missing or has the wrong size")
            }
            t.data.withUnsafeBufferPointer { s.best.tensor(i).update(from: $0.baseAddress!, count: t.count) }
        }
        if s.optimizer.first.count > 0 { try fill(TensorName.optimizerFirst, s.optimizer.first) }
        try fill(TensorName.optimizerSecond, s.optimizer.second)
        if let average = s.average { try fill(TensorName.average, average.buffer) }
        for (k, h) in s.recurrent.h.enumerated() { try fill(TensorName.hidden(layer: k), h) }
        for (k, c) in s.recurrent.c.enumerated() { try fill(TensorName.cell(layer: k), c) }

        func int(_ key: Key) throws(TrainingError) -> Int {
            guard let v = meta[key.name].flatMap({ Int($0) }), v >= 0 else { throw TrainingError("checkpoint metadata \(key.rawValue) is missing or invalid") }
            return v
        }
        func double(_ key: Key) throws(TrainingError) -> Double {
            guard let v = meta[key.name].flatMap({ Double($0) }) else { throw TrainingError("checkpoint metadata \(key.rawValue) is missing or invalid") }
            return v
        }
        s.step = try int(.step)
        s.characters = try int(.characters)
        s.lastEvalCharacters = try int(.lastEvalCharacters)
        s.windowNats = try double(.windowNats)
        s.windowChars = try int(.windowChars)
        s.lastTrainBPC = try double(.lastTrainBPC)
        s.bestTrainBPC = try double(.bestTrainBPC)
        s.bestValidation = meta[Key.bestValidation.name].flatMap { Double($0) }
        s.lastValidation = meta[Key.lastValidation.name].flatMap { Double($0) }
        s.stale = try int(.stale)
        s.lrScale = try double(.lrScale)
        s.optimizer.step = try int(.optimizerStep)
        let position = try int(.batcherPosition), epoch = try int(.batcherEpoch)
        guard position <= s.batcher.stepsPerEpoch else { throw TrainingError("checkpoint data position is out of range") }
        s.batcher.seek(position: position, epoch: epoch)
        let words = (meta[Key.rng.name] ?? "").split(separator: ",").compactMap { UInt64($0) }
        guard words.count == 4 else { throw TrainingError("checkpoint metadata \(Key.rng.rawValue) is missing or invalid") }
        s.rng = Random(state: (words[0], words[1], words[2], words[3]))
        let seconds = try double(.seconds)
        s.previousSeconds = seconds
        return (s, seconds)
    }
}
