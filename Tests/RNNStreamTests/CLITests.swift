// The three tools run as built binaries (see CLISupport.swift): stdout, stderr and exit status.
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
import RNNKernels
import RNNText
import RNNModel
import RNNFormat
import RNNInference
import RNNTraining
import RNNShell
import RNNTools

nonisolated(unsafe) private var sharedModelDirectory: String? = nil

/// One small model for the tests that only read a model, trained once on `text`.
private enum SharedModel {
    static let text = englishText(scalars: 4000)

    private static let trained: Result<String, Error> = Result {
        // kept for the whole test run, removed when the test process exits
        let directory = try TemporaryDirectory()
        sharedModelDirectory = directory.path
        atexit { if let path = sharedModelDirectory { try? FileManager.default.removeItem(atPath: path) } }
        let path = directory.file("shared.gz")
        let fit = try CLI.run("rnn-fit", CLI.tinyFit + ["-o", path], stdin: .data(Data(text.utf8)))
        guard fit.status == 0, !fit.signaled else { throw CLIError("training the shared model failed: \(fit)") }
        return path
    }

    /// The model's path; throws when it could not be trained.
    static func path() throws -> String { try trained.get() }
}

/// One `rnn-score` result line, taken apart.
private struct ScoreLine {
    var characters: Int
    var bpc: String
    var unknown: Int
    var name: String?

    /// `    111540 chars   2.087 bpc      4.25 perplexity    232773.112 bits       0 unknown`, then `  NAME` when
    /// scoring several files (columns right-aligned to fixed minimum widths, see rnn-score(1)).
    init?(_ line: String) {
        let shape = try! Regex(#" *(\d+) chars +(\d+\.\d{3}) bpc +(\d+\.\d{2}) perplexity +\d+\.\d{3} bits +(\d+) unknown(?:  (.+))?"#)
        guard let m = line.wholeMatch(of: shape), let chars = Int(String(m.output[1].substring!)),
              let unknown = Int(String(m.output[4].substring!)) else { return nil }
        characters = chars
        bpc = String(m.output[2].substring!)
        self.unknown = unknown
        name = m.output[5].substring.map(String.init)
    }
}

/// Each line of a `--log` file as a JSON object.
private func logRecords(_ path: String) throws -> [[String: Any]] {
    let text = try String(contentsOfFile: path, encoding: .utf8)
    var records: [[String: Any]] = []
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) where !line.isEmpty {
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8))
        guard let record = object as? [String: Any] else { throw CLIError("log line is not an object: \(line)") }
        records.append(record)
    }
    #expect(text.hasSuffix("\n"), "the log's last line is not terminated")
    return records
}

private func number(_ record: [String: Any], _ key: String) -> Double? {
    (record[key] as? NSNumber)?.doubleValue
}

private func threeDecimals(_ v: Double) -> String { String(format: "%.3f", v) }

@Suite(.serialized)
struct CLITests {
    /// The other tests fail the same way when a tool is not built; this one says only that.
    @Test func toolsAreBuilt() throws {
        for name in ["rnn-fit", "rnn-gen", "rnn-score"] { _ = try CLI.binary(name) }
    }

    // MARK: Round trips

