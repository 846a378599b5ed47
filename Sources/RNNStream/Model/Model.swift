import RNNKernels
import RNNText

/// A trained (or freshly initialised) character model: sizes, vocabulary, tensors and provenance.
public struct Model: Sendable {
    public var config: ModelConfig
    public var vocabulary: Vocabulary
    /// In the order of `config.tensorShapes`.
    public var parameters: [Tensor]
    /// How the model was made (tool version, seed, options, bits per character, text digest…), stored
    /// verbatim in the weights file's metadata.
    public var info: [String: String]

    public init(config: ModelConfig, vocabulary: Vocabulary, parameters: [Tensor], info: [String: String] = [:]) {
        precondition(vocabulary.count == config.vocabSize)
        precondition(parameters.count == config.tensorShapes.count)
        self.config = config
        self.vocabulary = vocabulary
        self.parameters = parameters
        self.info = info
    }
}
