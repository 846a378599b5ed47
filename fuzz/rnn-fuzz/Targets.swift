// The five libFuzzer entry points of rnn-fuzz, one per reader of untrusted bytes. RNN_FUZZ_TARGET picks one
// at run time. Every input must give a value or the reader's own error: never a crash, a hang, or an
// allocation beyond the reader's documented budget (ASan and libFuzzer's -rss_limit_mb catch those). The
// differential and round-trip checks trap (fatalError) on a disagreement, which libFuzzer reports as a crash.

enum FuzzTarget: String, CaseIterable {
    case weights, checkpoint, utf8, vocab, json

    static let selected: FuzzTarget = {
        guard let name = getenv("RNN_FUZZ_TARGET").map({ String(cString: $0) }) else {
            fatalError("rnn-fuzz: set RNN_FUZZ_TARGET to one of \(allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let t = FuzzTarget(rawValue: name) else {
            fatalError("rnn-fuzz: unknown RNN_FUZZ_TARGET \(name) (expected \(allCases.map(\.rawValue).joined(separator: ", ")))")
        }
        return t
    }()

    func run(_ bytes: [UInt8]) {
        switch self {
        case .weights: fuzzWeights(bytes)
        case .checkpoint: fuzzCheckpoint(bytes)
        case .utf8: fuzzUTF8(bytes)
        case .vocab: fuzzVocab(bytes)
        case .json: fuzzJSON(bytes)
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func rnnFuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = size == 0 ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    FuzzTarget.selected.run(bytes)
    return 0
}

// MARK: weights: Model.load (Format/WeightsFile.swift), the whole file and the safetensors layer directly.

func fuzzWeights(_ bytes: [UInt8]) {
    _ = try? Model.load(weightsFile: bytes)
    _ = try? Model.load(safeTensors: bytes)
    if let raw = try? Gzip.decompress(bytes, maxOutput: 1 << 24) { _ = try? Model.load(safeTensors: raw) }
}

// MARK: checkpoint: Checkpoint.decode (Training/Checkpoint.swift) against one fixed small trainer.

/// The text, options and trainer of the checkpoint fuzzer; `rnn-fuzz --write-seeds` writes its seed
/// checkpoint with `Checkpoint.encode` from the same trainer, so that mutations get past the SHA-256 and
/// option checks into the tensors.
enum CheckpointFixture {
    static let text: [UInt8] = Array(String(repeating: "the quick brown fox jumps over the lazy dog\n", count: 8).utf8)
    static let sha = SHA256.hex(of: text)
    static let trainer: Trainer = {
        let scalars = try! UTF8Reader.decode(text)
        let vocabulary = Vocabulary(text: scalars)
        var options = TrainingOptions()
        options.cell = .lstm
        options.hiddenSize = 4
        options.layers = 2
        options.batch = 2
        options.seq = 8
        let indices = scalars.map { vocabulary.index(of: $0)! }
        return try! Trainer(text: indices, vocabulary: vocabulary, options: options)
    }()
    static func seed() -> [UInt8] {
        Checkpoint.encode(state: trainer.makeState(), trainer: trainer, textSHA256: sha, seconds: 1.5)
    }
}

func fuzzCheckpoint(_ bytes: [UInt8]) {
    _ = try? Checkpoint.decode(bytes, trainer: CheckpointFixture.trainer, textSHA256: CheckpointFixture.sha)
}

// MARK: utf8: UTF8Decoder (Text/UTF8Reader.swift), fed in pieces, against String(validating:as:).

/// Piece sizes (1...16, or a rare large one) from a small generator seeded by the input, so that every
/// input is also a different way of cutting itself.
struct Pieces {
    var state: UInt64
    init(_ bytes: [UInt8]) {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in bytes.prefix(8) { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        state = h ^ UInt64(bytes.count)
    }
    mutating func next() -> Int {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        let r = Int(truncatingIfNeeded: state >> 33)
        return r % 8 == 0 ? 64 + r % 200 : 1 + r % 16
    }
}

func valid(_ bytes: ArraySlice<UInt8>) -> String? { String(validating: bytes, as: UTF8.self) }

func fuzzUTF8(_ bytes: [UInt8]) {
    var decoder = UTF8Decoder()
    var out: [Unicode.Scalar] = []
    var pieces = Pieces(bytes)
    var failure: Int? = nil
    do {
        var i = 0
        while i < bytes.count {
            let j = min(bytes.count, i + pieces.next())
            try bytes.withUnsafeBufferPointer { (all) throws(TextError) in
                try decoder.decode(UnsafeBufferPointer(rebasing: all[i..<j]), into: &out)
            }
            i = j
        }
        try decoder.finish()
    } catch {
        guard case .invalidUTF8(let offset) = error else { fatalError("utf8: unexpected error \(error)") }
        failure = offset
    }
    let reference = valid(bytes[...])
    guard let p = failure else {
        guard let reference else { fatalError("utf8: accepted \(bytes.count) bytes that String(validating:) rejects") }
        guard Array(reference.unicodeScalars) == out else { fatalError("utf8: scalars differ from String(validating:)") }
        // the whole-buffer decoder agrees with the piecewise one
        guard (try? UTF8Reader.decode(bytes)) == out else { fatalError("utf8: UTF8Reader.decode differs from pieces") }
        return
    }
    guard reference == nil else { fatalError("utf8: rejected at byte \(p) a text String(validating:) accepts") }
    guard p >= 0, p < bytes.count else { fatalError("utf8: error offset \(p) outside 0..<\(bytes.count)") }
    // Everything before the offset is valid and is what was decoded before the error ...
    guard let before = valid(bytes[..<p]) else { fatalError("utf8: the bytes before error offset \(p) are not valid") }
    guard Array(before.unicodeScalars) == out else { fatalError("utf8: scalars before error offset \(p) differ") }
    // ... and no well-formed sequence starts at the offset (UTF-8 is prefix-free: it would be 1 to 4 bytes).
    for k in 1...4 where p + k <= bytes.count {
        if let s = valid(bytes[p..<(p + k)]), s.unicodeScalars.count == 1 {
            fatalError("utf8: error at byte \(p), but a valid \(k)-byte scalar starts there")
        }
    }
    guard case .invalidUTF8(p)? = wholeDecodeError(bytes) else {
        fatalError("utf8: UTF8Reader.decode reports another error than the pieces")
    }
}

func wholeDecodeError(_ bytes: [UInt8]) -> TextError? {
    do throws(TextError) { _ = try UTF8Reader.decode(bytes); return nil } catch { return error }
}

// MARK: vocab: a --vocab file through rnn-fit's own reader (Tools/Fit.swift `vocabulary(fromFile:)`), then
// stored in a weights file and loaded back: any vocabulary rnn-fit accepts (at most ModelConfig.maxVocab
// characters) must survive the weights file unchanged.

func fuzzVocab(_ bytes: [UInt8]) {
    guard let vocabulary = try? RNNTools.vocabulary(fromFile: bytes, subject: "fuzz"),
          vocabulary.count <= ModelConfig.maxVocab else { return }
    let scalars = try! UTF8Reader.decode(bytes)
    for s in scalars where vocabulary.index(of: s) == nil { fatalError("vocab: \(s.value) missing from its own vocabulary") }
    let config = ModelConfig(cell: .rnn, vocabSize: vocabulary.count, hiddenSize: 1, layers: 1)
    let model = Model(config: config, vocabulary: vocabulary, parameters: Parameters(config: config).tensors())
    let loaded: Model
    do { loaded = try Model.load(weightsFile: model.weightsFileBytes()) } catch {
        fatalError("vocab: a --vocab vocabulary of \(vocabulary.count) characters does not load back: \(error)")
    }
    guard loaded.vocabulary == vocabulary else { fatalError("vocab: the vocabulary changed through the weights file") }
}

// MARK: json: JSON.parse (Format/JSON.swift); what it accepts must print (jsonText) and parse back equal.

func fuzzJSON(_ bytes: [UInt8]) {
    guard let value = try? JSON.parse(bytes) else { return }
    let text = value.jsonText
    let again: JSONValue
    do { again = try JSON.parse(text, maxDepth: JSON.defaultMaxDepth, maxBytes: Int.max) } catch {
        fatalError("json: printed value does not parse back: \(error)")
    }
    guard again == value else { fatalError("json: value changed through jsonText") }
}

#if RNNSTREAM_FUZZ
/// Called by libFuzzer before fuzzing. RNN_FUZZ_WRITE_SEEDS=DIR writes the generated seed files into DIR
/// and exits (fuzz/make-seeds.sh), so that the seeds come from the fuzzing build alone.
@_cdecl("LLVMFuzzerInitialize")
public func rnnFuzzInitialize(_ argc: UnsafeMutablePointer<CInt>?, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>?) -> CInt {
    if let dir = getenv("RNN_FUZZ_WRITE_SEEDS").map({ String(cString: $0) }) {
        writeSeeds(dir)
        exit(0)
    }
    _ = FuzzTarget.selected
    return 0
}
#endif

/// The seeds only the library can make: a valid checkpoint written by `Checkpoint.encode`.
func writeSeeds(_ dir: String) {
    let path = dir + "/checkpoint.gz"
    do { try writeFileAtomically(path: path, bytes: CheckpointFixture.seed()) } catch {
        fputs("rnn-fuzz: \(path): \(error)\n", stderr)
        exit(1)
    }
    print("rnn-fuzz: wrote \(path)")
}
