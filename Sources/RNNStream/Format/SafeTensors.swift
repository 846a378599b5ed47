import RNNModel
import RNNKernels
import RNNText

/// A safetensors file holding float32 tensors (https://github.com/huggingface/safetensors):
///
///     [8-byte little-endian u64 N][N bytes of JSON header][data section: raw little-endian values]
///
/// The header maps each tensor name to `{"dtype", "shape", "data_offsets": [begin, end]}` (offsets relative
/// to the data section) plus an optional `"__metadata__"` object of string → string.
///
/// `encoded()` is byte-deterministic: metadata keys sorted by their UTF-8 bytes, tensors in array order
/// and contiguous, header padded with spaces to a multiple of 8 bytes.
public struct SafeTensorsFile: Sendable, Equatable {
    public var metadata: [String: String]
    public var tensors: [Tensor]

    public init(metadata: [String: String] = [:], tensors: [Tensor]) {
        self.metadata = metadata
        self.tensors = tensors
    }

    /// The largest header accepted when decoding.
    public static let maxHeaderBytes = 16 << 20

    /// The safetensors bytes of this file.
    public func encoded() -> [UInt8] {
        var header = "{"
        var first = true
        if !metadata.isEmpty {
            header += "\"__metadata__\":{"
            let keys = metadata.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }
            for (i, key) in keys.enumerated() {
                if i > 0 { header += "," }
                header += jsonString(key) + ":" + jsonString(metadata[key] ?? "")
            }
            header += "}"
            first = false
        }
        var names = Set<String>()
        var offset = 0
        for t in tensors {
            precondition(t.name != "__metadata__", "a tensor cannot be named __metadata__")
            precondition(names.insert(t.name).inserted, "duplicate tensor name \(t.name)")
            precondition(t.shape.allSatisfy { $0 >= 0 } && t.data.count == t.shape.reduce(1, *),
                         "tensor \(t.name): data does not match shape")
            let end = offset + 4 * t.data.count
            if !first { header += "," }
            first = false
            header += jsonString(t.name) + ":{\"dtype\":\"F32\",\"shape\":["
            header += t.shape.map(String.init).joined(separator: ",")
            header += "],\"data_offsets\":[\(offset),\(end)]}"
            offset = end
        }
        header += "}"
        var headerBytes = Array(header.utf8)
        while headerBytes.count % 8 != 0 { headerBytes.append(0x20) }

        var out: [UInt8] = []
        out.reserveCapacity(8 + headerBytes.count + offset)
        let n = UInt64(headerBytes.count)
        for i in 0..<8 { out.append(UInt8(truncatingIfNeeded: n >> UInt64(8 * i))) }
        out.append(contentsOf: headerBytes)
        for t in tensors {
            #if _endian(little)
            t.data.withUnsafeBytes { out.append(contentsOf: $0) }
            #else
            for v in t.data {
                let b = v.bitPattern
                for i in 0..<4 { out.append(UInt8(truncatingIfNeeded: b >> UInt32(8 * i))) }
            }
            #endif
        }
        return out
    }

    /// Decodes and fully validates a safetensors file (see `SafeTensorsHeader.decode`), then reads every
    /// tensor, rejecting non-finite values. Tensors come out in data-offset order.
    public static func decode(_ bytes: [UInt8]) throws(WeightsFileError) -> SafeTensorsFile {
        let header = try SafeTensorsHeader.decode(bytes)
        return SafeTensorsFile(metadata: header.metadata, tensors: try header.tensors(in: bytes))
    }
}

/// The validated header of a safetensors file: everything but the values, so callers can check names
/// and shapes before any tensor storage is allocated.
public struct SafeTensorsHeader: Sendable {
    public struct Entry: Sendable, Equatable {
        public var name: String
        public var shape: [Int]
        /// Number of elements (product of `shape`).
        public var count: Int
        /// Byte range relative to the start of the data section.
        public var begin: Int
        public var end: Int
    }

    public var metadata: [String: String]
    /// Sorted by data offset; contiguous, covering the data section exactly.
    public var entries: [Entry]
    /// Offset of the data section in the file.
    public var dataStart: Int
    /// Size of the data section in bytes.
    public var dataSize: Int

