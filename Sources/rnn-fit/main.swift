import ArgumentParser
import Foundation
import RNNTools
import RNNShell
import RNNKernels
import RNNModel
import RNNTraining
import RNNStreamCLI

extension CellKind: ExpressibleByArgument {}
extension OptimizerKind: ExpressibleByArgument {}
extension Schedule.Decay: ExpressibleByArgument {}
extension Precision: ExpressibleByArgument {}

struct Fit: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rnn-fit",
        abstract: "Train a character-level language model on the text read from standard input.",
        discussion: "Writes gzip-compressed safetensors weights to standard output (or -o FILE): the weights with the best validation loss. See rnn-fit(1).",
        version: rnnstreamVersion)

    @Option(help: "Recurrent cell: rnn, lstm or gru (default: lstm, or sized to --time; see rnn-fit(1)).") var cell: CellKind?
    @Option(help: "Hidden units per layer (default: 256, or sized to --time; see rnn-fit(1)).") var hidden: Int?
    @Option(help: "Number of stacked layers (default: 2).") var layers: Int?
    @Option(help: "Parallel streams per step (default: 50, or sized to --time).") var batch: Int?
    @Option(help: "Characters per truncated-BPTT chunk.") var seq: Int = 50
    @Option(help: "Optimizer: adam, rmsprop or adagrad.") var optimizer: OptimizerKind = .adam
    @Option(help: "Learning rate (default: 0.002 for adam and rmsprop, 0.1 for adagrad; more for a short --time run).") var lr: Double?
    @Option(help: "Linear learning-rate warm-up over this many steps.") var warmup: Int = 100
    @Option(help: "Learning-rate decay over the run: cosine or none.") var decay: Schedule.Decay = .cosine
    @Option(help: "Clip the gradients' global norm to this value (0: off).") var clip: Double = 5
    @Option(help: "Dropout between layers and before the output, 0 to 0.9 (default: 0, or sized to --time).") var dropout: Double?
    @Option(name: .customLong("weight-drop"), help: "Drop this fraction of the recurrent weights at every update (DropConnect), 0 to 0.9 (default: 0, or sized to --time).") var weightDrop: Double?
    @Flag(name: .customLong("layer-norm"), inversion: .prefixedNo, help: "Normalise each gate's input and recurrent pre-activations (layer normalisation; default: off, or on with --time).") var layerNorm: Bool?
    @Option(help: "Validate and write an exponential moving average of the weights, with this decay per update (0: off).") var ema: Double = 0.999
    @Option(help: "Stop after this many passes over the training text.") var epochs: Double = 50
    @Option(help: "Stop after this much time, e.g. 90s, 5m, 1h30m.") var time: String?
    @Option(help: "Stop after this many updates.") var steps: Int?
    @Option(help: "Stop after this many validations without improvement (0: never).") var patience: Int = 5
    @Option(name: .customLong("val-frac"), help: "Fraction of the input, at its end, held out for validation.") var valFrac: Double = 0.1
    @Option(name: .customLong("eval-every"), help: "Validate every this many training characters (default: 10x the validation text, at least 200000).") var evalEvery: Int?
    @Option(name: .customLong("reset-every"), help: "Reset each stream's state every this many steps (0: only each epoch).") var resetEvery: Int = 64
    @Option(help: "Random seed (same input, options and seed give the same weights).") var seed: UInt64 = 1
    @Option(help: "Matrix products in fp32 or bf16 (bf16 needs AVX512_BF16; default: bf16 where it is faster, see rnn-fit(1)).") var precision: Precision?
    @Option(help: "Threads for the matrix kernels (default: all cores, or RNNSTREAM_THREADS).") var threads: Int?
    @Option(name: [.short, .customLong("output")], help: "Write the weights to FILE atomically instead of standard output.") var output: String?
    @Option(help: "Write one JSON object per validation to FILE.") var log: String?
    @Option(help: "Keep a self-contained HTML page about the run in FILE (curves, samples, options), rewritten at every validation.") var report: String?
    @Option(name: .customLong("sample-every"), help: "Print a short generated sample to stderr this often, e.g. 30s.") var sampleEvery: String?
    @Option(help: "Keep a resumable training state in FILE (written atomically).") var checkpoint: String?
    @Option(name: .customLong("checkpoint-every"), help: "Rewrite the checkpoint this often, e.g. 10m.") var checkpointEvery: String = "10m"
    @Option(help: "Continue the run saved in checkpoint FILE (same input and options).") var resume: String?
    @Option(name: .customLong("init"), help: "Start from the weights in MODEL (fine-tuning; its vocabulary and sizes are kept).") var initModel: String?
    @Flag(help: "Train online from a stream larger than memory, in bounded memory (see rnn-fit(1)).") var stream = false
    @Option(help: "Take the vocabulary from the characters of FILE.") var vocab: String?
    @Flag(name: [.short, .long], help: "No progress on stderr.") var quiet = false

    func validate() throws {
        func check(_ ok: Bool, _ message: String) throws { if !ok { throw ValidationError(message) } }
        try check(hidden.map { $0 >= 1 && $0 <= ModelConfig.maxHidden } ?? true, "--hidden: must be 1...\(ModelConfig.maxHidden)")
        try check(layers.map { $0 >= 1 && $0 <= ModelConfig.maxLayers } ?? true, "--layers: must be 1...\(ModelConfig.maxLayers)")
        try check(batch.map { $0 >= 1 && $0 <= 4096 } ?? true, "--batch: must be 1...4096")
        try check(seq >= 1 && seq <= 4096, "--seq: must be 1...4096")
        try check(lr.map { $0 > 0 && $0.isFinite } ?? true, "--lr: must be a positive number")
        try check(warmup >= 0, "--warmup: must not be negative")
        try check(clip >= 0 && clip.isFinite, "--clip: must be 0 or positive")
        try check(dropout.map { $0 >= 0 && $0 <= 0.9 } ?? true, "--dropout: must be 0...0.9")
        try check(weightDrop.map { $0 >= 0 && $0 <= 0.9 } ?? true, "--weight-drop: must be 0...0.9")
        try check(ema >= 0 && ema < 1, "--ema: must be 0 or more and below 1")
        try check(epochs > 0 && epochs.isFinite, "--epochs: must be positive")
        try check(steps.map { $0 >= 1 } ?? true, "--steps: must be at least 1")
        try check(patience >= 0, "--patience: must not be negative")
        try check(valFrac >= 0 && valFrac < 1, "--val-frac: must be in [0, 1)")
        try check(evalEvery.map { $0 >= 1 } ?? true, "--eval-every: must be at least 1")
        try check(resetEvery >= 0, "--reset-every: must not be negative")
        try check(threads.map { $0 >= 1 && $0 <= 256 } ?? true, "--threads: must be 1...256")
        try check(precision?.isSupported ?? true, "--precision bf16: this CPU has no AVX512_BF16 (its kernels: \(CPU.level))")
        if let time { _ = try parse(time, "--time") }
        if let sampleEvery { _ = try parse(sampleEvery, "--sample-every") }
        _ = try parse(checkpointEvery, "--checkpoint-every")
        try check(resume == nil || initModel == nil, "--resume and --init cannot be combined")
        try check(!stream || (resume == nil && checkpoint == nil), "--stream: cannot be combined with --checkpoint or --resume")
        try check(vocab == nil || initModel == nil, "--vocab and --init cannot be combined")
    }

    func parse(_ s: String, _ option: String) throws -> Double {
        do { return try parseDuration(s) } catch { throw ValidationError("\(option): \(error.cause)") }
    }

    func run() throws {
        if let threads { Threads.count = threads }
        var r = FitRequest()
        r.training.cell = cell ?? r.training.cell
        r.training.hiddenSize = hidden ?? r.training.hiddenSize
        r.training.layers = layers ?? r.training.layers
        r.training.layerNorm = layerNorm ?? r.training.layerNorm
        r.training.batch = batch ?? r.training.batch
        r.training.seq = seq
        r.training.optimizer = optimizer
        r.training.learningRate = lr
        r.training.warmupSteps = warmup
        r.training.decay = decay
        r.training.clip = clip
        r.training.dropout = dropout ?? r.training.dropout
        r.training.weightDrop = weightDrop ?? r.training.weightDrop
        r.training.ema = ema
        r.training.epochs = epochs
        r.training.timeLimit = try time.map { try parse($0, "--time") }
        if time != nil {
            if cell == nil { r.sizeToTime.insert(.cell) }
            if hidden == nil { r.sizeToTime.insert(.hidden) }
            if layers == nil { r.sizeToTime.insert(.layers) }
            if dropout == nil { r.sizeToTime.insert(.dropout) }
            if weightDrop == nil { r.sizeToTime.insert(.weightDrop) }
            if layerNorm == nil { r.sizeToTime.insert(.layerNorm) }
            if lr == nil { r.sizeToTime.insert(.learningRate) }
            if batch == nil { r.sizeToTime.insert(.batch) }
        }
        r.training.maxSteps = steps
        r.training.patience = patience
        r.training.validationFraction = valFrac
        r.training.evalEvery = evalEvery
        r.training.resetEvery = resetEvery
        r.training.seed = seed
        r.training.precision = precision ?? .trainingDefault
        r.precisionGiven = precision != nil
        r.output = output
        r.quiet = quiet
        r.logPath = log
        r.reportPath = report
        r.sampleEvery = try sampleEvery.map { try parse($0, "--sample-every") }
        r.checkpointPath = checkpoint
        r.checkpointEvery = try parse(checkpointEvery, "--checkpoint-every")
        r.resumePath = resume
        r.initPath = initModel
        r.stream = stream
        r.vocabPath = vocab
        r.commandLine = CommandLine.arguments.dropFirst().joined(separator: " ")
        let status = runFit(r)
        if status != 0 { throw ExitCode(status) }
    }
}

Fit.mainReportingErrors(program: "rnn-fit")
