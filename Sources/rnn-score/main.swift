import ArgumentParser
import Foundation
import RNNStream

struct Score: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rnn-score",
        abstract: "Report bits per character and perplexity of text under a trained model.",
        discussion: "Reads each FILE (standard input when none, or -) as one stream from a fresh state, in constant memory. See rnn-score(1).",
        version: rnnstreamVersion)

    @Argument(help: "The weights file (- for standard input).") var model: String
    @Argument(help: "Text files to score (default: standard input).") var files: [String] = []
    @Option(help: "Threads for the matrix kernels (default: all cores, or RNNSTREAM_THREADS).") var threads: Int?

    func validate() throws {
        if let threads, !(1...256).contains(threads) { throw ValidationError("--threads must be 1...256") }
        if model == "-" && (files.isEmpty || files.contains("-")) {
            throw ValidationError("the model and the text cannot both come from standard input")
        }
    }

    func run() throws {
        if let threads { Threads.count = threads }
        var r = ScoreRequest()
        r.modelPath = model
        r.files = files
        let status = runScore(r)
        if status != 0 { throw ExitCode(status) }
    }
}

Score.main()
