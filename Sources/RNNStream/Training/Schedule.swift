import Foundation
import RNNModel
import RNNKernels

/// The learning rate over a run: a linear warm-up over the first `warmupSteps` updates, then (with `cosine`)
/// a half-cosine from the base rate down to `floor`·base as progress goes from 0 to 1. Progress is the larger of
/// the fractions of the epoch and time budgets used.
public struct Schedule: Sendable, Equatable {
    public enum Decay: String, Sendable, CaseIterable { case cosine, none }

    public var base: Double
    public var warmupSteps: Int
    public var decay: Decay
    public var floor: Double = 0.1

    public init(base: Double, warmupSteps: Int, decay: Decay) {
        self.base = base
        self.warmupSteps = warmupSteps
        self.decay = decay
    }

    public func rate(step: Int, progress: Double) -> Double {
        var lr = base
        if warmupSteps > 0 && step < warmupSteps { lr *= Double(step + 1) / Double(warmupSteps) }
        if decay == .cosine {
            let p = min(max(progress, 0), 1)
            lr *= floor + (1 - floor) * 0.5 * (1 + cos(Double.pi * p))
        }
        return lr
    }
}
