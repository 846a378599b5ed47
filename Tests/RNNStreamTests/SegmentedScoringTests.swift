import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
#if canImport(Glibc)
import Glibc
#endif
import Testing
import RNNKernels
import RNNText
import RNNModel
import RNNInference
import RNNTraining
import RNNTools

// rnn-score --jobs, --burn-in, --segment, --sum and the batched --reset-each-line: BatchPredictor against
// Predictor, the segment rule, and the built binary against the exact single-stream scorer.

/// Random weights of a scale that keeps the gates away from saturation.
/// A two-layer LSTM trained for a few steps on `englishText`, its weights file, and text files beside it.
private final class SegmentFixture: @unchecked Sendable {
    static let shared = SegmentFixture()
    let directory: TemporaryDirectory
    let model: Model
    let modelPath: String
    /// About 6000 characters of English with multi-byte letters and dashes, lines of varied length, and
    /// characters the model never saw (digits, an emoji); no final newline.
    let text: String
    let textPath: String

    init() {
        directory = try! TemporaryDirectory()
        let training = Array(englishText(scalars: 3000).unicodeScalars)
        let vocabulary = Vocabulary(text: training)
        var options = TrainingOptions()
        options.cell = .lstm
        options.hiddenSize = 24
        options.layers = 2
        options.batch = 4
        options.seq = 32
        options.maxSteps = 60
        options.validationFraction = 0
        options.learningRate = 0.01
        options.warmupSteps = 0
        options.seed = 9
        let trainer = try! Trainer(text: training.map { vocabulary.index(of: $0)! }, vocabulary: vocabulary, options: options)
        model = trainer.run().model
        modelPath = try! directory.write("m.gz", Data(model.weightsFileBytes()))
        var t = englishText(scalars: 5000)
        t += "\n\nIn 2024 😀 the café had 42 naïve customers.\n" + String(repeating: "the quick brown fox ", count: 40)
        t += "\n" + englishText(scalars: 900)
        text = t
        textPath = try! directory.write("text.txt", t)
    }
}

private var fixture: SegmentFixture { SegmentFixture.shared }

private func score(_ arguments: [String], stdin: ToolInput = .none) throws -> ToolRun {
    try CLI.run("rnn-score", arguments, stdin: stdin)
}

private func records(_ run: ToolRun) -> [[String: Any]] {
    run.outLines.map { (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any] ?? [:] }
}

private func value(_ record: [String: Any], _ key: String) -> Double { (record[key] as? NSNumber)?.doubleValue ?? .nan }

/// `a` and `b` agree to a relative 1e-9 (sums of the same terms in another order).
private func close(_ a: Double, _ b: Double) -> Bool { abs(a - b) <= 1e-9 * max(1, abs(a), abs(b)) }

@Suite struct BatchPredictorTests {
    /// Three streams of different lengths, one sitting out steps and one starting afresh mid-chunk, against
    /// a Predictor per stream.
    @Test(arguments: [CellKind.rnn, .lstm, .gru], [false, true])
    func everyStreamMatchesItsOwnPredictor(_ cell: CellKind, layerNorm: Bool) {
        let V = 11, B = 3, T = 9
        let p = randomParameters(cell, hidden: 40, layers: 2, vocab: V, seed: 21, layerNorm: layerNorm)
        var rng = Random(seed: 22)
        // per stream: the steps it feeds; stream 2 starts a second text at step 5
        let lengths = [T, 6, T]
        var inputs = [Int32](repeating: 0, count: T * B), kinds = [StepKind](repeating: .idle, count: T * B)
        for b in 0..<B {
            for t in 0..<lengths[b] {
                inputs[t * B + b] = Int32(rng.next() % UInt64(V))
                kinds[t * B + b] = b == 2 && t == 5 ? .resetAndFeed : .feed
            }
        }
        let batch = BatchPredictor(parameters: p, streams: B, maxSteps: T)
        inputs.withUnsafeBufferPointer { x in kinds.withUnsafeBufferPointer { k in batch.advance(x.baseAddress!, kinds: k.baseAddress!, steps: T) } }
        for b in 0..<B {
            let single = Predictor(parameters: p, maxChunk: T)
            for t in 0..<lengths[b] {
                if kinds[t * B + b] == .resetAndFeed { single.reset() }
                var x = inputs[t * B + b]
                single.advance(&x, count: 1)
                for j in 0..<V {
                    let a = batch.logits.pointer[(t * B + b) * V + j], e = single.logits.pointer[j]
                    #expect(abs(a - e) <= 1e-5 * max(1, abs(e)), "\(cell) stream \(b) step \(t) logit \(j): \(a) vs \(e)")
                }
            }
        }
    }

