import ArgumentParser
import Foundation
import RNNTools
import RNNShell
import RNNKernels
import RNNInference
import RNNStreamCLI

extension WeightFormat: ExpressibleByArgument {}
extension Precision: ExpressibleByArgument {}

struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rnn-score",
        abstract: "Report bits per character and perplexity of text under a trained model.",
        discussion: """
            Reads each FILE (standard input when none, or -) as one stream from a fresh state, in constant memory; \
            several files are scored in parallel and reported in argument order with a total, like wc. \
            A file of 16 MiB or more is cut into 64 segments scored as one batch (see --jobs, --burn-in). \
            Unknown characters cost log2(V+1) bits each and are counted. See rnn-score(1).
            """,
        version: rnnstreamVersion)

    @Argument(help: "The weights file (- for standard input); with --sum, the first file of records.") var model: String?
    @Argument(help: "Text files to score (default: standard input).") var files: [String] = []
    @Flag(name: .customLong("per-line"), help: "One record per input line: line, chars, bpc, bits, unknown.") var perLine = false
    @Flag(name: .customLong("per-char"), help: "One record per character: offset, escaped character, bits.") var perChar = false
    @Flag(help: "Records as JSON lines, each file's totals after its records, the grand total last.") var json = false
    @Flag(help: "Echo the text with each character's background shaded by its bits (terminal only, honours NO_COLOR).") var color = false
    @Flag(name: .customLong("force-color"), help: "With --color: colour even when standard output is not a terminal or NO_COLOR is set.") var forceColor = false
    @Flag(help: "Write a self-contained HTML heatmap page (one <span> per character) to standard output.") var html = false
    @Option(help: ArgumentHelp("With --html or --color: shade by hidden unit K of layer L (from 0) instead of the bits; top: the units that vary most with the text (listed, or a section each with --html).", valueName: "L:K|top")) var unit: String?
    @Flag(name: .customLong("reset-each-line"), help: "Score each line from the fresh state (default: the state carries across lines).") var resetEachLine = false
    @Flag(help: "Dynamic evaluation: learn from the text while scoring it (each chunk scored before it is learned).") var adapt = false
    @Option(name: .customLong("adapt-lr"), help: "Adam learning rate of --adapt.") var adaptLR: Double = AdaptOptions.defaultLearningRate
    @Option(name: .customLong("adapt-chunk"), help: "Characters per --adapt training step.") var adaptChunk: Int = AdaptOptions.defaultChunk
    @Flag(help: "Print the model's metadata as JSON and exit.") var info = false
    @Option(help: "Hold the weights as fp32, fp16 or bf16 (widened to fp32 as they are used; see the man page).") var precision: WeightFormat = .defaultForInference
    @Option(help: "Threads for the matrix kernels and for files in parallel (default: all cores, or RNNSTREAM_THREADS).") var threads: Int?
    @Option(help: ArgumentHelp("Cut each file into N contiguous segments scored as N streams of one batch, approximately (see --burn-in; default: 64 for a regular file of 16 MiB or more in summary mode, else exact, one stream).", valueName: "N")) var jobs: Int?
    @Option(name: .customLong("burn-in"), help: ArgumentHelp("Characters before each segment after the first that are run, not scored, to warm its state up.", valueName: "C")) var burnIn: Int = defaultBurnIn
    @Option(help: ArgumentHelp("Score only segment K of N of each file (1 <= K <= N), with its burn-in; --json records of all N add up to --jobs N.", valueName: "K/N")) var segment: String?
    @Option(name: .customLong("batch-precision"), help: "Multiply the batched modes' products (--jobs, --segment, --reset-each-line) in fp32 or bf16 (bf16 needs AVX512_BF16 and rounds the states too; see the man page).") var batchPrecision: Precision = .fp32
    @Flag(help: "Add up rnn-score --json summary records (FILEs or standard input) and print the total; takes no model.") var sum = false

    func validate() throws {
        if let threads, !(1...256).contains(threads) { throw ValidationError("--threads: must be 1...256") }
        if let jobs, !(1...maxSegments).contains(jobs) { throw ValidationError("--jobs: must be 1...\(maxSegments)") }
        if burnIn < 0 { throw ValidationError("--burn-in: must not be negative") }
        if !batchPrecision.isSupported {
            throw ValidationError("--batch-precision bf16: this CPU has no AVX512_BF16 (its kernels: \(CPU.level))")
        }
        if let segment, SegmentChoice(argument: segment) == nil {
            throw ValidationError("--segment: \(segment.debugDescription) is not K/N with 1 <= K <= N <= \(maxSegments)")
        }
        if sum {
            if perLine || perChar || color || html || info || adapt || resetEachLine || unit != nil || jobs != nil || segment != nil {
                throw ValidationError("--sum: takes only --json and files of records")
            }
            return
        }
        guard let model else { throw ValidationError("missing the model (a weights file, or - for standard input)") }
        if segment != nil && jobs != nil { throw ValidationError("--segment: does not go with --jobs (K/N says N)") }
        if jobs != nil || segment != nil {
            let option = segment != nil ? "--segment" : "--jobs"
            if adapt { throw ValidationError("\(option): does not go with --adapt") }
            if unit != nil { throw ValidationError("\(option): does not go with --unit") }
            if resetEachLine { throw ValidationError("\(option): does not go with --reset-each-line (its lines are batched already)") }
        }
        if info {
            if !files.isEmpty { throw ValidationError("--info takes no FILE") }
            return
        }
        if model == "-" && (files.isEmpty || files.contains("-")) {
            throw ValidationError("the model and the text cannot both come from standard input")
        }
        if [perLine, perChar, color, html].filter({ $0 }).count > 1 {
            throw ValidationError("choose one of --per-line, --per-char, --color and --html")
        }
        if json && (color || html) { throw ValidationError("--json does not go with --color or --html") }
        if forceColor && !color { throw ValidationError("--force-color needs --color") }
        if let unit {
            guard let choice = UnitChoice(argument: unit) else {
                throw ValidationError("--unit: \(unit.debugDescription) is not L:K (layer and unit numbers) or top")
            }
            if choice != .top && !(html || color) { throw ValidationError("--unit: L:K needs --html or --color") }
            if perLine || perChar || json { throw ValidationError("--unit: does not go with --per-line, --per-char or --json") }
            if adapt { throw ValidationError("--unit: does not go with --adapt") }
        }
        if !(adaptLR > 0 && adaptLR.isFinite) { throw ValidationError("--adapt-lr: must be positive") }
        if !(1...4096).contains(adaptChunk) { throw ValidationError("--adapt-chunk: must be 1...4096") }
        if adapt && resetEachLine { throw ValidationError("--adapt does not go with --reset-each-line") }
    }

    func run() throws {
        if let threads { Threads.count = threads }
        var r = ScoreRequest()
        if sum {
            r.sum = true
            r.json = json
            r.files = (model.map { [$0] } ?? []) + files
            let status = runScore(r)
            if status != 0 { throw ExitCode(status) }
            return
        }
        r.modelPath = model ?? "-"
        r.files = files
        r.jobs = jobs
        r.burnIn = burnIn
        r.segment = segment.flatMap(SegmentChoice.init(argument:))
        r.unit = unit.flatMap(UnitChoice.init(argument:))
        r.mode = perLine ? .perLine : perChar ? .perCharacter : color ? .color : html ? .html : .summary
        r.json = json
        r.resetEachLine = resetEachLine
        r.adapt = adapt ? AdaptOptions(learningRate: adaptLR, chunk: adaptChunk) : nil
        r.forceColor = forceColor
        r.info = info
        r.precision = precision
        r.batchPrecision = batchPrecision
        let status = runScore(r)
        if status != 0 { throw ExitCode(status) }
    }
}

Score.mainReportingErrors(program: "rnn-score")
