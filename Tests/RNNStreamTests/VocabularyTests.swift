import Testing
@testable import RNNStream
@Test func vocabularySorted() { #expect(Vocabulary(text: "cab".unicodeScalars).string == "abc") }
