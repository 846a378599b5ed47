import Testing
import RNNKernels
import RNNText
import RNNModel
import RNNFormat
import RNNInference
import RNNTraining
import RNNShell
import RNNTools
@Test func vocabularySorted() { #expect(Vocabulary(text: "cab".unicodeScalars).string == "abc") }
