import Foundation
import RNNTraining
import RNNInference
import RNNFormat
import RNNModel
import RNNKernels
import RNNText
import RNNShell

/// What `rnn-fit` was asked to do, after option parsing.
public struct FitRequest: Sendable {
    public var training = TrainingOptions()
    /// nil: standard output.
    public var output: String? = nil
    public var quiet = false
    /// JSON lines, one per evaluation.
    public var logPath: String? = nil
    /// A self-contained HTML page about the run, rewritten at every evaluation (`TrainingReport`).
    public var reportPath: String? = nil
    public var sampleEvery: Double? = nil
    /// Keep a resumable training state here, rewritten every `checkpointEvery` seconds and at the end.
    public var checkpointPath: String? = nil
    public var checkpointEvery: Double = 600
    /// Continue the run saved in this checkpoint (same text and shaping options).
    public var resumePath: String? = nil
    /// Start from these weights instead of a fresh initialisation (fine-tuning).
    public var initPath: String? = nil
    /// Train online from a stream in bounded memory (see `StreamBatches`).
    public var stream = false
    /// The vocabulary: the characters of this file (else the --init model's, else the input's).
    public var vocabPath: String? = nil
    /// The command line, stored in the model's metadata.
    public var commandLine = ""
    /// With `--time`: the shaping options the user left to rnn-fit, chosen by `Sizing` (explicit ones are kept).
    public var sizeToTime: SizedOptions = []
    /// Whether `training.precision` was asked for; if not, a resumed run takes the checkpoint's.
    public var precisionGiven = true

    public struct SizedOptions: OptionSet, Sendable {
        public let rawValue: Int
        public init(rawValue: Int) { self.rawValue = rawValue }
        public static let hidden = SizedOptions(rawValue: 1)
        public static let layers = SizedOptions(rawValue: 2)
        public static let dropout = SizedOptions(rawValue: 4)
        public static let learningRate = SizedOptions(rawValue: 8)
        public static let batch = SizedOptions(rawValue: 16)
        public static let cell = SizedOptions(rawValue: 32)
        public static let weightDrop = SizedOptions(rawValue: 64)
        public static let layerNorm = SizedOptions(rawValue: 128)
    }

    public init() {}
}

/// The largest text `rnn-fit` reads into memory.
public let fitInputLimit = 4 << 30

/// `rnn-fit`: stdin text → trained weights. Returns the exit status; errors were reported on stderr.
public func runFit(_ request: FitRequest, streams io: ToolStreams = .standard) -> Int32 {
    let program = "rnn-fit"
    // progress and messages go to stderr, which may be a pipe closed early (`2>&1 | head`): an EPIPE, ignored
    ignoreSIGPIPE()
    reserveStandardDescriptors()
    do {
        return try fit(request, program: program, io: io)
    } catch {
        reportError(program: program, error, fd: io.error)
        return error.status
    }
}

