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

/// Issue 11: rnn-fit's in-memory text goes from UTF-8 bytes to vocabulary indices without an array of scalars.
struct TextIndicesTests {
    static let samples: [String] = [
        "",
        "a",
        "hello, world\n",
        "\u{0}nul and \u{7F} del",
        "é ü ß — “quotes” 日本語 😀 \u{10FFFF} \u{FFFF} \u{800} \u{7FF} \u{10000}",
        englishText(scalars: 3000),
    ]

    static func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

    @Test(arguments: samples)
    func theVocabularyIsTheTextsScalars(text: String) throws {
        let bytes = Self.bytes(text)
        let vocabulary = try bytes.withUnsafeBufferPointer { (b) throws(TextError) in try Vocabulary(utf8: b) }
        #expect(vocabulary == Vocabulary(text: text.unicodeScalars))
    }

    @Test(arguments: samples)
    func indicesAreTheScalarsLookedUp(text: String) throws {
        let vocabulary = Vocabulary(text: text.unicodeScalars)
        let indices = try Self.bytes(text).withUnsafeBufferPointer { (b) throws(IndexingError) in try vocabulary.indices(utf8: b) }
        #expect(indices == text.unicodeScalars.map { vocabulary.index(of: $0)! })
    }

    @Test func theFirstUnknownCharacterIsNamedWithItsScalarOffset() {
        let vocabulary = Vocabulary(text: "abc ".unicodeScalars)
        let bytes = Self.bytes("ab é cxyz")
        #expect(throws: IndexingError.unknownCharacter("é", scalarOffset: 3)) {
            try bytes.withUnsafeBufferPointer { (b) throws(IndexingError) in try vocabulary.indices(utf8: b) }
        }
        // a code point above every one the vocabulary knows
        #expect(throws: IndexingError.unknownCharacter("😀", scalarOffset: 1)) {
            try Self.bytes("a😀").withUnsafeBufferPointer { (b) throws(IndexingError) in try vocabulary.indices(utf8: b) }
        }
    }

    /// The same errors, at the same offsets, as the decoder that builds scalars.
    @Test(arguments: [[0x61, 0x80], [0x61, 0x62, 0xC3], [0xE0, 0x80, 0x80], [0xED, 0xA0, 0x80], [0x61, 0xF4, 0x90, 0x80, 0x80],
                      [0xC3, 0xA9, 0xFF]] as [[UInt8]])
    func invalidUTF8IsReportedAsTheDecoderDoes(bytes: [UInt8]) {
        var expected: TextError? = nil
        do { _ = try UTF8Reader.decode(bytes) } catch { expected = error }
        #expect(expected != nil)
        #expect(throws: expected!) {
            try bytes.withUnsafeBufferPointer { (b) throws(TextError) in try Vocabulary(utf8: b) }
        }
        let vocabulary = Vocabulary(text: "ab".unicodeScalars)
        #expect(throws: IndexingError.invalidUTF8(expected!)) {
            try bytes.withUnsafeBufferPointer { (b) throws(IndexingError) in try vocabulary.indices(utf8: b) }
        }
    }
}
