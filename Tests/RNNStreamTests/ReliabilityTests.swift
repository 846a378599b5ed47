import Foundation
import Testing
import RNNKernels
import RNNText
import RNNModel
import RNNFormat
import RNNInference
import RNNTraining
import RNNShell
import RNNTools

/// Issue 5: interrupts, checkpoints and resume, fine-tuning, hostile text. Runs the built tools.
@Suite(.serialized)
struct ReliabilityTests {
    /// Starts a long training run, waits until it has validated at least once (so it is past reading its
    /// input), then sends `signals` one after another.
    private func interruptedFit(_ directory: TemporaryDirectory, signals: [Int32], extra: [String] = []) throws -> ToolRun {
        let text = try directory.write("text.txt", englishText(scalars: 20_000))
        let log = directory.file("log.jsonl")
        let fit = try CLI.start("rnn-fit", ["--hidden", "32", "--layers", "1", "--time", "120s", "--epochs", "1000000", "--eval-every", "400",
                                            "--patience", "0", "--log", log, "-o", directory.file("m.gz")] + extra,
                                stdin: .file(text))
        try waitUntil("rnn-fit has validated once") {
            !((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").isEmpty
        }
        for s in signals {
            kill(fit.process.processIdentifier, s)
            usleep(1_000)
        }
        return try fit.wait(timeout: 60)
    }

    @Test func sigintWritesTheBestWeightsAndExits130() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let run = try interruptedFit(directory, signals: [SIGINT])
        #expect(run.status == 130 && !run.signaled, "\(run)")
        #expect(run.err.contains("interrupted"), "\(run)")
        let model = try loadModel(path: directory.file("m.gz"))
        #expect(model.info["stop_reason"] == "interrupted")
        #expect(directory.contents() == ["log.jsonl", "m.gz", "text.txt"], "leftover files: \(directory.contents())")
    }

    @Test func sigtermWritesTheBestWeightsAndExits143() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let run = try interruptedFit(directory, signals: [SIGTERM])
        #expect(run.status == 143 && !run.signaled, "\(run)")
        _ = try loadModel(path: directory.file("m.gz"))
    }