    /// The largest accepted dimension.
    public static let maxDimension = 1 << 31

    /// Parses and validates the header of `bytes`: 8-byte length within the file and at most
    /// `SafeTensorsFile.maxHeaderBytes`, a JSON object, `__metadata__` (optional) an object of strings,
    /// every tensor entry `{"dtype": "F32", "shape": [n ≥ 0 …], "data_offsets": [begin, end]}` with exactly
    /// `4 · count` bytes inside the data section, the tensors contiguous without overlap or gap.
    ///
    /// `checkMetadata` runs on the metadata before the tensor entries are looked at, so a caller can
    /// reject a file that is not its kind with the most telling message.
    public static func decode(
        _ bytes: [UInt8],
        checkMetadata: ([String: String]) throws(WeightsFileError) -> Void = { _ in }
    ) throws(WeightsFileError) -> SafeTensorsHeader {
        guard bytes.count >= 8 else {
            throw WeightsFileError("file too short for a safetensors header (\(bytes.count) bytes)")
        }
        var n: UInt64 = 0
        for i in 0..<8 { n |= UInt64(bytes[i]) << UInt64(8 * i) }
        if n > UInt64(bytes.count - 8) {
            throw WeightsFileError("header length \(n) exceeds the file (\(bytes.count) bytes)")
        }
        if n > UInt64(SafeTensorsFile.maxHeaderBytes) {
            throw WeightsFileError("header length \(n) exceeds the \(SafeTensorsFile.maxHeaderBytes >> 20) MiB limit")
        }
        let headerEnd = 8 + Int(n)
        let json: JSONValue
        do {
            json = try JSON.parse(bytes[8..<headerEnd], maxBytes: SafeTensorsFile.maxHeaderBytes)
        } catch {
            throw WeightsFileError("header is not valid JSON: \(error)")
        }
        guard let members = json.objectValue else { throw WeightsFileError("header is not a JSON object") }
        let dataSize = bytes.count - headerEnd

        var metadata: [String: String] = [:]
        if let metaValue = json["__metadata__"] {
            guard let meta = metaValue.objectValue else { throw WeightsFileError("__metadata__ is not an object") }
            for (k, v) in meta {
                guard let s = v.stringValue else {
                    throw WeightsFileError("__metadata__ value for \(briefJSON(k)) is not a string")
                }
                metadata[k] = s
            }
        }
        try checkMetadata(metadata)

        var entries: [Entry] = []
        for (name, value) in members where name != "__metadata__" {
            entries.append(try entry(name: name, value: value, dataSize: dataSize))
        }

        // Tensors must tile the data section: sorted by offset, each starting where the previous ended.
        entries.sort {
            if $0.begin != $1.begin { return $0.begin < $1.begin }
            if $0.end != $1.end { return $0.end < $1.end }
            return $0.name.utf8.lexicographicallyPrecedes($1.name.utf8)
        }
        var position = 0
        var previous: String?
        for e in entries {
            if e.begin < position {
                throw WeightsFileError("tensors \(displayed(previous ?? "?")) and \(displayed(e.name)) overlap")
            }
            if e.begin > position {
                throw WeightsFileError("gap in the data section before tensor \(displayed(e.name)) (bytes \(position)..<\(e.begin) unused)")
            }
            position = e.end
            previous = e.name
        }
        if position != dataSize {
            throw WeightsFileError("data section has \(dataSize - position) bytes after the last tensor")
        }
        return SafeTensorsHeader(metadata: metadata, entries: entries, dataStart: headerEnd, dataSize: dataSize)
    }

