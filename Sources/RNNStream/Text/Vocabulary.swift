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
