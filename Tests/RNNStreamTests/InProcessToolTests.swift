import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Testing
import RNNKernels
import RNNText
import RNNModel
import RNNInference
import RNNTraining
import RNNShell
import RNNTools

/// Descriptors for one in-process run of a tool: stdin from bytes, stdout and stderr into unlinked temporary
/// files read back afterwards. (Signals, pipes and terminals stay with the CLI tests, which need a process.)
private final class InProcessIO {
    let streams: ToolStreams
    init(input: [UInt8]) {
        func temporary() -> Int32 {
            var template = Array((NSTemporaryDirectory() + "/rnn-inprocess-XXXXXX").utf8CString)
            let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            precondition(fd >= 0)
            template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
            return fd
        }
        let i = temporary(), o = temporary(), e = temporary()
        _ = input.withUnsafeBytes { write(i, $0.baseAddress, $0.count) }
        lseek(i, 0, SEEK_SET)
        streams = ToolStreams(input: i, output: o, error: e)
    }
    deinit { for fd in [streams.input, streams.output, streams.error] { close(fd) } }

    private func contents(_ fd: Int32) -> [UInt8] {
        lseek(fd, 0, SEEK_SET)
        var out: [UInt8] = [], chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n <= 0 { return out }
            out += chunk[0..<n]
        }
    }
    var output: [UInt8] { contents(streams.output) }
    var error: String { String(decoding: contents(streams.error), as: UTF8.self) }
}

/// runFit, runGenerate and runScore called as library functions with their streams as parameters.
@Suite(.serialized)
struct InProcessToolTests {
    private let text = String(repeating: "to be or not to be, that is the question.\n", count: 60)

    private func fitModel() throws -> [UInt8] {
        var r = FitRequest()
        r.training.cell = .gru
        r.training.hiddenSize = 16
        r.training.layers = 1
        r.training.maxSteps = 20
        r.training.batch = 4
        r.training.seq = 16
        r.quiet = true
        let io = InProcessIO(input: Array(text.utf8))
        let status = runFit(r, streams: io.streams)
        try #require(status == 0, "rnn-fit in-process: \(status) \(io.error)")
        #expect(io.error.isEmpty)
        return io.output
    }

    @Test func fitWritesWeightsToItsOutputStream() throws {
        let weights = try fitModel()
        let model = try Model.load(weightsFile: weights)
        #expect(model.config.cell == .gru && model.config.hiddenSize == 16 && model.info["steps"] == "20")
        // the same request gives the same bytes (nothing in the file depends on the run's streams)
        #expect(try fitModel() == weights)
    }

    @Test func scoreReadsTextFromItsInputAndMatchesTheScorer() throws {
        let weights = try fitModel()
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let modelPath = try directory.write("m.gz", Data(weights))
        var r = ScoreRequest()
        r.modelPath = modelPath
        r.json = true
        let io = InProcessIO(input: Array(text.utf8))
        #expect(runScore(r, streams: io.streams) == 0, "\(io.error)")
        let line = String(decoding: io.output, as: UTF8.self)
        let record = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
        // the one scorer, run directly on the same text
        let model = try Model.load(weightsFile: weights)
        let scorer = StreamScorer(parameters: Parameters(model: model), vocabulary: model.vocabulary,
                                  weights: r.precision)
        scorer.feed(text.unicodeScalars)
        scorer.flush()
        #expect((record["chars"] as? NSNumber)?.intValue == text.unicodeScalars.count)
        let bits = try #require((record["bits"] as? NSNumber)?.doubleValue)
        #expect(abs(bits - scorer.totals.totalBits) <= 1e-9 * bits, "\(bits) vs \(scorer.totals.totalBits)")
    }

    @Test func errorsGoToTheErrorStreamAsOneLine() throws {
        var r = ScoreRequest()
        r.modelPath = "/nonexistent/m.gz"
        let io = InProcessIO(input: [])
        #expect(runScore(r, streams: io.streams) == 1)
        #expect(io.error == "rnn-score: /nonexistent/m.gz: No such file or directory\n")
        #expect(io.output.isEmpty)

        var g = GenerateRequest()
        g.modelPath = "-"  // the model from the input stream, which holds text
        let gio = InProcessIO(input: Array("not a model".utf8))
        #expect(runGenerate(g, streams: gio.streams) == 1)
        #expect(gio.error.hasPrefix("rnn-gen: standard input: ") && gio.error.hasSuffix("\n")
                && gio.error.filter { $0 == "\n" }.count == 1, "\(gio.error)")
    }

    @Test func generateWritesExactlyTheAskedCharacters() throws {
        let weights = try fitModel()
        var g = GenerateRequest()
        g.modelPath = "-"
        g.length = 300
        g.seed = 7
        let io = InProcessIO(input: weights)
        #expect(runGenerate(g, streams: io.streams) == 0, "\(io.error)")
        let out = String(decoding: io.output, as: UTF8.self)
        #expect(out.unicodeScalars.count == 300)
        let again = InProcessIO(input: weights)
        #expect(runGenerate(g, streams: again.streams) == 0)
        #expect(again.output == io.output, "the same seed gives the same text")
    }
}
