import Foundation

/// What `rnn-score` was asked to do.
public struct ScoreRequest: Sendable {
    public var modelPath = ""
    /// Files to score; "-" or none: standard input.
    public var files: [String] = []

    public init() {}
}

/// Scores one file (or stdin) as a stream, in constant memory.
public func scoreFile(_ path: String, scorer: Scorer) throws(ToolError) -> ScoreTotals {
    let subject = path == "-" ? "standard input" : path
    var fd = STDIN_FILENO
    if path != "-" {
        fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ToolError(subject: subject, cause: systemErrorMessage(errno)) }
    }
    defer { if path != "-" { close(fd) } }
    let before = scorer.totals
    scorer.reset()
    var reader = UTF8Reader(fd: fd)
    var chunk: [Unicode.Scalar] = []
    do {
        while try reader.next(into: &chunk) {
            scorer.feed(scalars: chunk)
            chunk.removeAll(keepingCapacity: true)
            if Interrupt.requested { break }
        }
    } catch {
        throw ToolError(subject: subject, cause: error.description)
    }
    scorer.feed(scalars: chunk)
    scorer.flush()
    var t = scorer.totals
    t.characters -= before.characters; t.nats -= before.nats; t.unknown -= before.unknown
    return t
}

/// One result line: `111540 chars  2.087 bpc  4.25 perplexity  0 unknown`, then the name if given.
public func scoreLine(_ t: ScoreTotals, name: String?) -> String {
    var line = String(format: "%d chars  %.3f bpc  %.2f perplexity  %d unknown", t.characters, t.bitsPerCharacter,
                      t.perplexity, t.unknown)
    if let name { line += "  " + name }
    return line
}

/// `rnn-score`: bits per character and perplexity of each file under a model.
public func runScore(_ request: ScoreRequest) -> Int32 {
    let program = "rnn-score"
    ignoreSIGPIPE()
    Interrupt.install()
    let out = CheckedOutput.standardOutput()
    var status = ExitStatus.success
    do {
        let model = try loadModel(path: request.modelPath)
        let scorer = Scorer(parameters: Parameters(model: model), vocabulary: model.vocabulary)
        let files = request.files.isEmpty ? ["-"] : request.files
        var total = ScoreTotals()
        for file in files {
            do {
                let t = try scoreFile(file, scorer: scorer)
                if Interrupt.requested { return Interrupt.exitStatus }
                total = total + t
                try out.write(scoreLine(t, name: files.count > 1 ? file : nil) + "\n")
            } catch let error as ToolError {
                // like wc: report the file, go on with the rest, fail at the end
                reportError(program: program, error)
                status = ExitStatus.failure
            }
        }
        if files.count > 1 { try out.write(scoreLine(total, name: "total") + "\n") }
        try out.flush()
        return status
    } catch let error as OutputError {
        if error == .closedPipe { return status }
        reportError(program: program, subject: "standard output", cause: error.description)
        return ExitStatus.failure
    } catch let error as ToolError {
        reportError(program: program, error)
        return error.status
    } catch {
        reportError(program: program, cause: "\(error)")
        return ExitStatus.failure
    }
}
