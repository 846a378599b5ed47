/// The characters a model knows: Unicode scalars sorted by code point; a character's index is its position.
public struct Vocabulary: Sendable, Equatable {
    public let scalars: [Unicode.Scalar]
    private let index: [UInt32: Int32]

    public init(scalars: [Unicode.Scalar]) {
        let sorted = Array(Set(scalars)).sorted { $0.value < $1.value }
        self.scalars = sorted
        var index: [UInt32: Int32] = [:]
        for (i, s) in sorted.enumerated() { index[s.value] = Int32(i) }
        self.index = index
    }

    /// The vocabulary of a text: every distinct scalar in it.
    public init<S: Sequence>(text: S) where S.Element == Unicode.Scalar {
        var seen = Set<UInt32>()
        for s in text { seen.insert(s.value) }
        self.init(scalars: seen.compactMap(Unicode.Scalar.init))
    }

    public var count: Int { scalars.count }

    /// The index of a scalar, or nil when the model never saw it.
    @inline(__always)
    public func index(of s: Unicode.Scalar) -> Int32? { index[s.value] }

    /// The whole vocabulary as one string, in index order (how the weights file stores it).
    public var string: String {
        var out = String.UnicodeScalarView()
        out.append(contentsOf: scalars)
        return String(out)
    }

    public static func == (a: Vocabulary, b: Vocabulary) -> Bool { a.scalars == b.scalars }
}

/// Why a UTF-8 text could not be turned into vocabulary indices.
public enum IndexingError: Error, Equatable, Sendable {
    case invalidUTF8(TextError)
    /// The first character outside the vocabulary and its offset in scalars.
    case unknownCharacter(Unicode.Scalar, scalarOffset: Int)
}

extension Vocabulary {
    /// The vocabulary of a UTF-8 text: every distinct scalar in it, gathered in one decoding pass with a bit per
    /// code point (136 KiB) instead of an array of the text's scalars.
    public init(utf8 bytes: UnsafeBufferPointer<UInt8>) throws(TextError) {
        var seen = [UInt64](repeating: 0, count: (0x10FFFF >> 6) + 1)
        var decoder = UTF8Decoder()
        try seen.withUnsafeMutableBufferPointer { (bits) throws(TextError) in
            try decoder.decode(bytes) { s in bits[Int(s.value >> 6)] |= 1 << (s.value & 63) }
        }
        try decoder.finish()
        var scalars: [Unicode.Scalar] = []
        for (w, word) in seen.enumerated() where word != 0 {
            for bit in 0..<64 where word & (1 << bit) != 0 { scalars.append(Unicode.Scalar(UInt32(w << 6 | bit))!) }
        }
        self.init(scalars: scalars)
    }

    /// A UTF-8 text as vocabulary indices, decoded straight into the index array: one pass counts the scalars
    /// (and validates), a second writes each scalar's index through a table by code point. Peak memory is the
    /// bytes plus 4 bytes per character.
    public func indices(utf8 bytes: UnsafeBufferPointer<UInt8>) throws(IndexingError) -> [Int32] {
        var count = 0
        var decoder = UTF8Decoder()
        do {
            try decoder.decode(bytes) { _ in count += 1 }
            try decoder.finish()
        } catch {
            throw .invalidUTF8(error)
        }
        // table[code point] = index, -1 outside the vocabulary
        let top = Int(scalars.last?.value ?? 0) + 1
        var table = [Int32](repeating: -1, count: top)
        for (i, s) in scalars.enumerated() { table[Int(s.value)] = Int32(i) }
        var unknown: (Unicode.Scalar, Int)? = nil
        let out = [Int32](unsafeUninitializedCapacity: count) { out, initialized in
            var k = 0
            var second = UTF8Decoder()
            table.withUnsafeBufferPointer { table in
                // the text was validated above: this pass cannot fail
                try? second.decode(bytes) { s in
                    let v = Int(s.value)
                    let i = v < top ? table[v] : -1
                    if i < 0 && unknown == nil { unknown = (s, k) }
                    out[k] = i
                    k += 1
                }
            }
            initialized = k
        }
        if let (s, offset) = unknown { throw .unknownCharacter(s, scalarOffset: offset) }
        return out
    }
}
