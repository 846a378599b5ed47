import Foundation
import RNNTraining
import RNNInference
import RNNFormat
import RNNModel
import RNNKernels
import RNNText
import RNNShell

/// What `rnn-score` writes for each file.
public enum ScoreMode: String, Sendable, Equatable {
    /// One line per file (and a total): the default.
    case summary
    /// One record per input line.
    case perLine
    /// One record per character.
    case perCharacter
    /// The text echoed with a 256-colour background per character.
    case color
    /// A self-contained XHTML heatmap page.
    case html
}

/// What `rnn-score` was asked to do.
public struct ScoreRequest: Sendable {
    public var modelPath = ""
    /// Files to score; "-" or none: standard input.
    public var files: [String] = []
    public var mode: ScoreMode = .summary
    /// Records as JSON lines (summary, per-line and per-character modes).
    public var json = false
    /// Start every line from the fresh state.
    public var resetEachLine = false
    /// Dynamic evaluation; nil: static scoring.
    public var adapt: AdaptOptions? = nil
    /// `--color` even when standard output is not a terminal and whatever NO_COLOR says.
    public var forceColor = false
    /// Print the model's metadata and stop.
    public var info = false
    /// `--unit`: shade `--html` and `--color` by a hidden unit, or find the units that vary most.
    public var unit: UnitChoice? = nil
    /// `--precision`: the format the weights are held in while scoring.
    public var precision: WeightFormat = .defaultForInference
    /// `--batch-precision`: the precision of the batched modes' products of 2 or more rows (`BatchPredictor`).
    public var batchPrecision: Precision = .fp32
    /// `--jobs N`: cut each file into N segments scored as one batch; nil: `automaticJobs` decides.
    public var jobs: Int? = nil
    /// Characters run before each segment after the first (`--burn-in`).
    public var burnIn = defaultBurnIn
    /// `--segment K/N`: score only segment K of N of each file.
    public var segment: SegmentChoice? = nil
    /// `--sum`: the files hold JSON summary records to add up; no model.
    public var sum = false

    public init() {}
}

/// What `--unit` asks for.
public enum UnitChoice: Sendable, Equatable {
    /// `L:K`: shade by this unit.
    case unit(HiddenUnit)
    /// `top`: the units whose activations vary most with the text: listed, or (with --html) a section each,
    /// or (with --color) the text shaded by the first.
    case top

    /// Parses `L:K` (decimal, from 0) or `top`; nil for anything else.
    public init?(argument: String) {
        if argument == "top" { self = .top; return }
        let parts = argument.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let l = Int(parts[0]), let k = Int(parts[1]), l >= 0, k >= 0,
              parts.allSatisfy({ $0.allSatisfy(\.isASCII) && $0.allSatisfy(\.isNumber) }) else { return nil }
        self = .unit(HiddenUnit(layer: l, index: k))
    }
}

/// The candidates `--html` shows per character.
public let heatmapCandidates = 5

// MARK: - Result lines

/// One summary line, columns right-aligned to fixed minimum widths (wider values push the line out):
/// `    111540 chars   2.087 bpc      4.25 perplexity      232780.123 bits       0 unknown  NAME`.
/// Fields (whitespace separated): 1 characters, 3 bits per character, 5 perplexity, 7 bits, 9 unknown
/// characters, 11 the file name (only when several files are scored, and `total` on the last line).
public func scoreLine(_ t: ScoreTotals, name: String?) -> String {
    var line = String(format: "%10d chars %7.3f bpc %9.2f perplexity %15.3f bits %7d unknown", t.allCharacters,
                      t.bitsPerCharacter, t.perplexity, t.totalBits, t.unknown)
    if let name { line += "  " + name }
    return line
}