private func fit(_ request: FitRequest, program: String, io: ToolStreams) throws(ToolError) -> Int32 {
    // Refuse before reading or training: binary to a terminal, or an output we could not write later.
    if let path = request.output {
        try checkWritable(path: path)
    } else if isTerminal(io.output) {
        throw ToolError(subject: "standard output",
                        cause: "is a terminal; refusing to write binary weights (redirect it or use -o FILE)")
    }
    if let path = request.checkpointPath { try checkWritable(path: path) }
    if let path = request.reportPath { try checkWritable(path: path) }
    let initial = try request.initPath.map { path throws(ToolError) in try loadModel(path: path, standardInput: io.input) }
    let resumeBytes = try request.resumePath.map { path throws(ToolError) in
        try readWholeFile(path: path, limit: 4 * weightsFileMemoryLimit, standardInput: io.input)
    }
    var log: CheckedOutput? = nil
    if let logPath = request.logPath {
        let fd = open(logPath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw ToolError(subject: logPath, cause: systemErrorMessage(errno)) }
        log = CheckedOutput(fd: fd, autoFlush: true)
    }
    Interrupt.install()

    var options = request.training
    if let initial {
        // fine-tuning keeps the model's vocabulary and shape
        options.cell = initial.config.cell
        options.hiddenSize = initial.config.hiddenSize
        options.layers = initial.config.layers
        options.layerNorm = initial.config.layerNorm
    }
    // --resume: the model size is the checkpoint's, whatever a new measurement would choose, and so is the
    // precision unless asked for (a checkpoint without one is fp32)
    if let resumeBytes, !request.sizeToTime.isEmpty || !request.precisionGiven, let path = request.resumePath {
        do throws(TrainingError) {
            let stored = try Checkpoint.storedOptions(resumeBytes)
            if !request.precisionGiven {
                let p = Precision(rawValue: stored["precision"] ?? "fp32") ?? .fp32
                guard p.isSupported else { throw TrainingError("trained in \(p.rawValue), which this CPU cannot run (its kernels: \(CPU.level))") }
                options.precision = p
            }
            if request.sizeToTime.contains(.cell), let v = stored["cell"].flatMap({ CellKind(rawValue: $0) }) { options.cell = v }
            if request.sizeToTime.contains(.hidden), let v = stored["hidden"].flatMap(Int.init) { options.hiddenSize = v }
            if request.sizeToTime.contains(.layers), let v = stored["layers"].flatMap(Int.init) { options.layers = v }
            if request.sizeToTime.contains(.dropout), let v = stored["dropout"].flatMap(Double.init) { options.dropout = v }
            if request.sizeToTime.contains(.weightDrop), let v = stored["weight_drop"].flatMap(Double.init) { options.weightDrop = v }
            if request.sizeToTime.contains(.layerNorm), let v = stored["layer_norm"] { options.layerNorm = v == "1" }
            if request.sizeToTime.contains(.learningRate), let v = stored["lr"].flatMap(Double.init) { options.learningRate = v }
            if request.sizeToTime.contains(.batch), let v = stored["batch"].flatMap(Int.init) { options.batch = v }
        } catch {
            throw ToolError(subject: path, cause: error.description)
        }
    }
    let sizing = initial == nil && resumeBytes == nil && options.timeLimit != nil ? request.sizeToTime : []
    var choice: Sizing.Choice? = nil
    /// Sizes `options` to the time (`Sizing`) and takes the measuring out of the time limit.
    func size(vocabSize: Int, batch: Int, seq: Int, trainCharacters: Int?) {
        guard !sizing.isEmpty, let budget = options.timeLimit else { return }
        let start = Date()
        if sizing.contains(.layerNorm) { options.layerNorm = Sizing.layerNorm }
        let o = options
        var c = Sizing.choose(
            widths: sizing.contains(.hidden) ? Sizing.widths : [o.hiddenSize],
            layers: sizing.contains(.layers) ? Sizing.defaultLayers : o.layers, layerNorm: o.layerNorm,
            dropout: sizing.contains(.dropout) ? nil : o.dropout,
            weightDrop: sizing.contains(.weightDrop) ? nil : o.weightDrop, rateGiven: !sizing.contains(.learningRate),
            cell: sizing.contains(.cell) ? nil : o.cell, optimizer: o.optimizer, batch: batch,
            batchGiven: !sizing.contains(.batch), seq: seq, budget: budget, trainCharacters: trainCharacters
        ) { cell, width in
            let config = ModelConfig(cell: cell, vocabSize: vocabSize, hiddenSize: width,
                                     layers: sizing.contains(.layers) ? Sizing.defaultLayers : o.layers,
                                     layerNorm: o.layerNorm)
            return (config.parameterCount, Sizing.measureRate(config: config, batch: batch, seq: seq,
                                                              precision: o.precision, dropout: 0,
                                                              optimizer: o.optimizer))
        }
        c.probeSeconds = Date().timeIntervalSince(start)
        options.cell = c.cell
        options.hiddenSize = c.hiddenSize
        options.layers = c.layers
        options.dropout = c.dropout
        options.weightDrop = c.weightDrop
        if sizing.contains(.batch) { options.batch = c.batch }
        if c.rateFactor != 1 { options.learningRate = o.resolvedLearningRate * c.rateFactor }
        options.timeLimit = max(budget - c.probeSeconds, Trainer.minimumTimeLimit)
        choice = c
        if !request.quiet {
            writeDiagnostic(program + ": sized to the time: " + c.summary
                            + String(format: "; measuring took %.1fs of the budget", c.probeSeconds) + "\n", fd: io.error)
        }
    }
    var trainer: Trainer
    var sha = ""
    if request.stream {
        trainer = try streamTrainer(request, options: options, initial: initial, io: io) { vocabSize in
            size(vocabSize: vocabSize, batch: options.batch, seq: options.seq, trainCharacters: nil)
            return options
        }
    } else {
        let bytes = try readWholeFile(path: "-", limit: fitInputLimit, standardInput: io.input)
        // the bytes become indices directly: no array of the text's scalars (4 bytes per character) in between
        let given = try givenVocabulary(request, initial: initial, io: io)
        let (text, vocabulary) = try bytes.withUnsafeBufferPointer { (bytes) throws(ToolError) -> ([Int32], Vocabulary) in
            let vocabulary: Vocabulary
            if let given {
                vocabulary = given
            } else {
                do throws(TextError) { vocabulary = try Vocabulary(utf8: bytes) } catch {
                    throw ToolError(subject: "standard input", cause: error.description)
                }
            }
            guard vocabulary.count <= ModelConfig.maxVocab else {
                throw ToolError(subject: "standard input", cause: "too many distinct characters (\(vocabulary.count))")
            }
            do throws(IndexingError) {
                return (try vocabulary.indices(utf8: bytes), vocabulary)
            } catch {
                switch error {
                case .invalidUTF8(let e): throw ToolError(subject: "standard input", cause: e.description)
                case let .unknownCharacter(s, offset):
                    throw ToolError(subject: "standard input",
                                    cause: "character \(describe(s)) at offset \(offset) is not in the vocabulary of \(request.initPath ?? request.vocabPath ?? "the model")")
                }
            }
        }
        guard !text.isEmpty else { throw ToolError(subject: "standard input", cause: "no text to train on") }
        sha = SHA256.hex(of: bytes)
        do throws(TrainingError) {
            trainer = try Trainer(text: text, vocabulary: vocabulary, options: options)
            if !sizing.isEmpty {
                // the batch and seq the trainer settled on (a small text shrinks them) are the ones measured
                size(vocabSize: vocabulary.count, batch: trainer.batch, seq: trainer.seq,
                     trainCharacters: trainer.trainCount)
                trainer = try Trainer(text: text, vocabulary: vocabulary, options: options)
            }
        } catch {
            throw ToolError(subject: "standard input", cause: error.description)
        }
    }
    let vocabulary = trainer.vocabulary
    let state: TrainingState
    if let resumeBytes, let path = request.resumePath {
        do { state = try Checkpoint.decode(resumeBytes, trainer: trainer, textSHA256: sha).0 } catch {
            throw ToolError(subject: path, cause: error.description)
        }
    } else {
        state = trainer.makeState(initial: initial)
    }
    let o = options
    var progressLine = request.quiet ? nil : ProgressLine(fd: io.error)
    func say(_ line: String) {
        guard !request.quiet else { return }
        progressLine?.finish()
        writeDiagnostic(program + ": " + line + "\n", fd: io.error)
    }
    // A failed checkpoint is reported at once, stops training (no more time spent without one) and makes
    // the exit status 1, but the best weights are still written: the checkpoint never costs the model.
    var checkpointFailure: ToolError? = nil
    let writeCheckpoint: ((TrainingState, Double) -> Void)? = request.checkpointPath.map { path in
        { s, seconds in
            guard checkpointFailure == nil else { return }
            do throws(ToolError) {
                try writeFileAtomically(path: path, bytes: Checkpoint.encode(state: s, trainer: trainer, textSHA256: sha, seconds: seconds))
            } catch {
                checkpointFailure = error
                progressLine?.finish()
                reportError(program: program, error, fd: io.error)
            }
        }
    }
    var logFailure: OutputError? = nil

    let report = request.reportPath.map { path in
        TrainingReport(path: path, title: "rnn-fit: \(o.cell.rawValue) \(o.layers)x\(o.hiddenSize)", facts: [
            ("cell", "\(o.cell.rawValue), \(o.layers) layers of \(o.hiddenSize)" + (o.layerNorm ? ", layer normalisation" : "")),
            ("vocabulary", "\(vocabulary.count) characters"),
            ("optimizer", "\(o.optimizer.rawValue), learning rate \(o.resolvedLearningRate), dropout \(o.dropout)"
                + (o.weightDrop > 0 ? ", weight drop \(o.weightDrop)" : "")
                + (o.ema > 0 ? ", weights averaged (--ema \(o.ema))" : "")),
            ("options", request.commandLine),
            ("seed", String(o.seed)),
            ("precision", "\(o.precision.rawValue) products (CPU kernels: \(CPU.level))"),
            ("tool", "rnn-fit \(rnnstreamVersion)"),
            ("text", trainer.stream != nil ? "a stream (--stream)" : "\(trainer.textCount) characters, SHA-256 \(sha)"),
        ])
    }
    let result = trainer.run(state: state, info: initial?.info ?? [:], sampleEvery: request.sampleEvery,
                             sampleAtEvaluations: report != nil,
                             checkpointEvery: request.checkpointEvery, checkpoint: writeCheckpoint,
                             shouldStop: {
                                 if Interrupt.requested { return .interrupted }
                                 return checkpointFailure == nil ? nil : .checkpointFailed
                             }) { event in
        report?.observe(event)
        switch event {
        case let .started(batch, seq, trainChars, valChars, parameters):
            say("\(o.cell.rawValue) \(o.layers)x\(o.hiddenSize)" + (o.layerNorm ? " (layer norm)" : "") + ", \(parameters) parameters, vocabulary \(vocabulary.count); "
                + "\(trainChars) training and \(valChars) validation characters; batch \(batch), seq \(seq), "
                + "\(o.optimizer.rawValue) lr \(o.resolvedLearningRate), dropout \(o.dropout)"
                + (o.weightDrop > 0 ? ", weight drop \(o.weightDrop)" : "") + (o.ema > 0 ? ", ema \(o.ema)" : ""))
        case .progress(let p):
            progressLine?.update(progressText(p, options: o))
        case let .evaluated(p, improved):
            if progressLine != nil {
                progressLine?.update(progressText(p, options: o))
            } else {
                say(plainText(p) + (improved ? " *" : ""))
            }
            if let out = log, logFailure == nil {
                do throws(OutputError) { try out.write(jsonLine(p) + "\n") } catch { logFailure = error }
            }
        case .notice(let text):
            say(text)
        case .sample(let text):
            say("sample:\n" + text)
        }
    }
    progressLine?.finish()
    report?.finish(status: result.stopReason == .interrupted ? "interrupted" : "finished: stopped by \(result.stopReason.rawValue)")

    var model = result.model
    model.info["tool_version"] = rnnstreamVersion
    model.info["options"] = request.commandLine
    if let choice { model.info["sizing"] = choice.summary }
    if let stream = trainer.stream {
        model.info["stream"] = "true"
        model.info["unknown_chars"] = String(stream.unknown)
        if stream.unknown > 0 { say("skipped \(stream.unknown) characters outside the vocabulary") }
    } else {
        model.info["train_sha256"] = sha
        model.info["text_chars"] = String(trainer.textCount)
    }
    let weights = model.weightsFileBytes()
    if let path = request.output {
        try writeFileAtomically(path: path, bytes: weights)
    } else {
        let out = CheckedOutput(fd: io.output)
        do throws(OutputError) {
            try out.write(weights)
            try out.flush()
        } catch .closedPipe {
            // `rnn-fit | head -c 100`: the reader took what it wanted and went away, a normal end (as for gzip -c)
        } catch {
            throw ToolError(subject: "standard output", cause: error.description)
        }
    }
    let val = result.validationBPC.map { String(format: "%.4f", $0) } ?? "n/a"
    say(String(format: "%d steps, %d characters in %@ (%.0f chars/s); best validation %@ bpc, train %.4f bpc; stopped by %@",
               result.steps, result.characters, formatDuration(result.seconds),
               Double(result.characters) / max(result.seconds, 1e-9), val, result.trainBPC, result.stopReason.rawValue))
    // the weights are written: a page that could not be is reported now, without costing the model
    if let failure = report?.failure {
        throw ToolError(subject: failure.subject, cause: failure.cause + " (the model was written)")
    }
    if let error = trainer.streamError {
        throw ToolError(subject: "standard input", cause: error.description + " (the model learned so far was written)")
    }
    // the checkpoint's error line was written when it failed
    if checkpointFailure != nil { return ExitStatus.failure }
    if let logFailure {
        throw ToolError(subject: request.logPath, cause: logFailure.description + " (the model was written)")
    }
    if result.stopReason == .interrupted {
        say("interrupted: wrote the best weights so far")
        return Interrupt.exitStatus
    }
    return ExitStatus.success
}

