import RNNInference
import RNNModel
import RNNKernels

/// Everything that shapes a training run; the defaults are rnn-fit's.
public struct TrainingOptions: Sendable, Equatable {
    public var cell: CellKind = .lstm
    public var hiddenSize = 256
    public var layers = 2
    /// Layer normalisation of the cells' pre-activations (`ModelConfig.layerNorm`).
    public var layerNorm = false
    public var batch = 50
    public var seq = 50
    public var optimizer: OptimizerKind = .adam
    /// nil: the optimizer's default.
    public var learningRate: Double? = nil
    public var warmupSteps = 100
    public var decay: Schedule.Decay = .cosine
    /// Clip the gradients' global L2 norm to this (0: no clipping).
    public var clip = 5.0
    public var dropout = 0.0
    /// DropConnect on the recurrent weights: the fraction of each Wh's entries every update drops (`WeightDrop`).
    public var weightDrop = 0.0
    /// Validate, keep and write an exponential moving average of the weights, updated after every step with
    /// this decay (0: off, the weights themselves).
    public var ema = 0.999
    /// Stop after this many passes over the training text.
    public var epochs: Double = 50
    /// Stop after this many seconds (nil: no time limit).
    public var timeLimit: Double? = nil
    /// Stop after this many updates (nil: no limit). For tests and exact reproductions.
    public var maxSteps: Int? = nil
    /// Stop after this many validations without a new best (0: never).
    public var patience = 5
    /// The last fraction of the text held out for validation.
    public var validationFraction = 0.1
    /// Validate every this many training characters (nil: ten times the validation text, at least 200,000).
    public var evalEvery: Int? = nil
    /// Reset each stream's state every this many steps (0: only at epoch ends).
    public var resetEvery = 64
    public var seed: UInt64 = 1
    /// The precision of the training products (`Precision`). fp32 here; rnn-fit without --precision asks for
    /// `Precision.trainingDefault` (bf16 where it is faster).
    public var precision: Precision = .fp32

    public init() {}

    public var resolvedLearningRate: Double { learningRate ?? optimizer.defaultLearningRate }
}
