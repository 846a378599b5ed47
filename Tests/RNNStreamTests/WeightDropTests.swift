import Foundation
import Testing
import RNNKernels
import RNNModel
import RNNTraining

/// `--weight-drop`: the step runs with Wh ⊙ m, and the gradient it gives the weights is that of loss(Wh ⊙ m).
struct WeightDropTests {
    static func weights(_ config: ModelConfig, seed: UInt64) -> [[Double]] {
        var rng = Random(seed: seed)
        return config.tensorShapes.map { (_, shape) in (0..<shape.reduce(1, *)).map { _ in (rng.nextDouble() * 2 - 1) * 0.8 } }
    }

    /// The fast network on the dropped weights, its Wh gradients masked, against central differences of the Double
    /// reference's loss at W ⊙ m, for every tensor (the ones not dropped must be the plain gradient at W ⊙ m).
    @Test(arguments: [CellKind.rnn, .lstm, .gru])
    func gradientsAreThoseOfTheMaskedLoss(cell: CellKind) throws {
        let config = ModelConfig(cell: cell, vocabSize: 5, hiddenSize: 4, layers: 2)
        let batch = 2, steps = 4
        let w = Self.weights(config, seed: 3)
        var rng = Random(seed: 9)
        let inputs = (0..<batch * steps).map { _ in Int(rng.next() % 5) }
        let targets = (0..<batch * steps).map { _ in Int(rng.next() % 5) }
        let h0 = (0..<2).map { _ in [Double](repeating: 0, count: batch * 4) }
        let c0 = cell == .lstm ? h0 : []

        let params = Parameters(config: config), grads = Parameters(config: config)
        for (ti, t) in w.enumerated() { for (i, v) in t.enumerated() { params.tensor(ti)[i] = Float(v) } }
        let drop = WeightDrop(config: config, rate: 0.4)
        drop.draw(from: params, rng: &rng)
        let whIndices = (0..<2).map { $0 * config.tensorsPerLayer + 1 }
        // what the masked loss sees: W with each Wh multiplied by its mask
        func masked(_ w: [[Double]]) -> [[Double]] {
            var out = w
            for (k, ti) in whIndices.enumerated() {
                let m = drop.mask(layer: k)
                for i in 0..<out[ti].count { out[ti][i] *= Double(m[i]) }
            }
            return out
        }
        func loss(_ w: [[Double]]) -> Double {
            ReferenceNetwork.lossAndGradients(config: config, parameters: masked(w), inputs: inputs, targets: targets,
                                              batch: batch, h0: h0, c0: c0).loss
        }
        let network = Network(config: config, batch: batch, steps: steps)
        let state = RecurrentState(config: config, batch: batch)
        var unused = Random(seed: 1)
        let sum = network.run(parameters: drop.dropped, inputs: inputs.map(Int32.init), targets: targets.map(Int32.init),
                              state: state, grads: grads, scoredRows: batch * steps, rng: &unused)
        drop.maskGradients(grads)
        #expect(abs(sum / Double(batch * steps) - loss(w)) < 1e-5)
        let eps = 1e-5
        for (ti, (name, _)) in config.tensorShapes.enumerated() {
            var worst = 0.0, scale = 1e-6
            var numeric = [Double](repeating: 0, count: w[ti].count)
            for i in 0..<w[ti].count {
                var plus = w, minus = w
                plus[ti][i] += eps
                minus[ti][i] -= eps
                numeric[i] = (loss(plus) - loss(minus)) / (2 * eps)
                scale = max(scale, abs(numeric[i]))
            }
            for i in 0..<w[ti].count { worst = max(worst, abs(Double(grads.tensor(ti)[i]) - numeric[i]) / scale) }
            #expect(worst < 1e-3, "\(cell) \(name): worst error \(worst) of max \(scale)")
        }
        // some entries of each Wh were dropped, and their gradient is exactly 0
        for (k, ti) in whIndices.enumerated() {
            let m = drop.mask(layer: k)
            #expect(m.contains(0) && m.contains { $0 != 0 })
            for i in 0..<m.count where m[i] == 0 { #expect(grads.tensor(ti)[i] == 0 && drop.dropped.tensor(ti)[i] == 0) }
        }
    }

    /// A mask keeps about 1-P of the entries, scaled by 1/(1-P); every other tensor is copied as it is, and
    /// `apply` repeats the last draw.
    @Test func theMaskKeepsOneMinusPScaled() {
        let config = ModelConfig(cell: .lstm, vocabSize: 7, hiddenSize: 64, layers: 2)
        let params = Parameters(config: config)
        for i in 0..<params.count { params.pointer[i] = 1 }
        let drop = WeightDrop(config: config, rate: 0.25)
        var rng = Random(seed: 2)
        drop.draw(from: params, rng: &rng)
        for k in 0..<2 {
            let m = drop.mask(layer: k)
            #expect(Set(m) == [0, Float(1) / 0.75])
            let kept = Double(m.filter { $0 != 0 }.count) / Double(m.count)
            #expect(abs(kept - 0.75) < 0.01, "kept \(kept)")
        }
        let first = drop.dropped.buffer.array
        for ti in 0..<config.tensorShapes.count where ti % config.tensorsPerLayer != 1 || ti >= 2 * config.tensorsPerLayer {
            let n = params.offsets[ti + 1] - params.offsets[ti]
            #expect((0..<n).allSatisfy { drop.dropped.tensor(ti)[$0] == 1 })
        }
        for i in 0..<params.count { params.pointer[i] = 1 }
        drop.apply(to: params)
        #expect(drop.dropped.buffer.array == first)
    }
}
