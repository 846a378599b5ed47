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

private let vocabText = "\n !abcé😀"

private func makeModel(_ cell: CellKind, hidden: Int = 5, layers: Int = 2, seed: UInt64 = 1, layerNorm: Bool = false) -> Model {
    let vocabulary = Vocabulary(text: vocabText.unicodeScalars)
    let config = ModelConfig(cell: cell, vocabSize: vocabulary.count, hiddenSize: hidden, layers: layers, layerNorm: layerNorm)
    var g = SplitMix(seed: seed)
    let params = config.tensorShapes.map { name, shape in
        Tensor(name: name, shape: shape, data: (0..<shape.reduce(1, *)).map { _ in
            Float(Int64(bitPattern: g.next() >> 11) - (1 << 52)) / Float(1 << 52)
        })
    }
    return Model(config: config, vocabulary: vocabulary, parameters: params, info: [
        "tool_version": rnnstreamVersion, "seed": "\(seed)", "options": "--cell \(cell) \"quoted\"\nline2",
        "train_bpc": "2.125", "note": "é😀\u{0}",
    ])
}

/// Gzip of a hand-made safetensors file: `header` JSON text, then `data`.
private func rawFile(header: String, data: [UInt8], headerLength: UInt64? = nil) -> [UInt8] {
    let h = Array(header.utf8)
    let n = headerLength ?? UInt64(h.count)
    return Gzip.compress((0..<8).map { UInt8(truncatingIfNeeded: n >> UInt64(8 * $0)) } + h + data)
}

/// `header` (a JSON object of tensor entries) with the rnnstream identity metadata in front, so loading
/// gets past the "is this a model" check to the entries.
private func rnn(_ header: String) -> String {
    #"{"__metadata__":{"format":"rnnstream","format_version":"1"},"# + header.dropFirst()
}

private func floats(_ values: [Float]) -> [UInt8] {
    values.flatMap { v in (0..<4).map { UInt8(truncatingIfNeeded: v.bitPattern >> UInt32(8 * $0)) } }
}

/// The load error's message, or nil when the file loads.
private func loadError(_ bytes: [UInt8]) -> String? {
    do {
        _ = try Model.load(weightsFile: bytes)
        return nil
    } catch {
        return error.description
    }
}

/// A valid model's safetensors file, edited, as a weights file.
private func edited(_ model: Model, _ edit: (inout SafeTensorsFile) -> Void) -> [UInt8] {
    var file = model.safeTensorsFile()
    edit(&file)
    return Gzip.compress(file.encoded())
}

private func expectSame(_ a: Model, _ b: Model) {
    #expect(a.config == b.config)
    #expect(a.vocabulary == b.vocabulary)
    #expect(a.parameters == b.parameters)
    #expect(a.info == b.info)
}

@Suite struct WeightsFileTests {
    @Test(arguments: CellKind.allCases) func roundTrip(cell: CellKind) throws {
        let model = makeModel(cell)
        let bytes = model.weightsFileBytes()
        let loaded = try Model.load(weightsFile: bytes)
        expectSame(model, loaded)
        #expect(loaded.vocabulary.string == "\n !abcé😀")
        #expect(loaded.parameters.map(\.name) == model.config.tensorShapes.map(\.name))
        // Byte-identical re-encoding, and determinism.
        #expect(loaded.weightsFileBytes() == bytes)
        #expect(makeModel(cell).weightsFileBytes() == bytes)
        #expect(makeModel(cell, seed: 2).weightsFileBytes() != bytes)
    }