/// A summary as one JSON object: file (null for the total, which also has `"total":true`), the segment
/// (`"K/N"`, with `--segment`), characters, bits (unknown characters' cost included), bits per character,
/// perplexity, unknown characters and their bits, and the precision the weights were held in.
public func scoreJSON(_ t: ScoreTotals, file: String?, segment: SegmentChoice? = nil, precision: WeightFormat? = nil) -> String {
    var s = "{\"file\":" + (file.map(jsonString) ?? "null")
    if file == nil { s += ",\"total\":true" }
    if let segment { s += ",\"segment\":\"\(segment.index)/\(segment.count)\"" }
    s += ",\"chars\":\(t.allCharacters),\"bits\":" + jsonNumber(t.totalBits)
    s += ",\"bpc\":" + jsonNumber(t.bitsPerCharacter) + ",\"perplexity\":" + jsonNumber(t.perplexity)
    s += ",\"unknown\":\(t.unknown),\"unknown_bits\":" + jsonNumber(t.unknownBits)
    if let precision { s += ",\"precision\":" + jsonString(precision.rawValue) }
    s += "}"
    return s
}

/// Formats per-line and per-character records and the heatmaps as characters are scored. Output errors are
/// kept (`failure`) for the file loop to throw, since they arise inside the scorer's callback.
final class RecordWriter {
    let out: CheckedOutput
    let mode: ScoreMode
    let json: Bool
    /// Appended to records when several files are scored.
    var file: String?
    /// Named in the file's JSON summary (`--segment`).
    var segment: SegmentChoice?
    var failure: OutputError?
    private var offset = 0
    private var line = 1
    private var lineChars = 0, lineBits = 0.0, lineUnknown = 0
    private var echo: ColorEcho

    /// Shade by `ScoredCharacter.unit` instead of the bits (`--unit`).
    let byUnit: Bool

    /// The weights' precision, in JSON summaries.
    var precision: WeightFormat? = nil

    init(out: CheckedOutput, mode: ScoreMode, json: Bool, colored: Bool, byUnit: Bool = false) {
        self.out = out
        self.mode = mode
        self.json = json
        self.byUnit = byUnit
        echo = ColorEcho(colored: colored, byUnit: byUnit)
    }

    func startFile(_ name: String, label: String?) {
        file = label
        offset = 0; line = 1
        lineChars = 0; lineBits = 0; lineUnknown = 0
        if mode == .html { put(HeatmapPage.sectionStart(file: name == "-" ? "standard input" : name)) }
    }

    func character(_ c: ScoredCharacter) {
        guard failure == nil else { return }
        switch mode {
        case .summary:
            break
        case .perCharacter:
            if json {
                var r = "{\"offset\":\(offset),\"char\":" + jsonString(String(Character(c.scalar)))
                r += ",\"bits\":" + jsonNumber(c.bits) + ",\"unknown\":\(!c.known)"
                if let file { r += ",\"file\":" + jsonString(file) }
                put(r + "}\n")
            } else {
                var r = pad(String(offset), 10) + " " + escapedCharacter(c.scalar) + " " + String(format: "%.3f", c.bits)
                if !c.known { r += " unknown" }
                if let file { r += "  " + file }
                put(r + "\n")
            }
        case .perLine:
            lineChars += 1
            lineBits += c.bits
            if !c.known { lineUnknown += 1 }
            if c.scalar == "\n" { endLine() }
        case .color:
            do { try out.write(echo.render(c)) } catch { failure = error }
        case .html:
            put(HeatmapPage.span(c, byUnit: byUnit))
        }
        offset += 1
    }

    /// One per-line record: line number, characters (the newline included), bits per character, bits,
    /// unknown characters; `sort -k3 -n` orders by bits per character.
    private func endLine() {
        let bpc = lineBits / Double(max(lineChars, 1))
        if json {
            var r = "{\"line\":\(line),\"chars\":\(lineChars),\"bits\":" + jsonNumber(lineBits) + ",\"bpc\":" + jsonNumber(bpc)
            r += ",\"unknown\":\(lineUnknown)"
            if let file { r += ",\"file\":" + jsonString(file) }
            put(r + "}\n")
        } else {
            var r = String(format: "%8d %7d %7.3f %12.3f %5d", line, lineChars, bpc, lineBits, lineUnknown)
            if let file { r += "  " + file }
            put(r + "\n")
        }
        line += 1
        lineChars = 0; lineBits = 0; lineUnknown = 0
    }