    /// The same bits at both vector widths and any thread count (the products split into pieces that do not
    /// depend on the thread count), as Predictor's.
    @Test(arguments: [CellKind.lstm, .gru])
    func bitIdenticalAtEveryWidthAndThreadCount(_ cell: CellKind) {
        let V = 9, B = 8, T = 5
        let p = randomParameters(cell, hidden: 320, layers: 2, vocab: V, seed: 31)
        var rng = Random(seed: 32)
        let inputs = (0..<(T * B)).map { _ in Int32(rng.next() % UInt64(V)) }
        let kinds = (0..<(T * B)).map { i in i % 7 == 3 ? StepKind.idle : i % 11 == 5 ? .resetAndFeed : .feed }
        expectSameBitsAtEveryWidthAndThreadCount("\(cell) \(B) streams", threads: [1, 2, 3]) {
            let batch = BatchPredictor(parameters: p, streams: B, maxSteps: T)
            var bits: [UInt32] = []
            for _ in 0..<2 {
                inputs.withUnsafeBufferPointer { x in kinds.withUnsafeBufferPointer { k in batch.advance(x.baseAddress!, kinds: k.baseAddress!, steps: T) } }
                bits += (0..<(T * B * V)).map { batch.logits.pointer[$0].bitPattern }
            }
            return bits
        }
    }