/// Fails now, not after hours of training, when `path` could not be replaced later.
private func checkWritable(path: String) throws(ToolError) {
    let directory = (path as NSString).deletingLastPathComponent
    let probe = (directory.isEmpty ? "." : directory) + "/.rnn-fit-probe-\(getpid())"
    let fd = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    guard fd >= 0 else { throw ToolError(subject: path, cause: systemErrorMessage(errno)) }
    close(fd)
    unlink(probe)
    var st = stat()
    if stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR {
        throw ToolError(subject: path, cause: systemErrorMessage(EISDIR))
    }
}

private func bpcText(_ v: Double?) -> String { v.map { String(format: "%.3f", $0) } ?? "-" }

private func progressText(_ p: TrainingProgress, options o: TrainingOptions) -> String {
    let eta = p.fraction > 0.001 ? formatDuration(p.elapsed / p.fraction - p.elapsed) : "?"
    return String(format: "%5.1f%% %@ eta %@  %.0f chars/s  train %@  val %@  best %@", p.fraction * 100,
                  formatDuration(p.elapsed), eta, p.charactersPerSecond, bpcText(p.trainBPC),
                  bpcText(p.validationBPC), bpcText(p.bestValidationBPC))
}

private func plainText(_ p: TrainingProgress) -> String {
    String(format: "%@ step %d, %d chars, %.0f chars/s, lr %.3g, train %@ bpc, val %@ bpc, best %@",
           formatDuration(p.elapsed), p.step, p.characters, p.charactersPerSecond, p.learningRate,
           bpcText(p.trainBPC), bpcText(p.validationBPC), bpcText(p.bestValidationBPC))
}