    /// Layer normalisation: metadata layer_norm "1" and the two gains per layer; a file without the key (every
    /// file written before it) is a model without them.
    @Test(arguments: CellKind.allCases) func layerNormRoundTrip(cell: CellKind) throws {
        let model = makeModel(cell, layerNorm: true)
        let bytes = model.weightsFileBytes()
        let loaded = try Model.load(weightsFile: bytes)
        expectSame(model, loaded)
        #expect(loaded.config.layerNorm)
        #expect(loaded.parameters.map(\.name).filter { $0.hasSuffix(".gx") || $0.hasSuffix(".gh") }
                == ["layers.0.gx", "layers.0.gh", "layers.1.gx", "layers.1.gh"])
        #expect(model.safeTensorsFile().metadata["layer_norm"] == "1")
        #expect(makeModel(cell).safeTensorsFile().metadata["layer_norm"] == nil)
        #expect(loadError(edited(model) { $0.metadata["layer_norm"] = "yes" }) == "layer_norm yes is not 0 or 1")
        #expect(loadError(edited(model) { $0.metadata["layer_norm"] = nil }) == "unexpected tensor layers.0.gx")
        #expect(loadError(edited(makeModel(cell)) { $0.metadata["layer_norm"] = "1" }) == "missing tensor layers.0.gx")
        #expect(loadError(edited(model) { $0.tensors.removeAll { $0.name == "layers.1.gh" } }) == "missing tensor layers.1.gh")
    }

    @Test func singleLayerAndEmptyInfo() throws {
        var model = makeModel(.lstm, hidden: 1, layers: 1)
        model.info = [:]
        let loaded = try Model.load(weightsFile: model.weightsFileBytes())
        expectSame(model, loaded)
    }

    @Test func layout() throws {
        let model = makeModel(.gru)
        let raw = try Gzip.decompress(model.weightsFileBytes(), maxOutput: 1 << 20)
        #expect(raw == model.safeTensorsFile().encoded())
        var n = 0
        for i in 0..<8 { n |= Int(raw[i]) << (8 * i) }
        #expect(n % 8 == 0)
        let header = try JSON.parse(Array(raw[8..<(8 + n)]))
        let meta = try #require(header["__metadata__"])
        #expect(meta["format"] == .string("rnnstream"))
        #expect(meta["format_version"] == .string("1"))
        #expect(meta["cell"] == .string("gru"))
        #expect(meta["gate_order"] == .string("r,z,n"))
        #expect(meta["vocab_size"] == .string("8"))
        #expect(meta["hidden_size"] == .string("5"))
        #expect(meta["layers"] == .string("2"))
        #expect(meta["vocabulary"] == .string(#""\n !abcé😀""#))
        #expect(meta["tool_version"] == .string(rnnstreamVersion))
        // Metadata keys sorted, then the tensors in config order with contiguous offsets.
        let metaKeys = try #require(meta.objectValue).map(\.key)
        #expect(metaKeys == metaKeys.sorted())
        let tensorKeys = try #require(header.objectValue).map(\.key).dropFirst()
        #expect(Array(tensorKeys) == model.config.tensorShapes.map(\.name))
        #expect(header["layers.0.bhn"] == .object([
            ("dtype", .string("F32")), ("shape", .array([.number(5)])), ("data_offsets", .array([.number(840), .number(860)])),
        ]))
        #expect(raw.count == 8 + n + 4 * model.config.parameterCount)
    }

    @Test func readableByGzipCommand() throws {
        let gzip = "/bin/gzip"
        guard FileManager.default.isExecutableFile(atPath: gzip) else { return }
        let model = makeModel(.lstm)
        let out = try runProcess(gzip, ["-dc"], input: model.weightsFileBytes())
        #expect(out == model.safeTensorsFile().encoded())
        // A file recompressed by gzip (with its own header) still loads.
        let recompressed = try runProcess(gzip, ["-c9"], input: out)
        expectSame(model, try Model.load(weightsFile: recompressed))
    }

    @Test func loadPath() throws {
        let model = makeModel(.rnn)
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("rnnstream-wf-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("m.gz").path
        try Data(model.weightsFileBytes()).write(to: URL(fileURLWithPath: path))
        expectSame(model, try loadModel(path: path))

        #expect(throws: ToolError(subject: dir.path + "/missing.gz", cause: "No such file or directory")) {
            try loadModel(path: dir.path + "/missing.gz")
        }
        #expect(throws: ToolError(subject: dir.path, cause: "Is a directory")) { try loadModel(path: dir.path) }
    }

    // MARK: container failures

    @Test func emptyFile() {
        #expect(loadError([]) == "empty file")
    }

    @Test func notGzip() {
        #expect(loadError(Array("layers.0.wx 1 2 3\n".utf8)) == "not gzip (bad magic)")
        // An uncompressed safetensors file is not a weights file either.
        #expect(loadError(makeModel(.rnn).safeTensorsFile().encoded()) == "not gzip (bad magic)")
    }

    @Test func gzipOfRandomBytes() {
        var g = SplitMix(seed: 3)
        let junk = (0..<1000).map { _ in UInt8(truncatingIfNeeded: g.next()) }
        let message = loadError(Gzip.compress(junk))
        #expect(message?.hasPrefix("header length ") == true)
        #expect(message?.hasSuffix(" exceeds the file (1000 bytes)") == true)
        #expect(loadError(Gzip.compress([1, 2, 3])) == "file too short for a safetensors header (3 bytes)")
        #expect(loadError(Gzip.compress([])) == "file too short for a safetensors header (0 bytes)")
    }

    @Test func truncatedGzip() {
        let bytes = makeModel(.lstm).weightsFileBytes()
        for cut in [1, 2, 9, 10, 11, bytes.count / 3, bytes.count / 2, bytes.count - 8, bytes.count - 1] {
            #expect(loadError(Array(bytes[0..<cut])) == "truncated (gzip stream ends early)", "cut at \(cut)")
        }
        #expect(loadError(bytes + [0x0a]) == "trailing data after the gzip stream")
    }

    @Test func flippedByte() {
        let bytes = makeModel(.lstm).weightsFileBytes()
        var crc = bytes
        crc[bytes.count - 6] ^= 0x10
        #expect(loadError(crc) == "corrupted (gzip CRC mismatch)")
        for i in stride(from: 10, to: bytes.count - 8, by: 37) {
            var bad = bytes
            bad[i] ^= 0x04
            let message = loadError(bad)
            #expect(message != nil, "flip at \(i)")
            let known = ["corrupted (gzip", "truncated (gzip", "trailing data after"]
            #expect(known.contains { message?.hasPrefix($0) == true }, "flip at \(i): \(message ?? "")")
        }
    }

    // MARK: safetensors failures

    @Test func absurdHeaderLength() {
        let file = rawFile(header: "{}", data: [], headerLength: 1 << 63)
        #expect(loadError(file) == "header length 9223372036854775808 exceeds the file (10 bytes)")
        #expect(loadError(rawFile(header: "{}", data: [], headerLength: 3)) == "header length 3 exceeds the file (10 bytes)")
        #expect(loadError(rawFile(header: "{}", data: [], headerLength: 1)) == "header is not valid JSON: unexpected end of JSON text at byte 1")
    }

    @Test func malformedHeaderJSON() {
        #expect(loadError(rawFile(header: #"{"x": {"dtype": "F32",}}"#, data: []))?.hasPrefix("header is not valid JSON: ") == true)
        #expect(loadError(rawFile(header: "[]", data: [])) == "header is not a JSON object")
        #expect(loadError(rawFile(header: #"{"a":1,"a":2}"#, data: [])) == #"header is not valid JSON: duplicate key "a" at byte 7"#)
        #expect(loadError(rawFile(header: #"{"__metadata__":{"format":1}}"#, data: [])) == #"__metadata__ value for "format" is not a string"#)
        #expect(loadError(rawFile(header: #"{"__metadata__":[]}"#, data: [])) == "__metadata__ is not an object")
    }

    @Test func nestingBomb() {
        let header = #"{"__metadata__":"# + String(repeating: "[", count: 1_000_000)
        let message = loadError(rawFile(header: header, data: []))
        #expect(message == "header is not valid JSON: nesting deeper than 64 levels at byte 79")
    }

    @Test func wrongDtype() {
        let header = #"{"x":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}"#
        #expect(loadError(rawFile(header: rnn(header), data: [0, 0, 0, 0])) == #"tensor x: dtype "F16" is not supported (only F32)"#)
        let model = makeModel(.rnn)
        var raw = model.safeTensorsFile().encoded()
        let f32 = Array(#""F32""#.utf8)
        let at = try! #require((0..<raw.count).first { Array(raw[$0..<($0 + f32.count)]) == f32 })
        raw[at + 1] = UInt8(ascii: "I")
        #expect(loadError(Gzip.compress(raw)) == #"tensor layers.0.wx: dtype "I32" is not supported (only F32)"#)
    }

    @Test func badShapes() {
        let four = floats([1])
        #expect(loadError(rawFile(header: rnn(#"{"x":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#), data: four))
            == "tensor x: shape -1 is not a non-negative integer")
        #expect(loadError(rawFile(header: rnn(#"{"x":{"dtype":"F32","shape":[1.5],"data_offsets":[0,4]}}"#), data: four))
            == "tensor x: shape 1.5 is not a non-negative integer")
        #expect(loadError(rawFile(header: rnn(#"{"x":{"dtype":"F32","shape":[2147483649],"data_offsets":[0,4]}}"#), data: four))
            == "tensor x: dimension 2147483649 exceeds 2^31")
        #expect(loadError(rawFile(header: rnn(#"{"x":{"dtype":"F32","shape":[2147483648,2147483648,2147483648],"data_offsets":[0,4]}}"#), data: four))
            == "tensor x: element count overflows")
        #expect(loadError(rawFile(header: rnn(#"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}}"#), data: four))
            == "tensor x: data_offsets [0, 4] hold 4 bytes but shape [2] needs 8")
        #expect(loadError(rawFile(header: rnn(#"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"y":1}}"#), data: four))
            == #"tensor x: unexpected field "y""#)
        #expect(loadError(rawFile(header: rnn(#"{"x":{"dtype":"F32","data_offsets":[0,4]}}"#), data: four))
            == "tensor x: missing shape")
        #expect(loadError(rawFile(header: rnn(#"{"x\ny":{"dtype":"F32","shape":[1],"data_offsets":[0]}}"#), data: four))
            == #"tensor "x\ny": data_offsets [0] is not a pair of non-negative integers"#)
        // Values quoted from the file are cut short in messages.
        let long = String(repeating: "z", count: 10_000)
        let message = loadError(rawFile(header: rnn(#"{"x":{"dtype":"F32","shape":[""# + long + #""],"data_offsets":[0,4]}}"#), data: four))
        #expect(message == "tensor x: shape \"" + String(repeating: "z", count: 80) + "\"… is not a non-negative integer")
    }

    @Test func shapeMismatchVsMetadata() {
        let model = makeModel(.rnn)  // V 8, H 5
        let file = edited(model) { $0.metadata["hidden_size"] = "6" }
        #expect(loadError(file) == "tensor layers.0.wx: shape [8, 5] does not match the model (expected [8, 6])")
        let lstm = edited(makeModel(.lstm)) { $0.metadata["layers"] = "1" }
        #expect(loadError(lstm) == "unexpected tensor layers.1.wx")
    }

    @Test func offsetsOutsideData() {
        #expect(loadError(rawFile(header: rnn(#"{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#), data: floats([1])))
            == "tensor x: data_offsets [0, 8] are outside the data section (4 bytes)")
        #expect(loadError(rawFile(header: rnn(#"{"x":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}}"#), data: floats([1])))
            == "tensor x: data_offsets [8, 4] are reversed")
        #expect(loadError(rawFile(header: rnn(#"{"x":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#), data: floats([1, 2])))
            == "gap in the data section before tensor x (bytes 0..<4 unused)")
        #expect(loadError(rawFile(header: rnn(#"{"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}"#), data: floats([1, 2])))
            == "data section has 4 bytes after the last tensor")
    }

    @Test func overlappingOffsets() {
        let header = #"{"y":{"dtype":"F32","shape":[2],"data_offsets":[4,12]},"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        #expect(loadError(rawFile(header: rnn(header), data: floats([1, 2, 3]))) == "tensors x and y overlap")
    }

    @Test func genericSafeTensors() throws {
        // Out-of-order offsets and no metadata are fine for plain safetensors; tensors come back by offset.
        let header = #"{"b":{"dtype":"F32","shape":[1,2],"data_offsets":[4,12]},"a":{"dtype":"F32","shape":[],"data_offsets":[0,4]},"z":{"dtype":"F32","shape":[0,3],"data_offsets":[12,12]}}"#
        let raw = try Gzip.decompress(rawFile(header: header, data: floats([1, 2, 3])), maxOutput: 1000)
        let file = try SafeTensorsFile.decode(raw)
        #expect(file.metadata == [:])
        #expect(file.tensors == [
            Tensor(name: "a", shape: [], data: [1]), Tensor(name: "b", shape: [1, 2], data: [2, 3]),
            Tensor(name: "z", shape: [0, 3], data: []),
        ])
        #expect(try SafeTensorsFile.decode(file.encoded()) == file)
        #expect(loadError(Gzip.compress(raw)) == "not an rnn model (no rnnstream metadata)")
        // The identity check comes before the tensor entries: a foreign file says so, whatever it holds.
        let bf16 = #"{"__metadata__":{"format":"pt"},"w":{"dtype":"BF16","shape":[2],"data_offsets":[0,4]}}"#
        #expect(loadError(rawFile(header: bf16, data: [0, 0, 0, 0])) == "not an rnn model (format is pt, expected rnnstream)")
        let future = #"{"__metadata__":{"format":"rnnstream","format_version":"2"},"w":{"dtype":"F64","shape":[1],"data_offsets":[0,8]}}"#
        #expect(loadError(rawFile(header: future, data: [0, 0, 0, 0, 0, 0, 0, 0])) == "unsupported format version 2")
        let other = SafeTensorsFile(metadata: ["format": "pt"], tensors: file.tensors)
        #expect(loadError(Gzip.compress(other.encoded())) == "not an rnn model (format is pt, expected rnnstream)")
    }

    @Test func nonFiniteValue() {
        for bad in [Float.nan, .infinity, -.infinity] {
            var model = makeModel(.lstm)
            model.parameters[1].data[17] = bad
            #expect(loadError(model.weightsFileBytes()) == "tensor layers.0.wh: non-finite value at element 17")
        }
    }

    @Test func missingTensor() {
        let file = edited(makeModel(.rnn)) { $0.tensors.removeAll { $0.name == "layers.1.b" } }
        #expect(loadError(file) == "missing tensor layers.1.b")
    }

    @Test func extraTensor() {
        let file = edited(makeModel(.gru)) { $0.tensors.append(Tensor(name: "foo", shape: [1], data: [0])) }
        #expect(loadError(file) == "unexpected tensor foo")
        let weird = edited(makeModel(.gru)) { $0.tensors.append(Tensor(name: "a b", shape: [1], data: [0])) }
        #expect(loadError(weird) == #"unexpected tensor "a b""#)
    }

    @Test func metadataFailures() {
        let model = makeModel(.lstm)
        func withMeta(_ key: String, _ value: String?) -> String? {
            loadError(edited(model) { $0.metadata[key] = value })
        }
        #expect(withMeta("format_version", "2") == "unsupported format version 2")
        #expect(withMeta("format_version", "1.0") == "unsupported format version 1.0")
        #expect(withMeta("format_version", nil) == "missing metadata format_version")
        #expect(withMeta("format", nil) == "not an rnn model (no rnnstream metadata)")
        #expect(withMeta("cell", "transformer") == "unknown cell transformer (expected rnn, lstm or gru)")
        #expect(withMeta("gate_order", "i,f,o,g") == "gate_order i,f,o,g does not match cell lstm (expected i,f,g,o)")
        #expect(withMeta("layers", "two") == "layers two is not an integer")
        #expect(withMeta("layers", "-1") == "layers -1 is not an integer")
        #expect(withMeta("layers", "0") == "layers 0 is out of range (1...16)")
        #expect(withMeta("layers", "17") == "layers 17 is out of range (1...16)")
        #expect(withMeta("vocab_size", "99999999999999999999999") == "vocab_size 99999999999999999999999 is out of range (1...1048576)")
        #expect(withMeta("vocab_size", nil) == "missing metadata vocab_size")
        #expect(withMeta("vocabulary", nil) == "missing metadata vocabulary")
        #expect(withMeta("vocabulary", "abc") == "vocabulary is not a JSON string literal: unexpected character 'a' at byte 0")
        #expect(withMeta("vocabulary", "[\"a\"]") == "vocabulary is not a JSON string literal")
    }

    @Test func vocabularyUnsortedOrDuplicate() {
        let model = makeModel(.rnn)
        func withVocab(_ text: String) -> String? {
            loadError(edited(model) { $0.metadata["vocabulary"] = jsonString(text) })
        }
        #expect(withVocab("\n !abc😀é") == "vocabulary is not sorted by code point (U+00E9 after U+1F600)")
        #expect(withVocab("\n !aabcé") == "vocabulary has a duplicate character U+0061")
        #expect(withVocab("\n !abcdé😀") == "vocabulary has more than vocab_size 8 characters")
        #expect(withVocab("\n !abcé") == "vocabulary has 7 characters but vocab_size is 8")
    }

    @Test func vocabSizeMismatch() {
        let model = makeModel(.rnn)
        #expect(loadError(edited(model) { $0.metadata["vocab_size"] = "9" }) == "vocabulary has 8 characters but vocab_size is 9")
        // Vocabulary consistent with vocab_size but not with the tensors.
        let file = edited(model) {
            $0.metadata["vocab_size"] = "9"
            $0.metadata["vocabulary"] = jsonString("\n !abcdé😀")
        }
        #expect(loadError(file) == "tensor layers.0.wx: shape [8, 5] does not match the model (expected [9, 5])")
    }

    @Test func hugeSizeClaims() {
        let model = makeModel(.lstm)
        #expect(loadError(edited(model) { $0.metadata["hidden_size"] = "1000000000" })
            == "hidden_size 1000000000 is out of range (1...8192)")
        // The largest claim the limits allow is still checked against the tiny tensors before allocating.
        let file = edited(model) {
            $0.metadata["hidden_size"] = "8192"
            $0.metadata["layers"] = "16"
        }
        #expect(loadError(file) == "tensor layers.0.wx: shape [8, 20] does not match the model (expected [8, 32768])")
    }

    @Test func fuzzedFilesNeverCrash() {
        // Mutations of a valid (decompressed) file: every outcome is a model or a WeightsFileError.
        let valid = makeModel(.gru, hidden: 2, layers: 1).safeTensorsFile().encoded()
        var n = 0
        for i in 0..<8 { n |= Int(valid[i]) << (8 * i) }
        var g = SplitMix(seed: 9)
        let interesting = Array("{}[]\":,-0123456789eE.\\u ".utf8) + [0, 0xff, 0x80]
        var loaded = 0
        for _ in 0..<3000 {
            var bytes = valid
            for _ in 0..<(1 + Int(g.next() % 3)) {
                // Mostly hit the header, where the structure is.
                let limit = g.next() % 4 == 0 ? bytes.count : min(bytes.count, 8 + n)
                let at = Int(g.next() % UInt64(limit))
                switch g.next() % 4 {
                case 0: bytes[at] = interesting[Int(g.next() % UInt64(interesting.count))]
                case 1: bytes[at] ^= UInt8(truncatingIfNeeded: 1 << (g.next() % 8))
                case 2: bytes.remove(at: at)
                default: bytes.insert(interesting[Int(g.next() % UInt64(interesting.count))], at: at)
                }
            }
            do {
                _ = try Model.load(safeTensors: bytes)
                loaded += 1
            } catch {
                #expect(!error.description.isEmpty && !error.description.contains("\n"))
            }
        }
        #expect(loaded < 3000)
    }
}