    /// bf16 batch products (`--batch-precision bf16`): the same bits at every thread count, not the fp32 bits,
    /// and logits within bf16's rounding of the fp32 ones.
    @Test(.enabled(if: CPU.hasBF16, "this CPU has no AVX512_BF16"), arguments: [CellKind.lstm, .gru])
    func bf16BatchProductsAreReproducibleAndClose(_ cell: CellKind) {
        let V = 9, B = 8, T = 5
        let p = randomParameters(cell, hidden: 320, layers: 2, vocab: V, seed: 31)
        var rng = Random(seed: 32)
        let inputs = (0..<(T * B)).map { _ in Int32(rng.next() % UInt64(V)) }
        let kinds = [StepKind](repeating: .feed, count: T * B)
        func logits(_ products: Precision) -> [Float] {
            let batch = BatchPredictor(parameters: p, streams: B, maxSteps: T, products: products)
            inputs.withUnsafeBufferPointer { x in kinds.withUnsafeBufferPointer { k in batch.advance(x.baseAddress!, kinds: k.baseAddress!, steps: T) } }
            return (0..<(T * B * V)).map { batch.logits.pointer[$0] }
        }
        let fp32 = logits(.fp32)
        var first: [Float]?
        for t in [1, 2, 3] {
            let bf16 = withThreads(t, parallel: true) { logits(.bf16) }
            if let first { #expect(bf16.map(\.bitPattern) == first.map(\.bitPattern), "\(cell) \(t) threads") } else { first = bf16 }
        }
        let diff = zip(first!, fp32).map { abs($0 - $1) }.max() ?? 0
        #expect(diff > 0 && diff < 0.1, "\(cell): max |bf16 − fp32| logit \(diff)")
    }

    /// `rnn-score --jobs --batch-precision bf16` scores within a small margin of fp32's; where the CPU (or
    /// RNNSTREAM_CPU) has no AVX512_BF16 it is one line and status 64.
    @Test func bf16BatchPrecisionScoresCloseOrIsRefused() throws {
        let m = fixture.modelPath, file = fixture.textPath
        let forced = try CLI.run("rnn-score", ["--jobs", "4", "--batch-precision", "bf16", m, file], environment: ["RNNSTREAM_CPU": "avx512"])
        #expect(forced.status == 64 && forced.errLines.count == 1 && forced.err.contains("AVX512_BF16"), "\(forced)")
        guard CPU.hasBF16 else { return }
        let fp32 = records(try score(["--jobs", "4", "--json", m, file]))
        let bf16 = records(try score(["--jobs", "4", "--json", "--batch-precision", "bf16", m, file]))
        try #require(fp32.count == 1 && bf16.count == 1)
        let a = value(fp32[0], "bpc"), b = value(bf16[0], "bpc")
        #expect(a != b && abs(a - b) < 0.01, "bpc fp32 \(a), bf16 \(b)")
        #expect(value(fp32[0], "chars") == value(bf16[0], "chars"))
    }

    /// The batched scorer with burn-in: characters run unscored leave the state the scored ones continue from.
    @Test func burnInLeavesTheStateAndIsNotCounted() {
        let V = 7
        let p = randomParameters(.lstm, hidden: 16, layers: 1, vocab: V, seed: 5)
        let vocabulary = Vocabulary(scalars: Array("abcdefg".unicodeScalars))
        let text = Array(String(repeating: "abcgfedcbadg", count: 30).unicodeScalars)
        let exact = StreamScorer(parameters: p, vocabulary: vocabulary)
        var exactBits: [Double] = []
        exact.onCharacter = { exactBits.append($0.bits) }
        exact.feed(text)
        exact.flush()
        // stream 0 scores the first 100, stream 1 runs the first 100 unscored and scores the rest
        let batch = BatchScorer(parameters: p, vocabulary: vocabulary, streams: 2, maxSteps: 16)
        var bits: [[Double]] = [[], []]
        batch.onCharacter = { b, c in bits[b].append(c.bits) }
        for (i, s) in text.enumerated() {
            if i < 100 { batch.feed(s, stream: 0) }
            batch.feed(s, stream: 1, scored: i >= 100)
        }
        batch.flush()
        #expect(bits[0].count == 100 && bits[1].count == text.count - 100)
        #expect(batch.totals[0].characters + batch.totals[1].characters == text.count)
        for (i, b) in (bits[0] + bits[1]).enumerated() {
            #expect(abs(b - exactBits[i]) <= 1e-5 * max(1, exactBits[i]), "character \(i): \(b) vs \(exactBits[i])")
        }
    }
}

@Suite struct SegmentRuleTests {
    @Test func boundariesFallOnCharacterStarts() {
        let bytes = Array("aé€😀b\nçñ—x".utf8) + Array(englishText(scalars: 300).utf8)
        for n in 1...40 {
            let bounds = segmentBoundaries(size: bytes.count, segments: n) { bytes[$0] }
            #expect(bounds.count == n + 1 && bounds.first == 0 && bounds.last == bytes.count)
            for k in 1..<bounds.count {
                #expect(bounds[k] >= bounds[k - 1])
                if bounds[k] < bytes.count { #expect(bytes[bounds[k]] & 0xC0 != 0x80, "n \(n): bound \(k) cuts a character") }
                // the first character start at or after ⌊k·size/N⌋
                let nominal = bytes.count * k / n
                #expect(bounds[k] >= nominal && bounds[k] <= nominal + 3)
            }
        }
        #expect(segmentBoundaries(size: 0, segments: 4) { _ in 0 } == [0, 0, 0, 0, 0])
    }

    @Test func automaticSegmentsOnlyForBigFiles() {
        #expect(automaticJobs(size: 0) == 1 && automaticJobs(size: automaticJobsSize - 1) == 1)
        #expect(automaticJobs(size: automaticJobsSize) == automaticSegments && automaticSegments > 1)
    }

    @Test func segmentChoicesParse() {
        #expect(SegmentChoice(argument: "3/16") == SegmentChoice(argument: "3/16"))
        #expect(SegmentChoice(argument: "3/16")?.index == 3 && SegmentChoice(argument: "3/16")?.count == 16)
        #expect(SegmentChoice(argument: "1/1") != nil)
        for bad in ["0/4", "5/4", "x", "1/0", "/4", "1/", "1/2/3", "+1/4", " 1/4", "1/4096000", "-1/4", "1.0/4", ""] {
            #expect(SegmentChoice(argument: bad) == nil, "\(bad)")
        }
    }
}

@Suite struct SegmentedScoringTests {
    private var m: String { fixture.modelPath }
    private var file: String { fixture.textPath }

