import Testing
@testable import RNNKernels
@testable import RNNText
@testable import RNNModel
@testable import RNNFormat
@testable import RNNInference
@testable import RNNTraining
@testable import RNNShell
@testable import RNNTools
@Test func vocabularySorted() { #expect(Vocabulary(text: "cab".unicodeScalars).string == "abc") }
