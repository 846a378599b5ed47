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

/// Issue 7: `rnn-fit --stream`.
@Suite(.serialized)
struct StreamTests {
    private let flags = ["--stream", "--cell", "gru", "--hidden", "16", "--layers", "1", "--batch", "4", "--seq", "8",
                         "--eval-every", "100000", "-q"]

    /// The held-out text and the training blocks, in memory, for a small stream.
    @Test func blocksAndHeldOutText() throws {
        let text = Array(englishText(scalars: 20_000).unicodeScalars)
        let vocabulary = Vocabulary(text: text)
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        close(fds[1])  // everything comes from the prefix
        defer { close(fds[0]) }
        let batches = StreamBatches(fd: fds[0], prefix: text, vocabulary: vocabulary, batch: 4, steps: 8,
                                    stepsPerBlock: 5, reserveEvery: 3, validationLimit: 500)
        let state = RecurrentState(config: ModelConfig(cell: .rnn, vocabSize: vocabulary.count, hiddenSize: 2, layers: 1), batch: 4)
        var inputs = [Int32](repeating: 0, count: 32), targets = inputs
        var steps = 0
        while try batches.next(inputs: &inputs, targets: &targets, state: state) {
            steps += 1
            // targets are the inputs shifted by one character within each stream
            for t in 0..<7 { for b in 0..<4 { #expect(targets[t * 4 + b] == inputs[(t + 1) * 4 + b]) } }
        }
        let blockSize = 4 * 5 * 8 + 1
        let blocks = text.count / blockSize
        let heldOut = min(blocks / 3, (500 + blockSize - 1) / blockSize)
        #expect(batches.validation.count == min(500, heldOut * blockSize))
        #expect(steps == (blocks - heldOut) * 5)
        #expect(batches.consumed == text.count)  // the last, partial block is read but not trained on
    }

    @Test func trainsFromAPipeWithTheVocabularyOfItsStart() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // a character that first appears after the first MiB is skipped and counted
        let text = englishText(scalars: (1 << 20) + 200_000) + String(repeating: "☃", count: 7) + englishText(scalars: 30_000)
        let fit = try CLI.run("rnn-fit", flags + ["-o", directory.file("m.gz")], stdin: .data(Data(text.utf8)))
        #expect(fit.status == 0, "\(fit)")
        let model = try loadModel(path: directory.file("m.gz"))
        #expect(model.vocabulary.index(of: "☃") == nil)
        // 7 a pass over the input (how many passes the run makes before its early stop depends on the precision)
        let unknown = try #require(model.info["unknown_chars"].flatMap(Int.init))
        #expect(model.info["stream"] == "true" && unknown > 0 && unknown % 7 == 0, "\(unknown)")
        #expect(model.info["val_bpc"] != nil)
    }

    @Test func vocabularyFromAFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let vocab = try directory.write("vocab.txt", "abcdefghijklmnopqrstuvwxyz .,\n")
        let fit = try CLI.run("rnn-fit", flags + ["--vocab", vocab, "-o", directory.file("m.gz")],
                              stdin: .data(Data(englishText(scalars: 60_000).utf8)))
        #expect(fit.status == 0, "\(fit)")
        let model = try loadModel(path: directory.file("m.gz"))
        #expect(model.vocabulary.string == "\n ,.abcdefghijklmnopqrstuvwxyz")
        #expect(Int(model.info["unknown_chars"] ?? "") ?? 0 > 0)  // capitals, accents, dashes
    }

    @Test func severalPassesOverASeekableFile() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let text = try directory.write("t.txt", englishText(scalars: 30_000))
        let one = try CLI.run("rnn-fit", flags + ["--epochs", "1", "-o", directory.file("1.gz")], stdin: .file(text))
        let three = try CLI.run("rnn-fit", flags + ["--epochs", "3", "-o", directory.file("3.gz")], stdin: .file(text))
        #expect(one.status == 0 && three.status == 0, "\(one)\n\(three)")
        let a = try loadModel(path: directory.file("1.gz")), b = try loadModel(path: directory.file("3.gz"))
        #expect(Int(b.info["steps"]!)! > 2 * Int(a.info["steps"]!)!)
        #expect(b.info["epochs"] == "3")
    }

    @Test func interruptWritesWhatWasLearned() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // an endless stream: the tool only stops when told to
        let fit = try CLI.binary("rnn-fit")
        let script = "yes 'the quick brown fox jumps over the lazy dog' | exec \"$0\" \"$@\""
        let log = directory.file("log.jsonl")
        let run = try CLI.start("/bin/sh", ["-c", script, fit] + flags + ["--patience", "0", "--log", log,
                                                                          "-o", directory.file("m.gz")])
        // it has read input and trained once it has logged
        try waitUntil("rnn-fit has logged a line") {
            !((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").isEmpty
        }
        // signal the whole process group's rnn-fit: it is the shell's exec'd child
        let pgrep = try CLI.run("/usr/bin/pgrep", ["-f", "-n", directory.file("m.gz")])
        if let pid = Int32(pgrep.out.trimmingCharacters(in: .whitespacesAndNewlines)) { kill(pid, SIGINT) }
        let result = try run.wait(timeout: 60)
        #expect(result.status == 130, "\(result)")
        _ = try loadModel(path: directory.file("m.gz"))
    }

    @Test func streamRefusesCheckpoints() throws {
        let run = try CLI.run("rnn-fit", flags + ["--checkpoint", "/tmp/x.ck"], stdin: .data(Data("abc".utf8)))
        expectOneLineError(run, status: 64, mentioning: "--stream")
    }
}