    @Test(arguments: [2, 5, 64])
    func jobsTotalIsTheSumOfItsCharactersInTextOrder(_ jobs: Int) throws {
        let perChar = try score(["--jobs", "\(jobs)", "--per-char", "--json", m, file])
        #expect(perChar.status == 0, "\(perChar)")
        let all = records(perChar)
        let characters = all.dropLast(), total = all.last!
        #expect(characters.map { $0["char"] as? String ?? "?" }.joined() == fixture.text)
        #expect(characters.enumerated().allSatisfy { value($1, "offset") == Double($0) })
        let bits = characters.map { value($0, "bits") }.reduce(0, +)
        #expect(close(bits, value(total, "bits")), "\(bits) vs \(value(total, "bits"))")
        #expect(value(total, "chars") == Double(fixture.text.unicodeScalars.count))
        #expect(value(total, "unknown") == Double(characters.filter { $0["unknown"] as? Bool == true }.count))
        // the summary alone gives the same total
        let summary = records(try score(["--jobs", "\(jobs)", "--json", m, file]))
        #expect(summary.count == 1 && close(value(summary[0], "bits"), value(total, "bits")))
        // per-line records: every line once, in order, adding up to the same total
        let lines = records(try score(["--jobs", "\(jobs)", "--per-line", "--json", m, file]))
        let expectedLines = fixture.text.split(separator: "\n", omittingEmptySubsequences: false).count
        #expect(lines.count == expectedLines + 1)
        #expect(lines.dropLast().enumerated().allSatisfy { value($1, "line") == Double($0 + 1) })
        #expect(lines.dropLast().map { value($0, "chars") }.reduce(0, +) == value(total, "chars"))
        #expect(close(lines.dropLast().map { value($0, "bits") }.reduce(0, +), value(total, "bits")))
    }

    @Test func oneJobIsExactScoring() throws {
        for mode in [[], ["--per-char"], ["--per-line"]] {
            let exact = try score(mode + ["--json", m, file]), one = try score(mode + ["--jobs", "1", "--json", m, file])
            #expect(exact.status == 0 && one.status == 0)
            #expect(one.out == exact.out, "\(mode)")
        }
    }

    /// With a burn-in reaching back to the start of the text, every segment starts from the exact state.
    @Test func burnInCoveringTheTextBeforeASegmentIsExact() throws {
        let exact = records(try score(["--per-char", "--json", m, file]))
        let n = fixture.text.unicodeScalars.count
        for (jobs, burnIn) in [(4, n), (2, n / 2 + 8)] {
            let cut = records(try score(["--jobs", "\(jobs)", "--burn-in", "\(burnIn)", "--per-char", "--json", m, file]))
            #expect(cut.count == exact.count)
            for (i, (a, b)) in zip(exact.dropLast(), cut.dropLast()).enumerated() where abs(value(a, "bits") - value(b, "bits")) > 1e-5 {
                Issue.record("jobs \(jobs) burn-in \(burnIn): character \(i) costs \(value(b, "bits")) against \(value(a, "bits"))")
                break
            }
            #expect(close(value(exact.last!, "bits"), value(cut.last!, "bits")) || abs(value(exact.last!, "bits") - value(cut.last!, "bits")) < 1e-4)
        }
        // without burn-in the segments start afresh and cost more
        let cold = records(try score(["--jobs", "8", "--burn-in", "0", "--json", m, file]))
        #expect(value(cold[0], "bits") > value(exact.last!, "bits") + 1)
    }

