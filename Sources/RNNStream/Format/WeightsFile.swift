import RNNModel
import RNNKernels
import RNNText

/// The memory budget of reading one weights file, in bytes (1 GiB).
///
/// It caps both the compressed file read from disk or stdin and its decompressed safetensors content;
/// the tensors themselves are at most the size of the decompressed data. Loading a model therefore holds
/// at most about three times this much at its peak (compressed + decompressed + tensors), and a file that
/// claims more is rejected before the large allocations are made.
public let weightsFileMemoryLimit = 1 << 30

/// Why a weights file could not be read: a single-line human cause without the file name (the caller
/// prints `program: file: cause`), e.g. `not gzip (bad magic)` or `missing tensor layers.1.b`.
public struct WeightsFileError: Error, CustomStringConvertible, Equatable, Sendable {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}

// The model weights file
// ======================
//
// One gzip stream (`gunzip -c model.gz` works) of one safetensors file (see `SafeTensorsFile`) whose
// tensors are `config.tensorShapes` (names, shapes, order) in float32, and whose `__metadata__` holds:
//
//   format          "rnnstream"
//   format_version  "1"
//   cell            "rnn" | "lstm" | "gru"
//   vocab_size, hidden_size, layers   decimal integers
//   gate_order      `CellKind.gateOrder`, e.g. "i,f,g,o"
//   layer_norm      "1" when the cells normalise their pre-activations (`ModelConfig.layerNorm`; the tensors
//                   then include layers.k.gx and layers.k.gh); absent otherwise, so older files read as before
//   vocabulary      a JSON string literal of the vocabulary in index order, e.g. "\"\\n !abc\""
//   …               every entry of `Model.info` (tool_version, seed, options, bits per character, …)
//
// The same model always gives the same bytes (sorted metadata, fixed tensor order, gzip mtime 0, no file
// name, fixed OS byte) for a given zlib.
extension Model {
    /// The current (and only) version of the weights file layout.
    public static let weightsFormatVersion = "1"

    /// Metadata keys owned by the format; `info` may not use them.
    public static let structuralMetadataKeys: Set<String> = [
        "format", "format_version", "cell", "vocab_size", "hidden_size", "layers", "gate_order", "vocabulary",
        "layer_norm",
    ]

    /// The safetensors view of the model: metadata (structure + `info`) and tensors in `config.tensorShapes` order.
    public func safeTensorsFile() -> SafeTensorsFile {
        for key in info.keys {
            precondition(!Model.structuralMetadataKeys.contains(key), "model info key \(key) is reserved by the weights file")
        }
        let shapes = config.tensorShapes
        precondition(parameters.count == shapes.count, "model parameters do not match the config")
        for (t, s) in zip(parameters, shapes) {
            precondition(t.name == s.name && t.shape == s.shape, "parameter \(t.name) \(t.shape) does not match \(s.name) \(s.shape)")
        }
        var metadata = info
        metadata["format"] = "rnnstream"
        metadata["format_version"] = Model.weightsFormatVersion
        metadata["cell"] = config.cell.rawValue
        metadata["vocab_size"] = String(config.vocabSize)
        metadata["hidden_size"] = String(config.hiddenSize)
        metadata["layers"] = String(config.layers)
        metadata["gate_order"] = config.cell.gateOrder
        if config.layerNorm { metadata["layer_norm"] = "1" }
        metadata["vocabulary"] = jsonString(vocabulary.string)
        return SafeTensorsFile(metadata: metadata, tensors: parameters)
    }

    /// The weights file: gzip of the safetensors bytes. Deterministic.
    ///
    /// To read it from Python (numpy and the `safetensors` package):
    ///
    /// ```python
    /// import gzip, json, struct
    /// from safetensors.numpy import load
    /// raw = gzip.open('m.gz').read()
    /// tensors = load(raw)                      # {'layers.0.wx': ndarray (V, G*H), ..., 'head.b': ndarray (V,)}
    /// n = struct.unpack('<Q', raw[:8])[0]
    /// meta = json.loads(raw[8:8 + n])['__metadata__']
    /// vocab = json.loads(meta['vocabulary'])  # str; character i is vocab[i]
    /// ```
    ///
    /// The deflate data is written as stored blocks (level 0): float32 weights barely compress (level 6 saves
    /// about 7% on a 2x512 LSTM) while inflating them dominates load time (about 45 ms of rnn-gen's start for
    /// 12 MB). Any gzip level loads the same: `gunzip -c m.gz | gzip -9 > small.gz` gives a smaller file.
    public func weightsFileBytes() -> [UInt8] {
        Gzip.compress(safeTensorsFile().encoded(), level: 0)
    }

    /// Reads a model from the bytes of a weights file, validating everything before allocating tensors.
    public static func load(weightsFile bytes: [UInt8]) throws(WeightsFileError) -> Model {
        if bytes.isEmpty { throw WeightsFileError("empty file") }
        let raw: [UInt8]
        do {
            raw = try Gzip.decompress(bytes, maxOutput: weightsFileMemoryLimit)
        } catch {
            throw WeightsFileError(error.description)
        }
        return try load(safeTensors: raw)
    }