    /// Ends a file: a last line without a newline, the colour reset, the file's summary where the mode has one.
    func endFile(_ totals: ScoreTotals, name: String) throws(OutputError) {
        if mode == .perLine && lineChars > 0 { endLine() }
        if mode == .color { do { try out.write(echo.finish()) } catch { failure = error } }
        if mode == .html { put(HeatmapPage.sectionEnd(totals)) }
        if json { put(scoreJSON(totals, file: name, segment: segment, precision: precision) + "\n") }
        if let failure { throw failure }
    }

    /// Closes what a file that failed half-way opened (the HTML section), so the page stays well-formed.
    func abortFile() {
        if mode == .html { put("</pre>\n") }
        if mode == .color { do { try out.write(echo.finish()) } catch { failure = error } }
    }

    private func put(_ s: String) {
        do { try out.write(s) } catch { failure = error }
    }
}

private func pad(_ s: String, _ width: Int) -> String {
    s.count >= width ? s : String(repeating: " ", count: width - s.count) + s
}

// MARK: - Scoring a file

/// Opens `path` ("-": standard input), feeds it through `scorer` in constant memory, and returns the file's
/// totals. At each newline the scorer is reset (`resetEachLine`) or flushed (`flushLines`, so that records
/// stream line by line). After each read, `afterRead` runs (records are flushed there) and may ask to stop.
func scoreStream(
    path: String, standardInput: Int32 = STDIN_FILENO, scorer: StreamScorer, resetEachLine: Bool, flushLines: Bool,
    afterRead: () throws -> Bool
) throws -> ScoreTotals {
    return try withInput(path, standardInput: standardInput) { fd, subject in
        try scoreStream(fd: fd, subject: subject, scorer: scorer, resetEachLine: resetEachLine, flushLines: flushLines,
                        afterRead: afterRead)
    }
}

/// Runs `body` with `path` opened for reading ("-": `standardInput`, left open) and the name errors give it.
func withInput<R>(_ path: String, standardInput: Int32, _ body: (Int32, String) throws -> R) throws -> R {
    let subject = path == "-" ? "standard input" : path
    var fd = standardInput
    if path != "-" {
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ToolError(subject: subject, cause: systemErrorMessage(errno)) }
    }
    defer { if path != "-" { close(fd) } }
    return try body(fd, subject)
}

/// `scoreStream(path:…)` on an open descriptor (not closed), errors about `subject`.
func scoreStream(
    fd: Int32, subject: String, scorer: StreamScorer, resetEachLine: Bool, flushLines: Bool, afterRead: () throws -> Bool
) throws -> ScoreTotals {
    scorer.discard()
    let before = scorer.totals
    scorer.reset()
    var reader = UTF8Reader(fd: fd)
    var chunk: [Unicode.Scalar] = []
    do {
        while try reader.next(into: &chunk) {
            for s in chunk {
                scorer.feed(s)
                if s == "\n" {
                    if resetEachLine { scorer.reset() } else if flushLines { scorer.flush() }
                }
            }
            if try afterRead() { break }
        }
    } catch let error as TextError {
        throw ToolError(subject: subject, cause: error.description)
    }
    scorer.flush()
    return scorer.totals - before
}

/// Scores one file the way `request` asks: cut into segments (`--segment`, or `--jobs` / `automaticJobs` on a
/// regular file), its lines batched (`--reset-each-line`), or exactly, as one stream through `scorer`.
/// Characters go to `onCharacter` in text order.
func scoreFile(
    _ path: String, request: ScoreRequest, standardInput: Int32, scorer: StreamScorer, parameters: Parameters,
    vocabulary: Vocabulary, candidates: Int, onCharacter: ((ScoredCharacter) -> Void)?, flushLines: Bool,
    afterRead: () throws -> Bool
) throws -> ScoreTotals {
    try withInput(path, standardInput: standardInput) { fd, subject in
        if request.adapt == nil && !request.resetEachLine && (request.segment != nil || request.jobs != 1) {
            if let text = SeekableText(fd: fd, subject: subject) {
                let n = request.segment?.count ?? request.jobs ?? (request.mode == .summary ? automaticJobs(size: text.size) : 1)
                if n > 1 || request.segment != nil {
                    return try scoreSegments(text, segments: n, only: request.segment.map { $0.index - 1 }, burnIn: request.burnIn,
                                             parameters: parameters, vocabulary: vocabulary, weights: request.precision,
                                             products: request.batchPrecision, candidates: candidates,
                                             onCharacter: onCharacter, afterStep: afterRead)
                }
            } else if request.segment != nil {
                throw ToolError(subject: subject, cause: "--segment needs a regular file (a pipe cannot be cut into segments)")
            }
        }
        if request.resetEachLine && request.adapt == nil {
            return try scoreLines(fd: fd, subject: subject, parameters: parameters, vocabulary: vocabulary,
                                  weights: request.precision, products: request.batchPrecision, candidates: candidates,
                                  onCharacter: onCharacter,
                                  afterRead: afterRead)
        }
        return try scoreStream(fd: fd, subject: subject, scorer: scorer, resetEachLine: request.resetEachLine, flushLines: flushLines,
                               afterRead: afterRead)
    }
}