    @Test func segmentRecordsAddUpToTheJobsResult() throws {
        let n = 5
        let joint = records(try score(["--jobs", "\(n)", "--json", m, file]))[0]
        var lines: [String] = []
        var chars = 0.0, bits = 0.0
        for k in 1...n {
            let r = try score(["--segment", "\(k)/\(n)", "--json", m, file])
            #expect(r.status == 0, "\(r)")
            let record = records(r)
            #expect(record.count == 1 && record[0]["segment"] as? String == "\(k)/\(n)")
            chars += value(record[0], "chars")
            bits += value(record[0], "bits")
            lines += r.outLines
        }
        #expect(chars == value(joint, "chars"))
        #expect(close(bits, value(joint, "bits")), "\(bits) vs \(value(joint, "bits"))")
        // rnn-score --sum reads the records back: JSON, and the summary line
        let input = ToolInput.data(Data((lines.joined(separator: "\n") + "\n").utf8))
        let summed = records(try score(["--sum", "--json"], stdin: input))
        #expect(summed.count == 1 && summed[0]["total"] as? Bool == true)
        #expect(value(summed[0], "chars") == chars && close(value(summed[0], "bits"), bits))
        #expect(value(summed[0], "unknown") == value(joint, "unknown"))
        let line = try score(["--sum"], stdin: input)
        let plain = try score(["--jobs", "\(n)", m, file])
        #expect(line.status == 0 && line.out == plain.out, "\(line.out) vs \(plain.out)")
    }

    @Test func gnuParallelSpreadsTheSegments() throws {
        guard let parallel = ["/usr/bin/parallel", "/usr/local/bin/parallel"].first(where: FileManager.default.isExecutableFile) else {
            print("gnuParallelSpreadsTheSegments: skipped, GNU parallel is not installed (apt-get install parallel)")
            return
        }
        let tool = try CLI.binary("rnn-score"), n = 8
        let joint = records(try score(["--jobs", "\(n)", "--json", m, file]))[0]
        let command = "'\(parallel)' --will-cite '\(tool)' --json --segment {}/\(n) '\(m)' '\(file)' ::: $(seq \(n))"
            + " | '\(tool)' --sum --json"
        let r = try CLI.run("/bin/sh", ["-c", command], environment: ["HOME": fixture.directory.path])
        #expect(r.status == 0, "\(r)")
        let total = records(r)
        #expect(total.count == 1)
        #expect(value(total[0], "chars") == value(joint, "chars"))
        #expect(close(value(total[0], "bits"), value(joint, "bits")), "\(r.out) vs \(joint)")
    }