    @Test func fitGenScoreRoundTrip() throws {
        let text = SharedModel.text
        let fit = try CLI.run("rnn-fit", CLI.tinyFit, stdin: .data(Data(text.utf8)))
        #expect(fit.status == 0 && !fit.signaled, "\(fit)")
        #expect(fit.err.isEmpty, "-q, yet stderr: \(fit)")
        try #require(fit.stdout.count > 100, "no weights on stdout: \(fit)")

        // rnn-fit | rnn-gen -n 200 --prime 'The ' -
        let piped = try CLI.run("rnn-gen", ["-n", "200", "--prime", "The ", "-"], stdin: .data(fit.stdout))
        #expect(piped.status == 0 && piped.err.isEmpty, "\(piped)")
        let pipedText = try #require(String(data: piped.stdout, encoding: .utf8), "rnn-gen wrote invalid UTF-8")
        #expect(pipedText.hasPrefix("The "))
        #expect(pipedText.unicodeScalars.count == 4 + 200, "\(pipedText.unicodeScalars.count) scalars: \(pipedText.debugDescription)")

        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let model = try directory.write("m.gz", fit.stdout)
        let gen = try CLI.run("rnn-gen", ["-n", "200", model])
        #expect(gen.status == 0 && gen.err.isEmpty, "\(gen)")
        let genText = try #require(String(data: gen.stdout, encoding: .utf8), "rnn-gen wrote invalid UTF-8")
        #expect(genText.unicodeScalars.count == 200)

        let textFile = try directory.write("text.txt", text)
        for arguments in [[model], [model, textFile]] {
            let score = try CLI.run("rnn-score", arguments, stdin: .data(Data(text.utf8)))
            #expect(score.status == 0 && score.err.isEmpty, "\(score)")
            let shape = try Regex(#" *\d+ chars +\d+\.\d{3} bpc +\d+\.\d{2} perplexity +\d+\.\d{3} bits +\d+ unknown\n"#)
            #expect(score.out.wholeMatch(of: shape) != nil, "not one score line: \(score.out.debugDescription)")
            #expect(ScoreLine(score.outLines.first ?? "")?.characters == text.unicodeScalars.count)
        }
    }

    @Test func weightsAreGzipOfSafetensors() throws {
        let gzip = try #require(["/usr/bin/gzip", "/bin/gzip"].first { FileManager.default.isExecutableFile(atPath: $0) },
                                "no gzip(1) to check with")
        let unzip = try CLI.run(gzip, ["-dc", try SharedModel.path()])
        #expect(unzip.status == 0 && unzip.err.isEmpty, "\(unzip)")
        let bytes = [UInt8](unzip.stdout)
        try #require(bytes.count > 9, "\(unzip)")
        // safetensors: an 8-byte little-endian header length, then the JSON header
        let length = bytes[0..<8].reversed().reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        #expect(bytes[8] == UInt8(ascii: "{"))
        try #require(length >= 2 && length <= UInt64(bytes.count - 8), "header length \(length) of \(bytes.count) bytes")
        let header = try JSONSerialization.jsonObject(with: Data(bytes[8..<(8 + Int(length))])) as? [String: Any]
        let metadata = header?["__metadata__"] as? [String: String]
        #expect(metadata?["format"] == "rnnstream")
    }

    /// The held-out text is the input's last N - floor(0.9 N) scalars, and rnn-score on it reproduces the
    /// validation figure stored in the model and logged.
    /// Also with layer normalisation: the trainer's validation, rnn-score and rnn-gen all run the LN cells.
    @Test(arguments: [[], ["--cell", "gru", "--layer-norm"]])
    func validationIsReproducibleWithScore(extra: [String]) throws {
        let n = 3007  // 0.9 N = 2706.3: not near a whole number
        let text = englishText(scalars: n)
        #expect(text.utf8.count > n, "the text should have multi-byte characters")
        let trainCount = Int((0.9 * Double(n)).rounded(.down))
        let heldOut = String(String.UnicodeScalarView(text.unicodeScalars.suffix(n - trainCount)))

        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let model = directory.file("m.gz"), log = directory.file("log.jsonl")
        let heldOutFile = try directory.write("held-out.txt", heldOut)
        let fit = try CLI.run("rnn-fit", ["--hidden", "16", "--layers", "1", "--batch", "8", "--seq", "32", "--steps", "40",
                                          "--val-frac", "0.1", "--eval-every", "1024", "--log", log, "-o", model, "-q"] + extra,
                              stdin: .data(Data(text.utf8)))
        try #require(fit.status == 0 && !fit.signaled, "\(fit)")

        let stored = try #require(loadModel(path: model).info["val_bpc"].flatMap(Double.init), "no val_bpc in the model")
        let records = try logRecords(log)
        try #require(records.count >= 2, "expected several validations in the log")
        let bestLogged = try #require(records.compactMap { number($0, "val_bpc") }.min())
        let lastBest = try #require(number(records.last!, "best_val_bpc"))

        // fp32 weights: the scoring the trainer's validation does (the default, fp16, differs in the 5th decimal)
        let score = try CLI.run("rnn-score", ["--precision", "fp32", model, heldOutFile])
        #expect(score.status == 0 && score.err.isEmpty, "\(score)")
        let line = try #require(ScoreLine(score.outLines.first ?? ""), "\(score)")
        #expect(line.characters == n - trainCount, "the held-out part is not the last N - floor(0.9 N) scalars")
        #expect(line.unknown == 0)
        #expect(line.bpc == threeDecimals(stored), "rnn-score \(line.bpc) bpc, model val_bpc \(stored)")
        #expect(line.bpc == threeDecimals(bestLogged), "rnn-score \(line.bpc) bpc, best logged val_bpc \(bestLogged)")
        #expect(line.bpc == threeDecimals(lastBest), "rnn-score \(line.bpc) bpc, last best_val_bpc \(lastBest)")
        if !extra.isEmpty {
            let info = try CLI.run("rnn-score", ["--info", model])
            #expect(info.status == 0 && info.out.contains(#""layer_norm""#), "\(info)")
            let gen = try CLI.run("rnn-gen", ["-n", "50", model])
            #expect(gen.status == 0 && gen.err.isEmpty && String(decoding: gen.stdout, as: UTF8.self).unicodeScalars.count == 50, "\(gen)")
        }
    }