    private static func entry(name: String, value: JSONValue, dataSize: Int) throws(WeightsFileError) -> Entry {
        let t = "tensor \(displayed(name))"
        guard let fields = value.objectValue else { throw WeightsFileError("\(t): entry is not an object") }
        for (key, _) in fields where !["dtype", "shape", "data_offsets"].contains(key) {
            throw WeightsFileError("\(t): unexpected field \(briefJSON(key))")
        }
        guard let dtypeValue = value["dtype"] else { throw WeightsFileError("\(t): missing dtype") }
        guard let dtype = dtypeValue.stringValue else { throw WeightsFileError("\(t): dtype is not a string") }
        guard dtype == "F32" else {
            throw WeightsFileError("\(t): dtype \(jsonString(dtype)) is not supported (only F32)")
        }

        guard let shapeValue = value["shape"] else { throw WeightsFileError("\(t): missing shape") }
        guard let dims = shapeValue.arrayValue else { throw WeightsFileError("\(t): shape is not an array") }
        var shape: [Int] = []
        var count = 1
        for d in dims {
            guard let n = d.intValue, n >= 0 else {
                throw WeightsFileError("\(t): shape \(briefJSON(d)) is not a non-negative integer")
            }
            guard n <= maxDimension else { throw WeightsFileError("\(t): dimension \(n) exceeds 2^31") }
            let (product, overflow) = count.multipliedReportingOverflow(by: n)
            guard !overflow else { throw WeightsFileError("\(t): element count overflows") }
            shape.append(n)
            count = product
        }
        let (byteCount, overflow) = count.multipliedReportingOverflow(by: 4)
        guard !overflow else { throw WeightsFileError("\(t): element count overflows") }

        guard let offsetsValue = value["data_offsets"] else { throw WeightsFileError("\(t): missing data_offsets") }
        guard let pair = offsetsValue.arrayValue, pair.count == 2,
              let begin = pair[0].intValue, let end = pair[1].intValue, begin >= 0, end >= 0 else {
            throw WeightsFileError("\(t): data_offsets \(briefJSON(offsetsValue)) is not a pair of non-negative integers")
        }
        guard begin <= end else { throw WeightsFileError("\(t): data_offsets [\(begin), \(end)] are reversed") }
        guard end <= dataSize else {
            throw WeightsFileError("\(t): data_offsets [\(begin), \(end)] are outside the data section (\(dataSize) bytes)")
        }
        guard end - begin == byteCount else {
            throw WeightsFileError(
                "\(t): data_offsets [\(begin), \(end)] hold \(end - begin) bytes but shape \(shapeText(shape)) needs \(byteCount)")
        }
        return Entry(name: name, shape: shape, count: count, begin: begin, end: end)
    }

    /// Reads one tensor's values from the file `bytes` this header was decoded from; every value must be
    /// finite.
    public func tensor(_ e: Entry, in bytes: [UInt8]) throws(WeightsFileError) -> Tensor {
        precondition(dataStart + dataSize == bytes.count && e.end <= dataSize && e.end - e.begin == 4 * e.count)
        let data = [Float](unsafeUninitializedCapacity: e.count) { buffer, initialized in
            if let base = buffer.baseAddress { adviseHugePages(base, byteCount: 4 * e.count) }
            bytes.withUnsafeBytes { raw in
                let src = UnsafeRawBufferPointer(rebasing: raw[(dataStart + e.begin)..<(dataStart + e.end)])
                UnsafeMutableRawBufferPointer(buffer).copyMemory(from: src)
            }
            #if !_endian(little)
            for i in 0..<e.count { buffer[i] = Float(bitPattern: UInt32(littleEndian: buffer[i].bitPattern)) }
            #endif
            initialized = e.count
        }
        if let bad = data.firstIndex(where: { !$0.isFinite }) {
            throw WeightsFileError("tensor \(displayed(e.name)): non-finite value at element \(bad)")
        }
        return Tensor(name: e.name, shape: e.shape, data: data)
    }

    /// Every tensor, in data-offset order.
    public func tensors(in bytes: [UInt8]) throws(WeightsFileError) -> [Tensor] {
        var out: [Tensor] = []
        out.reserveCapacity(entries.count)
        for e in entries { out.append(try tensor(e, in: bytes)) }
        return out
    }
}

/// `[64, 65]`
func shapeText(_ shape: [Int]) -> String {
    "[" + shape.map(String.init).joined(separator: ", ") + "]"
}