    /// Lines from the fresh state, batched, against the exact single-stream scorer reset at every newline.
    @Test func batchedResetEachLineIsBitIdenticalToTheSingleStream() throws {
        let long = String(repeating: "the café and the naïve fox ", count: 3000)  // longer than one batch of lines
        let text = fixture.text + "\n\n" + long + "\nshort\n" + fixture.text
        let path = try fixture.directory.write("lines.txt", text)
        // the weights as rnn-score holds them by default
        let exact = StreamScorer(parameters: Parameters(model: fixture.model), vocabulary: fixture.model.vocabulary,
                                 weights: .defaultForInference)
        var expected: [Double] = []
        exact.onCharacter = { expected.append($0.bits) }
        for s in text.unicodeScalars {
            exact.feed(s)
            if s == "\n" { exact.reset() }
        }
        exact.flush()
        let r = try score(["--reset-each-line", "--per-char", "--json", m, path])
        #expect(r.status == 0)
        let got = records(r)
        #expect(got.count == expected.count + 1)
        #expect(got.dropLast().map { $0["char"] as? String ?? "?" }.joined() == text)
        // the JSON numbers carry 16 significant digits, so the comparison here allows for the printing; the
        // library test below compares the Doubles themselves
        let differing = zip(got, expected).enumerated().filter { abs(value($1.0, "bits") - $1.1) > 1e-13 * max(1, $1.1) }
        let first = differing.first.map { "\($0.offset): \(value($0.element.0, "bits")) vs \($0.element.1)" } ?? ""
        #expect(differing.isEmpty, "\(differing.count) characters differ, first at \(first)")
        #expect(close(value(got.last!, "bits"), exact.totals.totalBits))
        let summary = records(try score(["--reset-each-line", "--json", m, path]))
        #expect(close(value(summary[0], "bits"), exact.totals.totalBits))
    }

    /// The batched scorer, lines as texts one after the other in each of its streams, against the exact
    /// scorer reset at every newline: the same Doubles, bit for bit (the B-row products sum each element in
    /// the order the vector-matrix product does).
    @Test func batchScorerLinesAreBitIdenticalToTheStreamScorer() {
        let p = Parameters(model: fixture.model), vocabulary = fixture.model.vocabulary
        let lines = fixture.text.split(separator: "\n", omittingEmptySubsequences: false).map { Array(($0 + "\n").unicodeScalars) }
        let exact = StreamScorer(parameters: p, vocabulary: vocabulary)
        var expected: [[Double]] = []
        exact.onCharacter = { expected[expected.count - 1].append($0.bits) }
        for line in lines {
            expected.append([])
            exact.feed(line)
            exact.reset()
        }
        for streams in [1, 3, 64] {
            let batch = BatchScorer(parameters: p, vocabulary: vocabulary, streams: streams)
            var got: [[Double]] = Array(repeating: [], count: streams)
            batch.onCharacter = { b, c in got[b].append(c.bits) }
            for (i, line) in lines.enumerated() {
                for s in line { batch.feed(s, stream: i % streams) }
                batch.endText(stream: i % streams)
            }
            batch.flush()
            for b in 0..<streams {
                let want = stride(from: b, to: lines.count, by: streams).flatMap { expected[$0] }
                #expect(got[b] == want, "\(streams) streams: stream \(b) differs")
            }
        }
    }

    @Test func heatmapsWithJobsShowEveryCharacterInOrder() throws {
        let page = try score(["--jobs", "6", "--html", m, file])
        #expect(page.status == 0)
        final class Text: NSObject, XMLParserDelegate {
            var spans = 0, text = ""
            var inSpan = false
            func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                        attributes: [String: String] = [:]) {
                if name == "span" { spans += 1; inSpan = true }
            }
            func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
                if name == "span" { inSpan = false }
            }
        }
        let parser = XMLParser(data: page.stdout)
        let counter = Text()
        parser.delegate = counter
        #expect(parser.parse())
        #expect(counter.spans == fixture.text.unicodeScalars.count)
        let color = try score(["--jobs", "6", "--color", "--force-color", m, file])
        let stripped = color.out.replacingOccurrences(of: "\u{1B}\\[[0-9;]*m", with: "", options: .regularExpression)
        #expect(color.status == 0 && stripped == fixture.text)
    }

    @Test(arguments: [["--segment", "0/4"], ["--segment", "5/4"], ["--segment", "x"], ["--jobs", "0"], ["--jobs", "x"],
                      ["--jobs", "2", "--segment", "1/2"], ["--jobs", "2", "--adapt"], ["--burn-in", "-1"],
                      ["--segment", "1/2", "--reset-each-line"]])
    func badValuesAreOneLineUsageErrors(_ arguments: [String]) throws {
        expectOneLineError(try score(arguments + [m, file]), status: 64, mentioning: arguments[0])
    }

