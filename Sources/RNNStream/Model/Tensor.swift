import RNNKernels
import RNNText

/// A named parameter tensor: a flat row-major `[Float]` with a shape.
///
/// Every learnable matrix and bias of a model is one `Tensor`; optimizers, the weights file and the
/// gradient check treat a model as an ordered list of them.
public struct Tensor: Sendable, Equatable {
    public var name: String
    public var shape: [Int]
    public var data: [Float]

    public init(name: String, shape: [Int], data: [Float]) {
        precondition(data.count == shape.reduce(1, *), "tensor \(name): data does not match shape")
        self.name = name
        self.shape = shape
        self.data = data
    }

    public init(name: String, shape: [Int], repeating value: Float = 0) {
        self.init(name: name, shape: shape, data: [Float](repeating: value, count: shape.reduce(1, *)))
    }

    public var count: Int { data.count }
}