/// Scores every file in its own worker (a pool of `workers` threads, each with its own scorer over the
/// shared read-only parameters; the kernels run on one thread each meanwhile) and hands each file's result
/// to `report` in argument order, as soon as it and all before it are done. `report` returning false
/// (output gone) stops the pool.
func scoreInParallel(
    files: [String], standardInput: Int32, parameters: Parameters, vocabulary: Vocabulary, adapt: AdaptOptions?, resetEachLine: Bool,
    weights: WeightFormat = .fp32, workers: Int, report: (Int, Result<ScoreTotals, ToolError>) -> Bool
) {
    final class Board: @unchecked Sendable {
        let condition = NSCondition()
        var results: [Result<ScoreTotals, ToolError>?]
        var next = 0
        var running = 0
        var stop = false
        init(count: Int) { results = Array(repeating: nil, count: count) }
    }
    let board = Board(count: files.count)
    let savedThreads = Threads.count
    Threads.count = 1
    defer { Threads.count = savedThreads }
    board.running = workers
    for _ in 0..<workers {
        let thread = Thread {
            let scorer = StreamScorer(parameters: parameters, vocabulary: vocabulary, adapt: adapt, weights: weights)
            while true {
                board.condition.lock()
                if board.stop || board.next >= files.count {
                    board.running -= 1
                    board.condition.broadcast()
                    board.condition.unlock()
                    return
                }
                let i = board.next
                board.next += 1
                board.condition.unlock()
                let result: Result<ScoreTotals, ToolError>
                do {
                    let t = try scoreStream(path: files[i], standardInput: standardInput, scorer: scorer, resetEachLine: resetEachLine, flushLines: false) {
                        Interrupt.requested || board.stop
                    }
                    result = .success(t)
                } catch let error as ToolError {
                    result = .failure(error)
                } catch {
                    result = .failure(ToolError(subject: files[i], cause: "\(error)"))
                }
                board.condition.lock()
                board.results[i] = result
                board.condition.broadcast()
                board.condition.unlock()
            }
        }
        thread.stackSize = 1 << 22
        thread.start()
    }
    for i in 0..<files.count {
        board.condition.lock()
        while board.results[i] == nil { board.condition.wait() }
        let result = board.results[i]!
        board.condition.unlock()
        if !report(i, result) {
            board.condition.lock()
            board.stop = true
            board.condition.unlock()
            break
        }
    }
    // the workers use the parameters and Threads.count: wait for them all before returning
    board.condition.lock()
    while board.running > 0 { board.condition.wait() }
    board.condition.unlock()
}

// MARK: - The tool

