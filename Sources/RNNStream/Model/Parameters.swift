import RNNKernels
import RNNText

/// All of a model's tensors in one flat, aligned buffer, in `ModelConfig.tensorShapes` order.
///
/// Training keeps the values, the gradients and each optimizer moment in buffers of this one layout, so the
/// optimizer, the clipping norm and checkpoints are single loops over `count` floats.
public final class Parameters: @unchecked Sendable {
    public let config: ModelConfig
    public let buffer: FloatBuffer
    /// Start of tensor i inside `buffer`; `offsets[tensorCount]` is the total count.
    public let offsets: [Int]

    public init(config: ModelConfig) {
        self.config = config
        var offsets = [0]
        for (_, shape) in config.tensorShapes { offsets.append(offsets.last! + shape.reduce(1, *)) }
        self.offsets = offsets
        buffer = FloatBuffer(count: offsets.last!)
    }

    public convenience init(model: Model) {
        self.init(config: model.config)
        for (i, t) in model.parameters.enumerated() {
            t.data.withUnsafeBufferPointer { (buffer.pointer + offsets[i]).update(from: $0.baseAddress!, count: t.count) }
        }
    }

    public var count: Int { buffer.count }
    public var pointer: UnsafeMutablePointer<Float> { buffer.pointer }

    /// The tensors as values (for the weights file).
    public func tensors() -> [Tensor] {
        config.tensorShapes.enumerated().map { i, entry in
            Tensor(name: entry.name, shape: entry.shape,
                   data: Array(UnsafeBufferPointer(start: buffer.pointer + offsets[i], count: offsets[i + 1] - offsets[i])))
        }
    }

    public func copy(from other: Parameters) { buffer.copy(from: other.buffer) }

    // Tensor indices, matching `ModelConfig.tensorShapes`.
    @inline(__always) public func wx(_ layer: Int) -> UnsafeMutablePointer<Float> { tensor(layer * config.tensorsPerLayer) }
    @inline(__always) public func wh(_ layer: Int) -> UnsafeMutablePointer<Float> { tensor(layer * config.tensorsPerLayer + 1) }
    @inline(__always) public func b(_ layer: Int) -> UnsafeMutablePointer<Float> { tensor(layer * config.tensorsPerLayer + 2) }
    /// GRU only.
    @inline(__always) public func bhn(_ layer: Int) -> UnsafeMutablePointer<Float> { tensor(layer * config.tensorsPerLayer + 3) }
    /// Layer normalisation only: the gains of the input and of the recurrent part.
    @inline(__always) public func gx(_ layer: Int) -> UnsafeMutablePointer<Float> {
        tensor(layer * config.tensorsPerLayer + (config.cell == .gru ? 4 : 3))
    }
    @inline(__always) public func gh(_ layer: Int) -> UnsafeMutablePointer<Float> {
        tensor(layer * config.tensorsPerLayer + (config.cell == .gru ? 5 : 4))
    }
    @inline(__always) public var headW: UnsafeMutablePointer<Float> { tensor(config.layers * config.tensorsPerLayer) }
    @inline(__always) public var headB: UnsafeMutablePointer<Float> { tensor(config.layers * config.tensorsPerLayer + 1) }
    @inline(__always) public func tensor(_ i: Int) -> UnsafeMutablePointer<Float> { buffer.pointer + offsets[i] }
}

extension Model {
    /// A model with freshly initialised weights: every matrix and bias uniform in ±1/√H (PyTorch's RNN
    /// default), the LSTM forget-gate bias at 1 so early training keeps its memory, layer normalisation's
    /// gains at 1.
    public static func initialized(config: ModelConfig, vocabulary: Vocabulary, seed: UInt64) -> Model {
        var rng = Random(seed: seed)
        let scale = 1 / Float(config.hiddenSize).squareRoot()
        var tensors: [Tensor] = []
        for (name, shape) in config.tensorShapes {
            var t = Tensor(name: name, shape: shape)
            for i in 0..<t.count { t.data[i] = (rng.nextFloat() * 2 - 1) * scale }
            if name.hasSuffix(".gx") || name.hasSuffix(".gh") {
                for i in 0..<t.count { t.data[i] = 1 }
            }
            if config.cell == .lstm && name.hasPrefix("layers.") && name.hasSuffix(".b") {
                // gate order i, f, g, o: the second H-block is the forget gate
                let H = config.hiddenSize
                for j in H..<(2 * H) { t.data[j] = 1 }
            }
            tensors.append(t)
        }
        return Model(config: config, vocabulary: vocabulary, parameters: tensors)
    }
}