    // MARK: Determinism

    /// The layer-normalised case is wide enough (batch 48 of 3·128 floats) for every LayerNorm loop, the
    /// recurrent one too, to run in pieces on the threads.
    @Test(arguments: [["--cell", "lstm", "--hidden", "64", "--batch", "16"], ["--cell", "gru", "--hidden", "64", "--batch", "16"],
                      ["--cell", "gru", "--layer-norm", "--hidden", "128", "--batch", "48"]])
    func sameSeedSameWeightsOnAnyThreadCount(model: [String]) throws {
        let text = Data(englishText(scalars: 5000).utf8)
        let arguments = model + ["--layers", "2", "--seq", "32", "--steps", "15", "--eval-every", "2048", "--seed", "7", "-q"]
        var outputs: [Data] = []
        for threads in ["1", "2", "1"] {
            let fit = try CLI.run("rnn-fit", arguments, stdin: .data(text), environment: ["RNNSTREAM_THREADS": threads])
            #expect(fit.status == 0 && fit.err.isEmpty, "\(fit)")
            outputs.append(fit.stdout)
        }
        try #require(!outputs[0].isEmpty)
        let models = try outputs.map { try Model.load(weightsFile: [UInt8]($0)) }
        func differences(_ a: Model, _ b: Model) -> String {
            let keys = Set(a.info.keys).union(b.info.keys).filter { a.info[$0] != b.info[$0] }.sorted()
            return "metadata differs in " + keys.map { "\($0) (\(a.info[$0] ?? "-") vs \(b.info[$0] ?? "-"))" }.joined(separator: ", ")
                + (a.parameters == b.parameters ? "; the weights are equal" : "; the weights differ")
        }
        // compared as Bool: #expect on two large Data values would compute their difference
        let sameAcrossThreads = outputs[0] == outputs[1], sameAgain = outputs[0] == outputs[2]
        let sameWeights = models[0].parameters == models[1].parameters
        #expect(sameAcrossThreads, "RNNSTREAM_THREADS=1 and =2 wrote different model files: \(differences(models[0], models[1]))")
        #expect(sameAgain, "two runs with RNNSTREAM_THREADS=1 wrote different model files: \(differences(models[0], models[2]))")
        #expect(sameWeights, "RNNSTREAM_THREADS=1 and =2 gave different weights")
    }

    @Test func generationFollowsTheSeed() throws {
        let model = try SharedModel.path()
        func generate(seed: String) throws -> Data {
            let gen = try CLI.run("rnn-gen", ["-n", "300", "--seed", seed, model])
            #expect(gen.status == 0 && gen.err.isEmpty, "\(gen)")
            return gen.stdout
        }
        let first = try generate(seed: "5"), again = try generate(seed: "5"), other = try generate(seed: "6")
        #expect(!first.isEmpty)
        let same = first == again, different = first != other
        #expect(same, "--seed 5 twice gave different text")
        #expect(different, "--seed 5 and --seed 6 gave the same text")
    }