    /// Reads a model from the (decompressed) safetensors bytes of a weights file.
    public static func load(safeTensors raw: [UInt8]) throws(WeightsFileError) -> Model {
        // What the file is, before its tensor entries: a foreign safetensors file says so first.
        let header = try SafeTensorsHeader.decode(raw) { meta throws(WeightsFileError) in
            guard let format = meta["format"] else { throw WeightsFileError("not an rnn model (no rnnstream metadata)") }
            guard format == "rnnstream" else {
                throw WeightsFileError("not an rnn model (format is \(displayed(format)), expected rnnstream)")
            }
            guard let version = meta["format_version"] else { throw WeightsFileError("missing metadata format_version") }
            guard version == weightsFormatVersion else {
                throw WeightsFileError("unsupported format version \(displayed(version))")
            }
        }
        let meta = header.metadata
        guard let cellName = meta["cell"] else { throw WeightsFileError("missing metadata cell") }
        guard let cell = CellKind(rawValue: cellName) else {
            throw WeightsFileError("unknown cell \(displayed(cellName)) (expected rnn, lstm or gru)")
        }
        let vocabSize = try count(meta, "vocab_size", max: ModelConfig.maxVocab)
        let hiddenSize = try count(meta, "hidden_size", max: ModelConfig.maxHidden)
        let layers = try count(meta, "layers", max: ModelConfig.maxLayers)
        guard let gateOrder = meta["gate_order"] else { throw WeightsFileError("missing metadata gate_order") }
        guard gateOrder == cell.gateOrder else {
            throw WeightsFileError(
                "gate_order \(displayed(gateOrder)) does not match cell \(cell.rawValue) (expected \(cell.gateOrder))")
        }
        var layerNorm = false
        if let text = meta["layer_norm"] {
            guard text == "0" || text == "1" else { throw WeightsFileError("layer_norm \(displayed(text)) is not 0 or 1") }
            layerNorm = text == "1"
        }
        let vocabulary = try decodeVocabulary(meta["vocabulary"], vocabSize: vocabSize)
        let config = ModelConfig(cell: cell, vocabSize: vocabSize, hiddenSize: hiddenSize, layers: layers,
                                 layerNorm: layerNorm)

        // Names and shapes against the config, before any tensor storage exists.
        var byName: [String: SafeTensorsHeader.Entry] = [:]
        for e in header.entries { byName[e.name] = e }
        let expected = config.tensorShapes
        var entries: [SafeTensorsHeader.Entry] = []
        for (name, shape) in expected {
            guard let e = byName[name] else { throw WeightsFileError("missing tensor \(name)") }
            guard e.shape == shape else {
                throw WeightsFileError(
                    "tensor \(name): shape \(shapeText(e.shape)) does not match the model (expected \(shapeText(shape)))")
            }
            entries.append(e)
        }
        let expectedNames = Set(expected.map(\.name))
        for e in header.entries where !expectedNames.contains(e.name) {
            throw WeightsFileError("unexpected tensor \(displayed(e.name))")
        }

        var parameters: [Tensor] = []
        parameters.reserveCapacity(entries.count)
        for e in entries { parameters.append(try header.tensor(e, in: raw)) }

        var info = meta
        for key in structuralMetadataKeys { info[key] = nil }
        return Model(config: config, vocabulary: vocabulary, parameters: parameters, info: info)
    }

    /// A structural size: decimal digits only, within 1...max.
    private static func count(_ meta: [String: String], _ key: String, max: Int) throws(WeightsFileError) -> Int {
        guard let text = meta[key] else { throw WeightsFileError("missing metadata \(key)") }
        let digits = text.utf8
        guard !digits.isEmpty, digits.count <= 18, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
              let n = Int(text) else {
            if !digits.isEmpty && digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) {
                throw WeightsFileError("\(key) \(displayed(text)) is out of range (1...\(max))")
            }
            throw WeightsFileError("\(key) \(displayed(text)) is not an integer")
        }
        guard n >= 1 && n <= max else { throw WeightsFileError("\(key) \(n) is out of range (1...\(max))") }
        return n
    }

    private static func decodeVocabulary(_ text: String?, vocabSize: Int) throws(WeightsFileError) -> Vocabulary {
        guard let text else { throw WeightsFileError("missing metadata vocabulary") }
        let value: JSONValue
        do {
            value = try JSON.parse(text, maxDepth: 1, maxBytes: SafeTensorsFile.maxHeaderBytes)
        } catch {
            throw WeightsFileError("vocabulary is not a JSON string literal: \(error)")
        }
        guard let string = value.stringValue else { throw WeightsFileError("vocabulary is not a JSON string literal") }
        var scalars: [Unicode.Scalar] = []
        for s in string.unicodeScalars {
            if let last = scalars.last, s.value <= last.value {
                if s.value == last.value { throw WeightsFileError("vocabulary has a duplicate character \(codePoint(s))") }
                throw WeightsFileError("vocabulary is not sorted by code point (\(codePoint(s)) after \(codePoint(last)))")
            }
            if scalars.count >= vocabSize {
                throw WeightsFileError("vocabulary has more than vocab_size \(vocabSize) characters")
            }
            scalars.append(s)
        }
        guard scalars.count == vocabSize else {
            throw WeightsFileError("vocabulary has \(scalars.count) characters but vocab_size is \(vocabSize)")
        }
        return Vocabulary(scalars: scalars)
    }
}

/// `U+00E9`
private func codePoint(_ s: Unicode.Scalar) -> String {
    let hex = String(s.value, radix: 16, uppercase: true)
    return "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
}

/// A file-derived string made safe for a one-line message: shown raw when it is short and free of
/// whitespace and control characters, otherwise as a (shortened) JSON string literal.
func displayed(_ s: String) -> String {
    let plain = s.unicodeScalars.allSatisfy { $0.value > 0x20 && $0.value != 0x7f && !(0x80...0x9f).contains($0.value)
        && !$0.properties.isWhitespace && $0 != "\"" }
    if plain && !s.isEmpty && s.unicodeScalars.count <= 80 { return s }
    return briefJSON(s)
}
