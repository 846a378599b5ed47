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

/// Issue 11: the learning-rate schedule's warm-up, cosine and ends.
struct ScheduleTests {
    @Test func warmUpIsLinearToTheBaseRate() {
        let s = Schedule(base: 0.01, warmupSteps: 10, decay: .none)
        for step in 0..<10 { #expect(abs(s.rate(step: step, progress: 0) - 0.01 * Double(step + 1) / 10) < 1e-15) }
        // the last warm-up step reaches the base rate, and it stays there
        #expect(s.rate(step: 9, progress: 0) == 0.01)
        for step in [10, 11, 1000] { #expect(s.rate(step: step, progress: 0.5) == 0.01) }
    }

    @Test func noWarmUpStartsAtTheBaseRate() {
        let s = Schedule(base: 0.002, warmupSteps: 0, decay: .none)
        #expect(s.rate(step: 0, progress: 0) == 0.002)
        #expect(s.rate(step: 0, progress: 1) == 0.002)
    }

    @Test func cosineGoesFromTheBaseToTheFinalFraction() {
        var s = Schedule(base: 0.01, warmupSteps: 0, decay: .cosine)
        #expect(s.floor == 0.1)
        #expect(s.rate(step: 0, progress: 0) == 0.01)
        #expect(abs(s.rate(step: 0, progress: 1) - 0.001) < 1e-15)
        // halfway: halfway between the two
        #expect(abs(s.rate(step: 0, progress: 0.5) - 0.0055) < 1e-15)
        // a quarter: floor + (1 - floor)·(1 + cos(π/4))/2
        #expect(abs(s.rate(step: 0, progress: 0.25) - 0.01 * (0.1 + 0.9 * 0.5 * (1 + 0.5.squareRoot()))) < 1e-15)
        // progress outside 0…1 is clamped to the ends
        #expect(s.rate(step: 0, progress: -1) == s.rate(step: 0, progress: 0))
        #expect(s.rate(step: 0, progress: 2) == s.rate(step: 0, progress: 1))
        // monotone in between
        var previous = Double.infinity
        for i in 0...100 {
            let r = s.rate(step: 0, progress: Double(i) / 100)
            #expect(r <= previous)
            previous = r
        }
        s.floor = 0
        #expect(s.rate(step: 0, progress: 1) == 0)
    }

    @Test func warmUpAndCosineMultiply() {
        let s = Schedule(base: 0.01, warmupSteps: 4, decay: .cosine)
        let cosine = Schedule(base: 0.01, warmupSteps: 0, decay: .cosine)
        for step in 0..<4 {
            for progress in [0, 0.3, 1] {
                #expect(abs(s.rate(step: step, progress: progress) - cosine.rate(step: step, progress: progress) * Double(step + 1) / 4) < 1e-15)
            }
        }
        #expect(s.rate(step: 4, progress: 0.3) == cosine.rate(step: 4, progress: 0.3))
    }
}