    // MARK: Stopping and logging

    @Test func timeLimitStopsTraining() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let model = directory.file("m.gz")
        let fit = try CLI.run("rnn-fit", ["--hidden", "16", "--layers", "1", "--time", "2s", "--epochs", "1000000",
                                          "--patience", "0", "-q", "-o", model],
                              stdin: .data(Data(englishText(scalars: 3000).utf8)), timeout: 30)
        #expect(fit.status == 0 && fit.err.isEmpty, "\(fit)")
        let loaded = try loadModel(path: model)
        #expect(loaded.info["stop_reason"] == "time")
    }

    /// With a learning rate too small to change any float32 weight, validation never improves after the
    /// first evaluation, so `--patience 1` stops at the second.
    @Test func patienceStopsEarly() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let model = directory.file("m.gz"), log = directory.file("log.jsonl")
        let maxSteps = 2000
        let fit = try CLI.run("rnn-fit", ["--hidden", "16", "--layers", "1", "--batch", "4", "--seq", "25", "--lr", "1e-9",
                                          "--warmup", "0", "--patience", "1", "--eval-every", "200", "--steps", "\(maxSteps)",
                                          "--log", log, "-o", model],
                              stdin: .data(Data(englishText(scalars: 3000).utf8)))
        #expect(fit.status == 0, "\(fit)")
        #expect(fit.err.contains("early stop"), "stderr does not mention the early stop: \(fit)")
        let info = try loadModel(path: model).info
        #expect(info["stop_reason"] == "early stop")
        #expect(info["steps"].flatMap(Int.init).map { $0 < maxSteps } == true, "steps: \(info["steps"] ?? "none")")
        // the last validation was the first without improvement (tiny float32 changes may improve a few before)
        let records = try logRecords(log)
        try #require(records.count >= 2, "\(records.count) validations logged")
        let last = records[records.count - 1], previous = records[records.count - 2]
        #expect(number(last, "val_bpc").flatMap { v in number(last, "best_val_bpc").map { v >= $0 } } == true, "\(last)")
        #expect(number(last, "best_val_bpc") == number(previous, "best_val_bpc"), "the last validation improved: \(last)")
    }

    @Test func logIsJSONLines() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let log = directory.file("log.jsonl")
        let fit = try CLI.run("rnn-fit", ["--hidden", "16", "--layers", "1", "--batch", "8", "--seq", "32", "--steps", "30",
                                          "--eval-every", "1024", "--log", log, "-q"],
                              stdin: .data(Data(englishText(scalars: 3000).utf8)))
        #expect(fit.status == 0 && fit.err.isEmpty, "\(fit)")
        let records = try logRecords(log)
        #expect(records.count >= 3, "\(records.count) log lines")
        for (i, record) in records.enumerated() {
            for key in ["time", "step", "chars", "lr", "train_bpc", "val_bpc", "grad_norm"] {
                let v = number(record, key)
                #expect(v.map { $0.isFinite && $0 >= 0 } == true, "line \(i + 1): \(key) is \(String(describing: record[key]))")
            }
        }
        let steps = records.compactMap { number($0, "step") }
        #expect(steps == steps.sorted() && Set(steps).count == steps.count, "steps not increasing: \(steps)")
    }

    // MARK: Small corpora

    @Test func smallTextAdaptsBatchAndSeq() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let model = directory.file("m.gz")
        let fit = try CLI.run("rnn-fit", ["--hidden", "16", "--layers", "1", "--steps", "30", "-o", model],
                              stdin: .data(Data(englishText(scalars: 300).utf8)))
        #expect(fit.status == 0, "\(fit)")
        #expect(fit.err.contains("small text: using batch"), "stderr does not say the sizes were adapted: \(fit)")
        let loaded = try loadModel(path: model)
        #expect(loaded.vocabulary.count > 10)
    }

    @Test func oneCharacterTextFails() throws {
        let fit = try CLI.run("rnn-fit", CLI.tinyFit, stdin: .data(Data("a".utf8)))
        expectOneLineError(fit, status: 1, mentioning: "rnn-fit: standard input: ")
    }

    @Test func emptyInputFails() throws {
        let fit = try CLI.run("rnn-fit", CLI.tinyFit, stdin: .data(Data()))
        expectOneLineError(fit, status: 1, mentioning: "rnn-fit: standard input: ")
        #expect(fit.err.hasPrefix("rnn-fit: standard input: "), "\(fit)")
    }

    /// Options out of their range are refused before anything is read: one usage line naming the option, exit 64
    /// (EX_USAGE), nothing on stdout.
    @Test(arguments: [["--ema", "1"], ["--ema=-0.1"], ["--ema", "nan"], ["--dropout", "0.95"], ["--weight-drop", "1"], ["--lr", "0"],
                      ["--seq", "0"], ["--val-frac", "1"], ["--time", "soon"]])
    func outOfRangeOptionsAreRefused(option: [String]) throws {
        let fit = try CLI.run("rnn-fit", CLI.tinyFit + option, stdin: .data(Data(englishText(scalars: 3000).utf8)))
        expectOneLineError(fit, status: 64, mentioning: "rnn-fit: \(option[0].split(separator: "=")[0]): ")
    }

    // MARK: Errors

    /// (text before the bad bytes, the bad bytes)
    @Test(arguments: [("hello, wörld ", [0xFF]), ("naïve café ", [0xC3, 0x28]), ("ok — fine", [0xE2, 0x82]),
                      ("", [0xC0, 0xAF]), ("surrogate ", [0xED, 0xA0, 0x80])] as [(String, [UInt8])])
    func invalidUTF8IsReportedWithItsOffset(prefix: String, bad: [UInt8]) throws {
        let input = Data(prefix.utf8) + Data(bad) + Data(" and more text after it".utf8)
        let fit = try CLI.run("rnn-fit", CLI.tinyFit, stdin: .data(input))
        expectOneLineError(fit, status: 1, mentioning: "invalid UTF-8 at byte \(prefix.utf8.count)")
        #expect(fit.err.hasPrefix("rnn-fit: standard input: "), "\(fit)")
    }

    enum BadModel: String, CaseIterable {
        case notGzip, gzipOfText, truncated, corruptedByte, absurdHeader, missing
    }

    @Test(arguments: BadModel.allCases)
    func badModelsFailWithOneLine(kind: BadModel) throws {
        let good = try [UInt8](Data(contentsOf: URL(fileURLWithPath: try SharedModel.path())))
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file(kind.rawValue + ".gz")
        var rng = SystemRandomNumberGenerator()
        switch kind {
        case .notGzip:
            try directory.write(kind.rawValue + ".gz", String(repeating: "this is not a model\n", count: 10))
        case .gzipOfText:
            let letters = Array("abcdefghijklmnopqrstuvwxyz \n".unicodeScalars)
            let text = String(String.UnicodeScalarView((0..<5000).map { _ in letters.randomElement(using: &rng)! }))
            try directory.write(kind.rawValue + ".gz", Data(Gzip.compress(Array(text.utf8))))
        case .truncated:
            try directory.write(kind.rawValue + ".gz", Data(good[0..<(good.count / 2)]))
        case .corruptedByte:
            var bytes = good
            bytes[bytes.count / 2] ^= 0xFF
            try directory.write(kind.rawValue + ".gz", Data(bytes))
        case .absurdHeader:
            let junk = (0..<200).map { _ in UInt8.random(in: 0...255, using: &rng) }
            try directory.write(kind.rawValue + ".gz", Data(Gzip.compress([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F] + junk)))
        case .missing:
            break
        }
        let text = try directory.write("text.txt", "the text to score\n")
        for (program, arguments) in [("rnn-gen", ["-n", "10", path]), ("rnn-score", [path, text])] {
            let run = try CLI.run(program, arguments, timeout: 30)
            expectOneLineError(run, status: 1, mentioning: "\(program): \(path): ")
            if kind == .missing { #expect(run.err.contains("No such file or directory"), "\(run)") }
        }
    }

    @Test func unwritableOutputFailsBeforeTraining() throws {
        let input = ToolInput.data(Data(englishText(scalars: 3000).utf8))
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // a training step would be logged: no log file means it failed before training
        let log = directory.file("log.jsonl")
        let arguments = ["--hidden", "16", "--layers", "1", "--time", "60s", "--epochs", "1000000", "--patience", "0",
                         "-q", "--log", log, "--eval-every", "1"]
        let fit = try CLI.run("rnn-fit", arguments + ["-o", "/nonexistent-dir/m.gz"], stdin: input, timeout: 30)
        expectOneLineError(fit, status: 1, mentioning: "rnn-fit: /nonexistent-dir/m.gz: No such file or directory")
        #expect(!FileManager.default.fileExists(atPath: log), "it trained before finding out")
        #expect(!FileManager.default.fileExists(atPath: "/nonexistent-dir"))

        let inside = try CLI.run("rnn-fit", arguments + ["-o", directory.file("missing/m.gz")], stdin: input, timeout: 30)
        expectOneLineError(inside, status: 1, mentioning: "No such file or directory")
        #expect(!FileManager.default.fileExists(atPath: log), "it trained before finding out")
        #expect(directory.contents().isEmpty, "left behind: \(directory.contents())")
    }

    @Test func fitToFullDeviceFails() throws {
        let full = try #require(FileHandle(forWritingAtPath: "/dev/full"))
        defer { try? full.close() }
        let fit = try CLI.run("rnn-fit", CLI.tinyFit, stdin: .data(Data(englishText(scalars: 3000).utf8)), stdout: .handle(full))
        expectOneLineError(fit, status: 1, mentioning: "No space left on device")
        #expect(fit.err.hasPrefix("rnn-fit: standard output: "), "\(fit)")
    }

    /// `-o` naming a pipe (or a device) writes into it: renaming the temporary over it would leave a regular
    /// file in its place (as root, even over /dev/null).
    @Test func outputToAPipeWritesIntoIt() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let fifo = directory.file("weights.fifo")
        #expect(mkfifo(fifo, 0o600) == 0)
        // a reader drains the pipe into a file while rnn-fit writes
        let reader = try CLI.start("/bin/sh", ["-c", "cat \"$0\" > \"$1\"", fifo, directory.file("copy.gz")])
        let fit = try CLI.run("rnn-fit", CLI.tinyFit + ["-o", fifo], stdin: .data(Data(englishText(scalars: 3000).utf8)))
        #expect(fit.status == 0 && fit.err.isEmpty, "\(fit)")
        let drained = try reader.wait(timeout: 60)
        #expect(drained.status == 0, "\(drained)")
        var st = stat()
        #expect(stat(fifo, &st) == 0 && (st.st_mode & S_IFMT) == S_IFIFO, "the pipe is still a pipe")
        _ = try loadModel(path: directory.file("copy.gz"))
    }

    @Test func genToFullDeviceFails() throws {
        let full = try #require(FileHandle(forWritingAtPath: "/dev/full"))
        defer { try? full.close() }
        let gen = try CLI.run("rnn-gen", ["-n", "100", try SharedModel.path()], stdout: .handle(full))
        expectOneLineError(gen, status: 1, mentioning: "No space left on device")
        #expect(gen.err.hasPrefix("rnn-gen: standard output: "), "\(gen)")
    }

    /// Issue 11: `rnn-fit ... 2>&1 | head -2` and `2>/dev/full`: progress and messages that cannot be written
    /// are dropped (no SIGPIPE, no crash), and the model is still written with status 0.
    @Test(arguments: ["closed pipe", "/dev/full"])
    func unwritableStderrStillWritesTheModel(stderr: String) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let handle: FileHandle
        if stderr == "closed pipe" {
            let pipe = Pipe()
            try pipe.fileHandleForReading.close()
            handle = pipe.fileHandleForWriting
        } else {
            handle = try #require(FileHandle(forWritingAtPath: stderr))
        }
        defer { try? handle.close() }
        // not -q: a start line, a line per validation and a summary, all to the unwritable stderr
        let fit = try CLI.run("rnn-fit", ["--hidden", "16", "--layers", "1", "--steps", "30", "--eval-every", "2000",
                                          "--sample-every", "0s", "-o", directory.file("m.gz")],
                              stdin: .data(Data(englishText(scalars: 5000).utf8)), stderr: .handle(handle))
        #expect(!fit.signaled && fit.status == 0, "\(fit)")
        let model = try loadModel(path: directory.file("m.gz"))
        #expect(model.info["steps"] == "30")
        #expect(directory.contents() == ["m.gz"], "\(directory.contents())")
    }

    /// `rnn-fit ... 2>&-`: with stderr closed, the messages do not end up in the next file opened (the log).
    @Test func closedStderrDoesNotLeakIntoTheLog() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let text = try directory.write("text.txt", englishText(scalars: 3_000))
        let log = directory.file("log.jsonl"), model = directory.file("m.gz")
        let run = try CLI.run("/bin/sh", ["-c", "exec \"$0\" --hidden 8 --layers 1 --steps 5 --log \"$1\" -o \"$2\" < \"$3\" 2>&-",
                                          try CLI.binary("rnn-fit"), log, model, text])
        #expect(!run.signaled && run.status == 0, "\(run)")
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n")
        #expect(!lines.isEmpty && lines.allSatisfy { $0.hasPrefix("{\"time\":") }, "\(lines)")
        _ = try loadModel(path: model)
    }

    /// `rnn-gen -n 0 m.gz | head -c 100`: the reader going away ends rnn-gen quietly with status 0.
    @Test func closedPipeIsANormalEnd() throws {
        let model = try SharedModel.path()
        let pipe = Pipe()
        let running = try CLI.start("rnn-gen", ["-n", "0", model], stdout: .handle(pipe.fileHandleForWriting))
        try pipe.fileHandleForWriting.close()
        var head = Data()
        while head.count < 100 {
            guard let chunk = try pipe.fileHandleForReading.read(upToCount: 100 - head.count), !chunk.isEmpty else { break }
            head += chunk
        }
        try pipe.fileHandleForReading.close()
        let gen = try running.wait(timeout: 30)
        #expect(head.count == 100, "read only \(head.count) bytes")
        #expect(!gen.signaled && gen.status == 0, "\(gen)")
        #expect(gen.err.isEmpty, "\(gen)")
    }

    /// `rnn-fit ... | head -c 10`: the reader going away before the weights are all written is a normal end too
    /// (status 0, nothing on stderr), as it is for gzip -c.
    @Test func fitToAClosedPipeIsANormalEnd() throws {
        let pipe = Pipe()
        try pipe.fileHandleForReading.close()
        defer { try? pipe.fileHandleForWriting.close() }
        let fit = try CLI.run("rnn-fit", ["-q", "--hidden", "16", "--layers", "1", "--steps", "5"],
                              stdin: .data(Data(englishText(scalars: 5000).utf8)),
                              stdout: .handle(pipe.fileHandleForWriting))
        #expect(!fit.signaled && fit.status == 0, "\(fit)")
        #expect(fit.err.isEmpty, "\(fit)")
    }

    @Test(arguments: [("rnn-fit", ["--hidden", "0"], "--hidden"),
                      ("rnn-gen", ["--temperature", "-1", "MODEL"], "--temperature"),
                      ("rnn-gen", ["--temperature=-1", "MODEL"], "--temperature"),
                      ("rnn-gen", ["--top-p", "2", "MODEL"], "--top-p")])
    func usageErrorsExit64(program: String, arguments: [String], option: String) throws {
        let model = try SharedModel.path()
        let run = try CLI.run(program, arguments.map { $0 == "MODEL" ? model : $0 },
                              stdin: .data(Data(englishText(scalars: 1000).utf8)))
        expectOneLineError(run, status: 64, mentioning: option)
    }

    @Test func primeOutsideTheVocabularyIsAUsageError() throws {
        let gen = try CLI.run("rnn-gen", ["--prime", "The €", "-n", "10", try SharedModel.path()])
        expectOneLineError(gen, status: 64, mentioning: "U+20AC")
        #expect(gen.err.contains("€"), "the message does not show the character: \(gen)")
    }

    @Test func scoreGoesOnPastAMissingFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let a = try directory.write("a.txt", englishText(scalars: 500))
        let b = try directory.write("b.txt", englishText(scalars: 700))
        let missing = directory.file("missing.txt")
        let score = try CLI.run("rnn-score", [try SharedModel.path(), a, missing, b])
        #expect(!score.signaled && score.status == 1, "\(score)")
        let lines = score.outLines.map(ScoreLine.init)
        #expect(lines.count == 3 && !lines.contains { $0 == nil }, "stdout: \(score.out.debugDescription)")
        #expect(lines.map { $0?.name } == [a, b, "total"], "stdout: \(score.out.debugDescription)")
        #expect(lines.map { $0?.characters } == [500, 700, 1200], "stdout: \(score.out.debugDescription)")
        #expect(score.err == "rnn-score: \(missing): No such file or directory\n", "\(score)")
    }

    // MARK: Terminals

    @Test func fitRefusesToWriteWeightsToATerminal() throws {
        let terminal = try PseudoTerminal()
        defer { terminal.closeBoth() }
        let fit = try CLI.run("rnn-fit", CLI.tinyFit, stdin: .data(Data(englishText(scalars: 3000).utf8)),
                              stdout: .handle(FileHandle(fileDescriptor: terminal.slave, closeOnDealloc: false)))
        #expect(!fit.signaled && fit.status == 1, "\(fit)")
        #expect(fit.err.wholeMatch(of: try Regex(#"rnn-fit: standard output: [^\n]*terminal[^\n]*\n"#)) != nil, "\(fit)")
        // nothing reached the terminal
        let shown = terminal.pendingOutput()
        #expect(shown.isEmpty, "\(shown.count) bytes written to the terminal")
    }

    // MARK: Scoring

    @Test func unknownCharactersAreCounted() throws {
        let known = Set(SharedModel.text.unicodeScalars)
        let text = "Hello 世界, the snowman ☃ says: ∑ of all things is 42€!\n"
        let unknown = text.unicodeScalars.filter { !known.contains($0) }.count
        try #require(unknown >= 5, "the test text should have unknown characters")
        let score = try CLI.run("rnn-score", [try SharedModel.path()], stdin: .data(Data(text.utf8)))
        #expect(score.status == 0 && score.err.isEmpty, "\(score)")
        let line = try #require(ScoreLine(score.outLines.first ?? ""), "\(score)")
        #expect(score.outLines.count == 1)
        #expect(line.unknown == unknown)
        // unknown characters count as characters, each at a fixed cost (rnn-score(1))
        #expect(line.characters == text.unicodeScalars.count)
    }

    @Test func severalFilesGetOneLineEachAndATotal() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let texts = [englishText(scalars: 300), "Café ☃ and 世界\n", englishText(scalars: 1234)]
        let known = Set(SharedModel.text.unicodeScalars)
        var files: [String] = []
        for (i, text) in texts.enumerated() { files.append(try directory.write("f\(i).txt", text)) }
        let score = try CLI.run("rnn-score", [try SharedModel.path()] + files)
        #expect(score.status == 0 && score.err.isEmpty, "\(score)")
        let lines = score.outLines.compactMap(ScoreLine.init)
        try #require(lines.count == texts.count + 1 && score.outLines.count == texts.count + 1,
                     "stdout: \(score.out.debugDescription)")
        for (i, text) in texts.enumerated() {
            let unknown = text.unicodeScalars.filter { !known.contains($0) }.count
            #expect(lines[i].name == files[i])
            #expect(lines[i].characters == text.unicodeScalars.count, "\(files[i])")
            #expect(lines[i].unknown == unknown, "\(files[i])")
        }
        let total = lines[texts.count]
        #expect(total.name == "total")
        #expect(total.characters == lines.dropLast().map(\.characters).reduce(0, +))
        #expect(total.unknown == lines.dropLast().map(\.unknown).reduce(0, +))
    }
}