    @Test func secondSigintExitsAtOnceLeavingNoPartialFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let run = try interruptedFit(directory, signals: [SIGINT, SIGINT])
        #expect(run.status == 130 && !run.signaled, "\(run)")
        // either the first interrupt's complete model or nothing at all; never a temporary or a partial file
        let files = directory.contents()
        #expect(files == ["log.jsonl", "text.txt"] || files == ["log.jsonl", "m.gz", "text.txt"], "\(files)")
        if files.contains("m.gz") { _ = try loadModel(path: directory.file("m.gz")) }
    }

    @Test(arguments: [("lstm", []), ("gru", []), ("lstm", ["--ema", "0.9"]), ("gru", ["--weight-drop", "0.3"]),
                      ("gru", ["--layer-norm"])])
    func resumeIsExact(cell: String, extra: [String]) throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let text = try directory.write("text.txt", englishText(scalars: 30_000))
        let common = ["--cell", cell, "--hidden", "24", "--layers", "2", "--batch", "8", "--seq", "16", "--dropout", "0.1",
                      "--decay", "none", "--warmup", "5", "--eval-every", "3000", "-q"] + extra
        let first = try CLI.run("rnn-fit", common + ["--steps", "40", "--checkpoint", directory.file("ck.gz"),
                                                     "-o", directory.file("a.gz")], stdin: .file(text))
        #expect(first.status == 0, "\(first)")
        let resumed = try CLI.run("rnn-fit", common + ["--steps", "80", "--resume", directory.file("ck.gz"),
                                                       "-o", directory.file("b.gz")], stdin: .file(text))
        #expect(resumed.status == 0, "\(resumed)")
        let straight = try CLI.run("rnn-fit", common + ["--steps", "80", "-o", directory.file("c.gz")], stdin: .file(text))
        #expect(straight.status == 0, "\(straight)")
        let b = try loadModel(path: directory.file("b.gz")), c = try loadModel(path: directory.file("c.gz"))
        let same = b.parameters == c.parameters
        #expect(same, "resumed weights differ from the uninterrupted run's")
        #expect(b.info["steps"] == "80" && b.info["val_bpc"] == c.info["val_bpc"])
    }

    @Test func resumeRefusesADifferentText() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let text = try directory.write("text.txt", englishText(scalars: 5_000))
        let other = try directory.write("other.txt", englishText(scalars: 5_001))
        let flags = ["--hidden", "8", "--layers", "1", "--steps", "5", "-q"]
        let first = try CLI.run("rnn-fit", flags + ["--checkpoint", directory.file("ck.gz"), "-o", directory.file("a.gz")],
                                stdin: .file(text))
        #expect(first.status == 0, "\(first)")
        let resumed = try CLI.run("rnn-fit", flags + ["--resume", directory.file("ck.gz"), "-o", directory.file("b.gz")],
                                  stdin: .file(other))
        expectOneLineError(resumed, status: 1, mentioning: "not the text this checkpoint was trained on")
        #expect(!FileManager.default.fileExists(atPath: directory.file("b.gz")))
    }

    @Test func initFineTunesAndRejectsUnknownCharacters() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let text = try directory.write("text.txt", englishText(scalars: 5_000))
        let base = try CLI.run("rnn-fit", ["--cell", "gru", "--hidden", "12", "--layers", "1", "--steps", "10", "-q",
                                           "-o", directory.file("base.gz")], stdin: .file(text))
        #expect(base.status == 0, "\(base)")
        // other sizes on the command line are overridden by the model's
        let tuned = try CLI.run("rnn-fit", ["--init", directory.file("base.gz"), "--hidden", "99", "--steps", "10", "-q",
                                            "-o", directory.file("tuned.gz")],
                                stdin: .data(Data(englishText(scalars: 3_000).utf8)))
        #expect(tuned.status == 0, "\(tuned)")
        let a = try loadModel(path: directory.file("base.gz")), b = try loadModel(path: directory.file("tuned.gz"))
        #expect(b.config == a.config && b.vocabulary == a.vocabulary)
        #expect(b.parameters != a.parameters)
        let unknown = try CLI.run("rnn-fit", ["--init", directory.file("base.gz"), "--steps", "3", "-q",
                                              "-o", directory.file("x.gz")], stdin: .data(Data("the cat ☃ sat\n".utf8)))
        expectOneLineError(unknown, status: 1, mentioning: "U+2603")
    }

    /// NUL bytes, CRLF and characters outside the BMP are characters like any other.
    @Test func unusualButValidTextTrains() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let text = String(repeating: "line one\r\nnul:\u{0}: emoji 😀 𝄞 and more\r\n", count: 100)
        let fit = try CLI.run("rnn-fit", CLI.tinyFit + ["-o", directory.file("m.gz")], stdin: .data(Data(text.utf8)))
        #expect(fit.status == 0, "\(fit)")
        let model = try loadModel(path: directory.file("m.gz"))
        for s: Unicode.Scalar in ["\r", "\u{0}", "😀", "𝄞"] { #expect(model.vocabulary.index(of: s) != nil, "\(s.value)") }
        let score = try CLI.run("rnn-score", [directory.file("m.gz")], stdin: .data(Data(text.utf8)))
        #expect(score.status == 0 && score.out.contains(" 0 unknown"), "\(score)")
    }

    @Test func binaryInputIsInvalidUTF8() throws {
        var rng = Random(seed: 9)
        let bytes = (0..<4096).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let fit = try CLI.run("rnn-fit", CLI.tinyFit, stdin: .data(Data(bytes)))
        expectOneLineError(fit, status: 1, mentioning: "invalid UTF-8 at byte")
    }

    /// A single 100 MB line (no newline at all) trains like any text.
    @Test func hundredMegabyteSingleLine() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let unit = Array("abcdefghij klmnopqrstuvwxyz ".utf8)
        var bytes = [UInt8]()
        bytes.reserveCapacity(100 << 20)
        while bytes.count < 100 << 20 { bytes += unit }
        let path = try directory.write("line.txt", Data(bytes))
        bytes = []
        let fit = try CLI.run("rnn-fit", ["--hidden", "8", "--layers", "1", "--steps", "2", "--val-frac", "0.0005", "-q",
                                          "-o", directory.file("m.gz")], stdin: .file(path), timeout: 300)
        #expect(fit.status == 0, "\(fit)")
        let model = try loadModel(path: directory.file("m.gz"))
        #expect(model.info["text_chars"] == String(100 << 20 - (100 << 20) % unit.count + ((100 << 20) % unit.count == 0 ? 0 : unit.count)))
    }

    @Test func closedStdoutIsAnError() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let text = try directory.write("text.txt", englishText(scalars: 2_000))
        let fit = try CLI.binary("rnn-fit")
        let run = try CLI.run("/bin/sh", ["-c", "exec \"$0\" --hidden 8 --layers 1 --steps 2 -q < \"$1\" >&-", fit, text])
        #expect(run.status == 1, "\(run)")
        #expect(run.err.hasPrefix("rnn-fit: standard output: "), "\(run)")
    }

    /// Issue 11: a checkpoint that cannot be written (here: larger than the file size limit, `ulimit -f`, with
    /// SIGXFSZ ignored so that the write fails with EFBIG) is one error line and stops training, but the best
    /// weights are still written, and the exit status is 1.
    @Test func failedCheckpointStillWritesTheModel() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let text = try directory.write("text.txt", englishText(scalars: 5_000))
        let flags = ["--hidden", "32", "--layers", "1", "--steps", "30", "-q"]
        // sizes from an unlimited run: the limit must fit the model and not the checkpoint
        let sizes = try CLI.run("rnn-fit", flags + ["--checkpoint", directory.file("size-ck.gz"),
                                                    "-o", directory.file("size-m.gz")], stdin: .file(text))
        #expect(sizes.status == 0, "\(sizes)")
        func size(_ name: String) throws -> Int {
            try #require(try FileManager.default.attributesOfItem(atPath: directory.file(name))[.size] as? Int)
        }
        let modelBytes = try size("size-m.gz"), checkpointBytes = try size("size-ck.gz")
        // ulimit -f counts 512-byte blocks in dash and 1024-byte ones in bash: a limit right for both
        let blocks = modelBytes / 512 + 1
        try #require(checkpointBytes > blocks * 1024, "checkpoint \(checkpointBytes) bytes, model \(modelBytes)")
        try FileManager.default.removeItem(atPath: directory.file("size-ck.gz"))
        try FileManager.default.removeItem(atPath: directory.file("size-m.gz"))

        let checkpoint = directory.file("ck.gz"), model = directory.file("m.gz")
        // --checkpoint-every 1ms: the first checkpoint is written (and fails) at the first step
        let run = try CLI.run("/bin/sh", ["-c", "ulimit -f \(blocks) && trap '' XFSZ && exec \"$0\" \"$@\"",
                                          try CLI.binary("rnn-fit")] + flags
                                  + ["--checkpoint", checkpoint, "--checkpoint-every", "1ms", "-o", model],
                              stdin: .file(text))
        #expect(!run.signaled && run.status == 1, "\(run)")
        #expect(run.err == "rnn-fit: \(checkpoint): \(systemErrorMessage(EFBIG))\n", "\(run)")
        let trained = try loadModel(path: model)
        #expect(trained.info["stop_reason"] == "checkpoint failed")
        #expect(Int(trained.info["steps"] ?? "") ?? 30 < 30, "training went on: \(trained.info["steps"] ?? "?") steps")
        #expect(directory.contents() == ["m.gz", "text.txt"], "leftover files: \(directory.contents())")
    }

    @Test func sampleAndCheckpointCadences() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let text = try directory.write("text.txt", englishText(scalars: 5_000))
        // --sample-every 0s samples at every step that is not a validation; --checkpoint-every 0s rewrites each step
        let fit = try CLI.run("rnn-fit", ["--hidden", "8", "--layers", "1", "--steps", "5", "--sample-every", "0s",
                                          "--checkpoint", directory.file("ck.gz"), "--checkpoint-every", "0s",
                                          "-o", directory.file("m.gz")], stdin: .file(text))
        #expect(fit.status == 0, "\(fit)")
        #expect(fit.err.contains("rnn-fit: sample:"), "\(fit)")
        #expect(FileManager.default.fileExists(atPath: directory.file("ck.gz")))
        for bad in [["--sample-every", "soon"], ["--checkpoint-every", "-1m"]] {
            let run = try CLI.run("rnn-fit", bad, stdin: .file(text))
            expectOneLineError(run, status: 64, mentioning: bad[0])
        }
    }
}