/// `rnn-score`: bits per character and perplexity of each file under a model, or per-line and
/// per-character records, or a surprisal heatmap.
public func runScore(_ request: ScoreRequest, streams io: ToolStreams = .standard) -> Int32 {
    let program = "rnn-score"
    ignoreSIGPIPE()
    reserveStandardDescriptors()
    Interrupt.install()
    let out = CheckedOutput(fd: io.output)
    var status = ExitStatus.success
    if request.sum { return runSum(request, streams: io, out: out) }
    do {
        let model = try loadModel(path: request.modelPath, standardInput: io.input)
        if request.info { return try writeModelInfo(model, path: request.modelPath, precision: request.precision, to: out) }
        var colored = false
        if request.mode == .color {
            if request.forceColor {
                colored = true
            } else if let v = ProcessInfo.processInfo.environment["NO_COLOR"], !v.isEmpty {
                colored = false
            } else if !isTerminal(io.output) {
                throw ToolError(subject: "--color", cause: "standard output is not a terminal (add --force-color, or use --html)",
                                status: ExitStatus.usage)
            } else {
                colored = true
            }
        }
        let parameters = Parameters(model: model)
        let files = request.files.isEmpty ? ["-"] : request.files
        if let unit = request.unit {
            return try scoreUnits(unit, request: request, model: model, parameters: parameters, files: files,
                                  colored: colored, out: out, io: io)
        }
        let several = files.count > 1
        var total = ScoreTotals()
        let workers = min(Threads.count, files.count)
        // segments and batched lines use every core for one file at a time
        let batched = request.resetEachLine || request.segment != nil || (request.jobs ?? 1) > 1

        if request.mode == .summary && workers > 1 && !batched {
            var outputError: OutputError?
            scoreInParallel(files: files, standardInput: io.input, parameters: parameters, vocabulary: model.vocabulary, adapt: request.adapt,
                            resetEachLine: request.resetEachLine, weights: request.precision, workers: workers) { i, result in
                switch result {
                case .success(let t):
                    total = total + t
                    do throws(OutputError) {
                        try out.write((request.json ? scoreJSON(t, file: files[i], precision: request.precision) : scoreLine(t, name: files[i])) + "\n")
                        try out.flush()
                    } catch {
                        outputError = error
                        return false
                    }
                case .failure(let error):
                    // like wc: report the file, go on with the rest, fail at the end
                    reportError(program: program, error, fd: io.error)
                    status = ExitStatus.failure
                }
                return !Interrupt.requested
            }
            if let outputError { throw outputError }
            if Interrupt.requested { try out.flush(); return Interrupt.exitStatus }
        } else {
            let scorer = StreamScorer(parameters: parameters, vocabulary: model.vocabulary, adapt: request.adapt,
                                      weights: request.precision)
            if request.mode == .html { scorer.candidates = heatmapCandidates }
            let writer = RecordWriter(out: out, mode: request.mode, json: request.json, colored: colored)
            writer.precision = request.precision
            writer.segment = request.segment
            let onCharacter: ((ScoredCharacter) -> Void)? = request.mode == .summary ? nil : { writer.character($0) }
            scorer.onCharacter = onCharacter
            if request.mode == .html { try out.write(HeatmapPage.header(model: request.modelPath)) }
            let streaming = request.mode != .summary
            for file in files {
                do {
                    writer.startFile(file, label: several ? file : nil)
                    let t = try scoreFile(file, request: request, standardInput: io.input, scorer: scorer, parameters: parameters,
                                          vocabulary: model.vocabulary, candidates: request.mode == .html ? heatmapCandidates : 0,
                                          onCharacter: onCharacter, flushLines: streaming && request.adapt == nil) {
                        if let failure = writer.failure { throw failure }
                        if streaming { try out.flush() }
                        return Interrupt.requested
                    }
                    try writer.endFile(t, name: file)
                    if Interrupt.requested { try out.flush(); return Interrupt.exitStatus }
                    total = total + t
                    if request.mode == .summary && !request.json { try out.write(scoreLine(t, name: several ? file : nil) + "\n") }
                    if streaming { try out.flush() }
                } catch let error as ToolError {
                    writer.abortFile()
                    reportError(program: program, error, fd: io.error)
                    status = ExitStatus.failure
                }
            }
            if request.mode == .html { try out.write(HeatmapPage.footer) }
        }
        if several && (request.json || request.mode == .summary) {
            try out.write((request.json ? scoreJSON(total, file: nil, precision: request.precision) : scoreLine(total, name: "total")) + "\n")
        }
        try out.flush()
        return status
    } catch {
        return exitStatus(program: program, after: error, closedPipeStatus: status, fd: io.error)
    }
}