private func jsonLine(_ p: TrainingProgress) -> String {
    func num(_ v: Double?) -> String { v.flatMap { $0.isFinite ? String(format: "%.6g", $0) : nil } ?? "null" }
    return "{\"time\":\(num(p.elapsed)),\"step\":\(p.step),\"chars\":\(p.characters),"
        + "\"chars_per_s\":\(num(p.charactersPerSecond)),\"lr\":\(num(p.learningRate)),"
        + "\"train_bpc\":\(num(p.trainBPC)),\"val_bpc\":\(num(p.validationBPC)),"
        + "\"best_val_bpc\":\(num(p.bestValidationBPC)),\"grad_norm\":\(num(p.gradientNorm))}"
}

/// The largest prefix read to pick a stream's vocabulary when neither --vocab nor --init gives one.
public let streamVocabularyPrefix = 1 << 20

/// `--stream`: the vocabulary from --init, --vocab, or the first MiB of the stream; batches read as training goes.
private func streamTrainer(_ request: FitRequest, options: TrainingOptions, initial: Model?, io: ToolStreams,
                           sized: (_ vocabSize: Int) -> TrainingOptions) throws(ToolError) -> Trainer {
    var reader = UTF8Reader(fd: io.input)
    var prefix: [Unicode.Scalar] = []
    let given = try givenVocabulary(request, initial: initial, io: io)
    if given == nil {
        var chunk: [Unicode.Scalar] = []
        do {
            while reader.bytesConsumed < streamVocabularyPrefix, try reader.next(into: &chunk) { prefix += chunk }
        } catch {
            throw ToolError(subject: "standard input", cause: error.description)
        }
        guard !prefix.isEmpty else { throw ToolError(subject: "standard input", cause: "no text to train on") }
    }
    let vocabulary = given ?? Vocabulary(text: prefix)
    guard vocabulary.count >= 1, vocabulary.count <= ModelConfig.maxVocab else {
        throw ToolError(subject: "standard input", cause: "too many distinct characters (\(vocabulary.count))")
    }
    let options = sized(vocabulary.count)
    // the reader already consumed the prefix's bytes; the batches continue from the same descriptor
    let batches = StreamBatches(fd: io.input, prefix: prefix, vocabulary: vocabulary, batch: options.batch,
                                steps: options.seq, passes: max(1, Int(options.epochs.rounded(.up))),
                                continuing: reader)
    return Trainer(stream: batches, options: options)
}

/// The vocabulary fixed before reading the input: the --init model's, or the --vocab file's.
private func givenVocabulary(_ request: FitRequest, initial: Model?, io: ToolStreams) throws(ToolError) -> Vocabulary? {
    if let initial { return initial.vocabulary }
    if let path = request.vocabPath { return try readVocabulary(path, io: io) }
    return nil
}

/// A vocabulary file: its characters, in any order, each once or more (a newline counts if present).
private func readVocabulary(_ path: String, io: ToolStreams) throws(ToolError) -> Vocabulary {
    try vocabulary(fromFile: readWholeFile(path: path, limit: 64 << 20, standardInput: io.input), subject: path)
}

/// The vocabulary a `--vocab` file's bytes give: its characters, strictly decoded, at least one (the reader
/// that `make fuzz` exercises).
package func vocabulary(fromFile bytes: [UInt8], subject: String) throws(ToolError) -> Vocabulary {
    let scalars: [Unicode.Scalar]
    do { scalars = try UTF8Reader.decode(bytes) } catch { throw ToolError(subject: subject, cause: error.description) }
    guard !scalars.isEmpty else { throw ToolError(subject: subject, cause: "empty vocabulary") }
    return Vocabulary(text: scalars)
}
