import Foundation
#if canImport(FoundationXML)
import FoundationXML
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

// CLI tests of rnn-score's modes and rnn-gen's stops: they run the built binaries (`swift build -c release`
// first; `.build/debug` is used when there is no release build) on tiny models trained in-process.

private let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

private func binary(_ name: String) throws -> String {
    for config in ["release", "debug"] {
        let path = packageRoot + "/.build/" + config + "/" + name
        if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
    Issue.record("\(name) is not built: run `swift build -c release` in \(packageRoot)")
    throw CancellationError()
}

private struct Run {
    var status: Int32
    var stdout: String
    var stderr: String
    var lines: [String] { stdout.split(separator: "\n", omittingEmptySubsequences: true).map(String.init) }
}

/// Runs a program with stdin from `input` (or /dev/null), stdout and stderr into files.
private func run(_ program: String, _ args: [String], input: String? = nil, env: [String: String] = [:]) throws -> Run {
    let dir = Fixture.shared.dir
    let id = UUID().uuidString
    let inPath = dir + "/in-" + id, outPath = dir + "/out-" + id, errPath = dir + "/err-" + id
    FileManager.default.createFile(atPath: inPath, contents: Data((input ?? "").utf8))
    FileManager.default.createFile(atPath: outPath, contents: nil)
    FileManager.default.createFile(atPath: errPath, contents: nil)
    let p = Process()
    p.executableURL = URL(fileURLWithPath: program)
    p.arguments = args
    var environment = ProcessInfo.processInfo.environment
    environment["NO_COLOR"] = nil
    for (k, v) in env { environment[k] = v }
    p.environment = environment
    p.standardInput = FileHandle(forReadingAtPath: inPath)
    p.standardOutput = FileHandle(forWritingAtPath: outPath)
    p.standardError = FileHandle(forWritingAtPath: errPath)
    try p.run()
    p.waitUntilExit()
    let out = String(decoding: FileManager.default.contents(atPath: outPath) ?? Data(), as: UTF8.self)
    let err = String(decoding: FileManager.default.contents(atPath: errPath) ?? Data(), as: UTF8.self)
    for path in [inPath, outPath, errPath] { try? FileManager.default.removeItem(atPath: path) }
    return Run(status: p.terminationStatus, stdout: out, stderr: err)
}

private func score(_ args: [String], input: String? = nil, env: [String: String] = [:]) throws -> Run {
    try run(try binary("rnn-score"), args, input: input, env: env)
}

private func gen(_ args: [String], input: String? = nil) throws -> Run {
    try run(try binary("rnn-gen"), args, input: input)
}

private func jsonObject(_ line: String) -> [String: Any]? {
    (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
}

private func number(_ o: [String: Any]?, _ key: String) -> Double {
    (o?[key] as? NSNumber)?.doubleValue ?? .nan
}

/// A small LSTM trained for a few steps on repetitive text, written to a temporary directory with text files.
private final class Fixture: @unchecked Sendable {
    static let shared = Fixture()

    let dir: String
    let modelPath: String
    let model: Model
    /// The training text: lowercase letters, space, period, newline.
    static let sentence = "the cat sat on the mat. the dog ate the hat.\n"

    init() {
        dir = NSTemporaryDirectory() + "scoringmodes-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let text = Array(String(repeating: Fixture.sentence, count: 80).unicodeScalars)
        let vocabulary = Vocabulary(text: text)
        var options = TrainingOptions()
        options.cell = .lstm
        options.hiddenSize = 24
        options.layers = 1
        options.batch = 4
        options.seq = 32
        options.maxSteps = 120
        options.validationFraction = 0
        options.learningRate = 0.01
        options.warmupSteps = 0
        options.seed = 3
        let trainer = try! Trainer(text: text.map { vocabulary.index(of: $0)! }, vocabulary: vocabulary, options: options)
        var m = trainer.run().model
        m.info["val_bpc"] = "2.5"
        m.info["note"] = "test \"model\""
        model = m
        modelPath = dir + "/model.gz"
        FileManager.default.createFile(atPath: modelPath, contents: Data(m.weightsFileBytes()))
    }

    /// Writes `text` to a file in the fixture directory and returns its path.
    func file(_ name: String, _ text: String) -> String {
        let path = dir + "/" + name
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }
}

private var m: String { Fixture.shared.modelPath }

/// Mixed text: known lines, a line with unknown characters (É, 😀, digits), no final newline.
private let mixed = "the cat sat on the mat.\nthe dog ate the hat.\nÉtienne 😀 ate 42 hats.\nthe end"

struct ScoringModesTests {
    @Test func severalFilesAlignedInArgumentOrderWithTotal() throws {
        let f = Fixture.shared
        // the largest first so that, in parallel, later files finish first
        let files = [f.file("big.txt", String(repeating: Fixture.sentence, count: 60)), f.file("one.txt", "the cat\n"),
                     f.file("mixed.txt", mixed), f.file("two.txt", "a hat.\nthe mat.\n")]
        let r = try score(["--threads", "4", m] + files)
        #expect(r.status == 0)
        let lines = r.lines
        try #require(lines.count == 5)
        for (line, file) in zip(lines, files) { #expect(line.hasSuffix("  " + file)) }
        #expect(lines[4].hasSuffix("  total"))
        // fixed-width columns: the words start at the same places on every line
        for word in [" chars ", " bpc ", " perplexity ", " bits ", " unknown"] {
            let columns = Set(lines.map { line in line.range(of: word).map { line.distance(from: line.startIndex, to: $0.lowerBound) } ?? -1 })
            #expect(columns.count == 1, "\(word) not aligned: \(lines)")
        }
        let fields = lines.map { $0.split(separator: " ").map(String.init) }
        let chars = fields.map { Int($0[0])! }, bits = fields.map { Double($0[6])! }
        #expect(chars[0..<4].reduce(0, +) == chars[4])
        #expect(abs(bits[0..<4].reduce(0, +) - bits[4]) < 0.01)
        #expect(chars[2] == mixed.unicodeScalars.count)
        // each file alone gives the same numbers as in the parallel run
        for (i, file) in files.enumerated() {
            let alone = try score(["--threads", "1", m, file]).lines[0].split(separator: " ").map(String.init)
            #expect(Int(alone[0]) == chars[i])
            #expect(abs(Double(alone[6])! - bits[i]) < 0.01)
        }
    }

    @Test func perLineRecordsAddUpToTheWholeFile() throws {
        let text = String(repeating: Fixture.sentence, count: 5) + mixed
        let whole = try score(["--json", m], input: text)
        let total = jsonObject(whole.lines.last!)
        let lines = try score(["--per-line", "--json", m], input: text)
        #expect(lines.status == 0)
        let records = lines.lines.dropLast().map { jsonObject($0)! }
        #expect(records.count == text.split(separator: "\n", omittingEmptySubsequences: false).count)
        let chars = records.map { number($0, "chars") }.reduce(0, +), bits = records.map { number($0, "bits") }.reduce(0, +)
        #expect(chars == number(total, "chars"))
        #expect(abs(bits - number(total, "bits")) < 1e-3 * max(1, bits / 1000))
        #expect(records.map { number($0, "unknown") }.reduce(0, +) == number(total, "unknown"))
        // the text columns: line chars bpc bits unknown; `sort -k3` is bits per character
        let text3 = try score(["--per-line", m], input: text).lines.map { $0.split(separator: " ").map(String.init) }
        #expect(text3.count == records.count)
        for (f, r) in zip(text3, records) {
            #expect(Double(f[1]) == number(r, "chars"))
            #expect(abs(Double(f[2])! - number(r, "bpc")) < 0.001)
        }
        #expect(text3[0][0] == "1")
    }

    @Test func resetEachLineDiffersFromCarriedState() throws {
        let text = String(repeating: Fixture.sentence, count: 4)
        let carried = number(jsonObject(try score(["--json", m], input: text).lines.last!), "bits")
        let reset = try score(["--json", "--reset-each-line", m], input: text)
        #expect(reset.status == 0)
        let resetBits = number(jsonObject(reset.lines.last!), "bits")
        #expect(abs(carried - resetBits) > 0.01)
        // identical lines from the fresh state cost the same
        let perLine = try score(["--per-line", "--json", "--reset-each-line", m], input: text).lines.dropLast()
        let lineBits = perLine.map { number(jsonObject($0), "bits") }
        #expect(lineBits.count == 4)
        for b in lineBits { #expect(abs(b - lineBits[0]) < 1e-6) }
        #expect(abs(lineBits.reduce(0, +) - resetBits) < 1e-6 * resetBits)
    }

    @Test func perCharacterRecordsOnePerCharacter() throws {
        let r = try score(["--per-char", m], input: mixed)
        #expect(r.status == 0)
        let records = r.lines.map { $0.split(separator: " ").map(String.init) }
        #expect(records.count == mixed.unicodeScalars.count)
        for (i, (f, s)) in zip(records, mixed.unicodeScalars).enumerated() {
            #expect(f[0] == String(i))
            #expect(f[1] == escapedCharacter(s))
            #expect(Double(f[2]) != nil)
            #expect((f.count == 4 && f[3] == "unknown") == (Fixture.shared.model.vocabulary.index(of: s) == nil))
        }
        #expect(records[3][1] == "\\u{20}")
        #expect(records[23][1] == "\\n")
        let json = try score(["--per-char", "--json", m], input: mixed).lines
        #expect(json.count == mixed.unicodeScalars.count + 1)
        let chars = json.dropLast().map { jsonObject($0)!["char"] as! String }.joined()
        #expect(chars == mixed)
    }

    @Test(arguments: [[], ["--per-line"], ["--per-char"], ["--reset-each-line"], ["--adapt"]])
    func everyJSONLineParses(_ mode: [String]) throws {
        let f = Fixture.shared
        let files = [f.file("j1.txt", mixed), f.file("j2 \"quoted\".txt", "the hat\n")]
        let r = try score(["--json"] + mode + [m] + files)
        #expect(r.status == 0)
        #expect(!r.lines.isEmpty)
        for line in r.lines { #expect(jsonObject(line) != nil, "not JSON: \(line)") }
        let last = jsonObject(r.lines.last!)!
        #expect(last["total"] as? Bool == true)
        #expect(last["file"] is NSNull)
        for key in ["chars", "bits", "bpc", "perplexity", "unknown", "unknown_bits"] { #expect(last[key] is NSNumber) }
        #expect(r.lines.contains { jsonObject($0)?["file"] as? String == files[1] })
    }

    @Test func colorRefusedWithoutATerminalAndUnderNoColor() throws {
        let text = "the cat\nsat\n"
        let refused = try score(["--color", m], input: text)
        #expect(refused.status == 64)
        #expect(refused.stdout.isEmpty)
        #expect(refused.stderr.contains("not a terminal"))
        let plain = try score(["--color", m], input: text, env: ["NO_COLOR": "1"])
        #expect(plain.status == 0)
        #expect(plain.stdout == text)
        let forced = try score(["--color", "--force-color", m], input: text, env: ["NO_COLOR": "1"])
        #expect(forced.status == 0)
        #expect(forced.stdout.contains("\u{1B}[38;5;16;48;5;"))
        // without the escapes, the text itself
        let stripped = forced.stdout.replacingOccurrences(of: "\u{1B}\\[[0-9;]*m", with: "", options: .regularExpression)
        #expect(stripped == text)
    }

    @Test func htmlPageParsesWithOneSpanPerCharacter() throws {
        let text = mixed + "\n<b>&\"quotes\"</b>\u{1}\n"
        let r = try score(["--html", m], input: text)
        #expect(r.status == 0)
        final class Counter: NSObject, XMLParserDelegate {
            var spans = 0, titled = 0
            func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                        attributes: [String: String] = [:]) {
                if name == "span" {
                    spans += 1
                    // "0.51 bits; likeliest: …" or "6.50 bits, unknown"
                    if attributes["title"]?.range(of: #"^[0-9]+\.[0-9]{2} bits(, unknown)?(;|$)"#, options: .regularExpression) != nil {
                        titled += 1
                    }
                }
            }
        }
        let parser = XMLParser(data: Data(r.stdout.utf8))
        let counter = Counter()
        parser.delegate = counter
        #expect(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
        #expect(counter.spans == text.unicodeScalars.count)
        #expect(counter.titled == counter.spans)
    }

    @Test func adaptingLowersTheBitsOnRepetitiveText() throws {
        let text = String(repeating: "abab the cat sat on the hat ", count: 40) + "\n"
        let plain = number(jsonObject(try score(["--json", m], input: text).lines.last!), "bpc")
        let adapted = try score(["--json", "--adapt", m], input: text)
        #expect(adapted.status == 0)
        let adaptedBPC = number(jsonObject(adapted.lines.last!), "bpc")
        #expect(adaptedBPC < plain - 0.1, "adapt \(adaptedBPC) vs static \(plain)")
        // per-line records under --adapt add up to its whole-file score
        let lines = try score(["--per-line", "--json", "--adapt", m], input: text).lines
        let bits = lines.dropLast().map { number(jsonObject($0), "bits") }.reduce(0, +)
        #expect(abs(bits - number(jsonObject(adapted.lines.last!), "bits")) < 1e-3 * bits)
    }

    @Test func unknownCharactersCostAFixedAmount() throws {
        let V = Fixture.shared.model.vocabulary.count
        let cost = log2(Double(V + 1))
        let unknownCount = mixed.unicodeScalars.filter { Fixture.shared.model.vocabulary.index(of: $0) == nil }.count
        #expect(unknownCount == 5)
        let total = jsonObject(try score(["--json", m], input: mixed).lines.last!)
        #expect(number(total, "unknown") == Double(unknownCount))
        #expect(abs(number(total, "unknown_bits") - Double(unknownCount) * cost) < 1e-9)
        #expect(number(total, "chars") == Double(mixed.unicodeScalars.count))
        let perChar = try score(["--per-char", "--json", m], input: mixed).lines.dropLast().map { jsonObject($0)! }
        for r in perChar where r["unknown"] as? Bool == true { #expect(abs(number(r, "bits") - cost) < 1e-9) }
        #expect(perChar.filter { $0["unknown"] as? Bool == true }.count == unknownCount)
        let info = jsonObject(try score(["--info", m]).stdout)
        #expect(abs(number(info, "unknown_bits") - cost) < 1e-9)
        let line = try score([m], input: mixed).lines[0]
        #expect(line.hasSuffix(" \(unknownCount) unknown"))
    }

    @Test func infoPrintsTheMetadataAsJSON() throws {
        for tool in ["rnn-score", "rnn-gen"] {
            let r = try run(try binary(tool), ["--info", m])
            #expect(r.status == 0)
            let o = try #require(jsonObject(r.stdout))
            #expect(o["cell"] as? String == "lstm")
            #expect(number(o, "hidden_size") == 24)
            #expect(number(o, "layers") == 1)
            #expect(o["vocabulary"] as? String == Fixture.shared.model.vocabulary.string)
            #expect(number(o, "val_bpc") == 2.5)
            let info = try #require(o["info"] as? [String: String])
            #expect(info["note"] == "test \"model\"")
        }
    }

    @Test func genStopsRightAfterTheUntilText() throws {
        let r = try gen(["-n", "5000", "--temperature", "0.5", "--prime", "the ", "--until", "at", m])
        #expect(r.status == 0)
        #expect(r.stdout.hasPrefix("the "))
        let generated = String(r.stdout.dropFirst(4))
        #expect(generated.hasSuffix("at"))
        #expect(generated.dropLast().range(of: "at") == nil)
    }

    @Test func genStopsAfterNLines() throws {
        let r = try gen(["-n", "0", "--lines", "3", "--seed", "5", m])
        #expect(r.status == 0)
        #expect(r.stdout.filter { $0 == "\n" }.count == 3)
        #expect(r.stdout.hasSuffix("\n"))
    }

    @Test func genPrimeFileMatchesPrime() throws {
        let prime = "the dog ate"
        let path = Fixture.shared.file("prime.txt", prime)
        let a = try gen(["-n", "50", "--prime", prime, m])
        let b = try gen(["-n", "50", "--prime-file", path, m])
        let c = try gen(["-n", "50", "--prime-file", "-", m], input: prime)
        #expect(a.status == 0 && b.status == 0 && c.status == 0)
        #expect(a.stdout.hasPrefix(prime))
        #expect(a.stdout == b.stdout)
        #expect(a.stdout == c.stdout)
        let bad = try gen(["--prime-file", Fixture.shared.file("badprime.txt", "the É"), m])
        #expect(bad.status == 1)
        #expect(bad.stderr.contains("U+00C9"))
    }

    @Test func genEndlessEndsQuietlyWhenTheReaderLeaves() throws {
        let sh = "'\(try binary("rnn-gen"))' -n 0 '\(m)' | head -c 300 > /dev/null; echo ${PIPESTATUS[0]}"
        let r = try run("/bin/bash", ["-c", sh])
        #expect(r.stdout == "0\n")
        #expect(r.stderr.isEmpty)
    }

    @Test func xargsSpreadScoresCombineToTheJointScore() throws {
        let f = Fixture.shared
        var files: [String] = []
        for i in 0..<7 {
            files.append(f.file("part\(i).txt", String(repeating: Fixture.sentence, count: i + 1) + (i == 3 ? mixed : "")))
        }
        let joint = jsonObject(try score(["--json", m] + files).lines.last!)
        let list = files.joined(separator: "\n") + "\n"
        let cmd = "xargs -n 2 -P 2 '\(try binary("rnn-score"))' --threads 1 --json '\(m)'"
        var runners = [["-c", cmd]]
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/parallel") {
            runners.append(["-c", "parallel -n 2 '\(try binary("rnn-score"))' --threads 1 --json '\(m)'"])
        }
        for args in runners {
            let r = try run("/bin/sh", args, input: list)
            #expect(r.status == 0)
            let records = r.lines.map { jsonObject($0)! }.filter { !($0["total"] as? Bool ?? false) }
            #expect(records.count == files.count)
            let chars = records.map { number($0, "chars") }.reduce(0, +), bits = records.map { number($0, "bits") }.reduce(0, +)
            #expect(chars == number(joint, "chars"))
            #expect(abs(bits - number(joint, "bits")) < 1e-6 * bits)
            #expect(abs(bits / chars - number(joint, "bpc")) < 1e-9)
        }
    }

    @Test func badCombinationsAreUsageErrors() throws {
        for args in [["--per-line", "--per-char"], ["--json", "--html"], ["--force-color"], ["--adapt", "--reset-each-line"],
                     ["--adapt-lr", "0"], ["--adapt-chunk", "0"]] {
            #expect(try score(args + [m], input: "").status == 64, "\(args)")
        }
    }
}

/// Every span of a heatmap page: its class and title.
private func spans(_ page: String) throws -> [(cls: String, title: String)] {
    final class Spans: NSObject, XMLParserDelegate {
        var all: [(String, String)] = []
        func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            if name == "span" { all.append((attributes["class"] ?? "", attributes["title"] ?? "")) }
        }
    }
    let parser = XMLParser(data: Data(page.utf8))
    let s = Spans()
    parser.delegate = s
    #expect(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
    return s.all.map { (cls: $0.0, title: $0.1) }
}

/// `rnn-score --unit` and the heatmap's candidates, against the Predictor run directly on the same text.
struct UnitViewTests {
    private let text = "the cat sat on the mat.\nthe dog ate the hat.\n"

    /// h of `layer` after each character, and the probabilities predicting each character, from the fresh state.
    private func direct(_ unit: HiddenUnit) -> (activations: [Float], probabilities: [[Double]]) {
        let model = Fixture.shared.model
        let p = Parameters(model: model)
        let predictor = Predictor(parameters: p, maxChunk: 1)
        predictor.recordsLayers = true
        let V = model.config.vocabSize
        var logits = [Float](repeating: 0, count: V)
        logits.withUnsafeMutableBufferPointer { predictor.initialLogits(into: $0.baseAddress!) }
        var acts: [Float] = [], probs: [[Double]] = []
        for s in text.unicodeScalars {
            let m = logits.max()!
            let e = logits.map { exp(Double($0 - m)) }
            let sum = e.reduce(0, +)
            probs.append(e.map { $0 / sum })
            var i = model.vocabulary.index(of: s)!
            predictor.advance(&i, count: 1)
            acts.append(predictor.layerOutputs[unit.layer].pointer[unit.index])
            for j in 0..<V { logits[j] = predictor.logits.pointer[j] }
        }
        return (acts, probs)
    }

    @Test func htmlShadesByTheUnitItsActivationAfterEachCharacter() throws {
        let unit = HiddenUnit(layer: 0, index: 5)
        let r = try score(["--html", "--unit", "0:5", m], input: text)
        #expect(r.status == 0, "\(r.stderr)")
        let all = try spans(r.stdout)
        let (acts, probs) = direct(unit)
        #expect(all.count == acts.count)
        for (i, s) in all.enumerated() where i < acts.count {
            // "0.51 bits; activation +0.123; likeliest: a 40%, …"
            let field = try #require(s.title.range(of: "activation ").map { s.title[$0.upperBound...].prefix(6) })
            let shown = try #require(Double(field))
            #expect(abs(shown - Double(acts[i])) <= 0.0006, "character \(i): shown \(shown), predictor \(acts[i])")
            #expect(s.cls == "u\(Heat.unitLevel(acts[i]))")
            // the likeliest character shown is the argmax of the distribution that predicted this one
            let best = probs[i].indices.max { probs[i][$0] < probs[i][$1] }!
            let percent = Int((100 * probs[i][best]).rounded())
            #expect(s.title.contains("likeliest: "), "no candidates in \(s.title)")
            let first = s.title.components(separatedBy: "likeliest: ")[1].components(separatedBy: ", ")[0]
            let c = Fixture.shared.model.vocabulary.scalars[best]
            let name = c == " " ? "␣" : escapedCharacter(c)
            let parts = first.split(separator: " ")
            #expect(parts.count == 2 && String(parts[0]) == name, "character \(i): \(first) against \(name)")
            #expect(parts.count == 2 && abs((Int(parts[1].dropLast()) ?? -9) - percent) <= 1,
                    "character \(i): \(first) against \(percent)% (rounding apart)")
            #expect(s.title.components(separatedBy: "likeliest: ")[1].components(separatedBy: ", ").count
                    == min(5, Fixture.shared.model.config.vocabSize))
        }
    }

    @Test func topListsTheMostVaryingUnitsInOrder() throws {
        let r = try score(["--unit", "top", m], input: String(repeating: text, count: 5))
        #expect(r.status == 0, "\(r.stderr)")
        let rows = r.lines.dropFirst().map { $0.split(separator: " ") }
        #expect(rows.count == min(10, Fixture.shared.model.config.hiddenSize))
        let spreads = rows.map { Double($0[2])! }
        #expect(spreads == spreads.sorted(by: >), "not most varying first: \(spreads)")
        for row in rows {
            let choice = try #require(UnitChoice(argument: String(row[1])))
            guard case .unit(let u) = choice else { Issue.record("not L:K: \(row[1])"); continue }
            #expect(u.layer < Fixture.shared.model.config.layers && u.index < Fixture.shared.model.config.hiddenSize)
        }
        // the page shows a section per listed unit, the first ones of the list
        let page = try score(["--html", "--unit", "top", m], input: String(repeating: text, count: 5))
        #expect(page.status == 0)
        let shown = page.stdout.components(separatedBy: "<h2 class=\"unit\" id=\"unit-").dropFirst().map { $0.prefix(while: { $0 != "\"" }) }
        #expect(shown.map { $0.replacingOccurrences(of: "-", with: ":") } == rows.prefix(4).map { String($0[1]) })
        #expect(try spans(page.stdout).count == 4 * 5 * text.unicodeScalars.count)
    }

    @Test func colorShadesByTheUnit() throws {
        let r = try score(["--color", "--force-color", "--unit", "0:1", m], input: text)
        #expect(r.status == 0)
        let codes = Set(r.stdout.components(separatedBy: "48;5;").dropFirst().compactMap { Int($0.prefix { $0.isNumber }) })
        #expect(!codes.isEmpty && codes.isSubset(of: Set(Heat.unitANSI)), "\(codes)")
    }

    @Test(arguments: [["--unit", "x", "--html"], ["--unit", "0:9999", "--html"], ["--unit", "7:0", "--html"],
                      ["--unit", "0:1"], ["--unit", "top", "--json"], ["--unit", "top", "--adapt"], ["--unit=-1:2", "--html"]])
    func badUnitsAreUsageErrors(_ args: [String]) throws {
        let r = try score(args + [m], input: text)
        #expect(r.status == 64 && r.stderr.hasPrefix("rnn-score: --unit") && r.stdout.isEmpty,
                "\(args): \(r.status) \(r.stderr)")
    }
}