    @Test func malformedRecordsAreOneLineErrors() throws {
        let good = records(try score(["--json", m, file]))
        #expect(good.count == 1)
        for bad in ["not json", "{\"chars\":3}", "[1,2]", "{\"chars\":-1,\"bits\":2,\"unknown\":0,\"unknown_bits\":0}",
                    "{\"chars\":1,\"bits\":\"2\",\"unknown\":0,\"unknown_bits\":0}"] {
            let r = try score(["--sum"], stdin: .data(Data("\(bad)\n".utf8)))
            expectOneLineError(r, status: 1, mentioning: "line 1")
        }
        let pipe = try CLI.run("/bin/sh", ["-c", "cat '\(file)' | '\(try CLI.binary("rnn-score"))' --segment 1/2 '\(m)'"])
        expectOneLineError(pipe, status: 1, mentioning: "--segment")
        // a pipe is scored exactly, whatever --jobs says
        let piped = try CLI.run("/bin/sh", ["-c", "cat '\(file)' | '\(try CLI.binary("rnn-score"))' --jobs 4 '\(m)'"])
        let plain = try score([m, file])
        #expect(piped.status == 0 && piped.out == plain.out)
    }
}

/// The peak resident set of `rnn-score` scoring a generated file several times larger than the bound, for
/// each way of reading it: the text must stream through in pieces, never be held whole.
@Suite struct BoundedMemoryTests {
    /// Runs `program` with `arguments` (stdin and stdout /dev/null) and returns its exit status and its peak
    /// resident set in KiB, from wait4(2), which measures that child alone.
    private func peakResidentKiB(_ program: String, _ arguments: [String]) throws -> (status: Int32, kib: Int) {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        let argv = ([program] + arguments).map { strdup($0) } + [nil]
        defer { for p in argv { free(p) } }
        var env = ProcessInfo.processInfo.environment
        env["RNNSTREAM_THREADS"] = "1"
        let envp = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in envp { free(p) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, program, &actions, nil, argv, envp)
        guard spawned == 0 else { throw CLIError("posix_spawn \(program): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        var usage = rusage()
        while wait4(pid, &status, 0, &usage) < 0 {
            guard errno == EINTR else { throw CLIError("wait4: \(String(cString: strerror(errno)))") }
        }
        return ((status >> 8) & 0xFF, Int(usage.ru_maxrss))
    }

    @Test func aFileFourTimesTheBoundScoresWithinIt() throws {
        let tool = try CLI.binary("rnn-score")
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        // 64 MiB: emoji (unknown to the model, 4 bytes each, cheap to score) with a known letter every 50
        let path = directory.file("big.txt")
        let line = Array((String(repeating: String(repeating: "😀", count: 49) + "e", count: 20) + "\n").utf8)
        let block = [UInt8]((0..<(1 << 20) / line.count).flatMap { _ in line })
        FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try #require(FileHandle(forWritingAtPath: path))
        for _ in 0..<64 { handle.write(Data(block)) }
        try handle.close()
        let size = try #require(try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        #expect(size > 60 << 20)
        let boundKiB = 16 << 10  // 16 MiB above the run on a tiny file
        let tiny = try directory.write("tiny.txt", "the 😀 cat\n")
        // [] is cut into 64 segments by the automatic rule (the file is over 16 MiB); --jobs 1 is exact
        for mode in [[], ["--jobs", "1"], ["--jobs", "4"], ["--reset-each-line"], ["--jobs", "3", "--per-line"]] {
            let base = try peakResidentKiB(tool, mode + [fixture.modelPath, tiny])
            let big = try peakResidentKiB(tool, mode + [fixture.modelPath, path])
            #expect(base.status == 0 && big.status == 0, "\(mode): status \(base.status), \(big.status)")
            #expect(big.kib < base.kib + boundKiB, "\(mode): peak \(big.kib) KiB on \(size >> 20) MiB, \(base.kib) KiB on a tiny file")
        }
    }
}
