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

/// A small problem: every cell and depth, a carried (non-zero) initial state, T steps through time.
private struct Problem {
    let config: ModelConfig
    let batch = 2, steps = 4
    var weights: [[Double]] = []
    var inputs: [Int] = [], targets: [Int] = []
    var h0: [[Double]] = [], c0: [[Double]] = []

    init(cell: CellKind, layers: Int, layerNorm: Bool = false, seed: UInt64) {
        config = ModelConfig(cell: cell, vocabSize: 5, hiddenSize: 4, layers: layers, layerNorm: layerNorm)
        var rng = Random(seed: seed)
        for (_, shape) in config.tensorShapes {
            weights.append((0..<shape.reduce(1, *)).map { _ in (rng.nextDouble() * 2 - 1) * 0.8 })
        }
        for _ in 0..<(batch * steps) {
            inputs.append(Int(rng.next() % 5))
            targets.append(Int(rng.next() % 5))
        }
        targets[3] = -1  // one unscored row
        let H = config.hiddenSize
        h0 = (0..<layers).map { _ in (0..<(batch * H)).map { _ in rng.nextDouble() - 0.5 } }
        c0 = cell == .lstm ? (0..<layers).map { _ in (0..<(batch * H)).map { _ in rng.nextDouble() - 0.5 } } : []
    }

    func loss(_ w: [[Double]]) -> Double {
        ReferenceNetwork.lossAndGradients(config: config, parameters: w, inputs: inputs, targets: targets,
                                          batch: batch, h0: h0, c0: c0).loss
    }
}

/// Every cell at depths 1 and 2, without and with layer normalisation (`--layer-norm`).
private let cases: [(CellKind, Int, Bool)] = [CellKind.rnn, .lstm, .gru].flatMap { cell in
    [(cell, 1, false), (cell, 2, false), (cell, 1, true), (cell, 2, true)]
}

@Test("reference gradients match central differences in Double, every tensor, through time", arguments: cases)
func referenceGradientCheck(cell: CellKind, layers: Int, layerNorm: Bool) {
    let problem = Problem(cell: cell, layers: layers, layerNorm: layerNorm, seed: 7)
    let analytic = ReferenceNetwork.lossAndGradients(
        config: problem.config, parameters: problem.weights, inputs: problem.inputs, targets: problem.targets,
        batch: problem.batch, h0: problem.h0, c0: problem.c0).grads
    let eps = 1e-5
    for (ti, (name, _)) in problem.config.tensorShapes.enumerated() {
        var worst = 0.0
        for i in 0..<problem.weights[ti].count {
            var plus = problem.weights, minus = problem.weights
            plus[ti][i] += eps
            minus[ti][i] -= eps
            let numeric = (problem.loss(plus) - problem.loss(minus)) / (2 * eps)
            let err = abs(numeric - analytic[ti][i]) / max(1e-4, abs(numeric) + abs(analytic[ti][i]))
            worst = max(worst, err)
        }
        #expect(worst < 1e-5, "\(cell) L\(layers)\(layerNorm ? " LN" : "") \(name): worst relative error \(worst)")
        #expect(analytic[ti].contains { $0 != 0 }, "\(cell) L\(layers)\(layerNorm ? " LN" : "") \(name): gradient is all zero")
    }
}

@Test("the fast Float network computes the reference loss and gradients", arguments: cases)
func networkMatchesReference(cell: CellKind, layers: Int, layerNorm: Bool) {
    let problem = Problem(cell: cell, layers: layers, layerNorm: layerNorm, seed: 11)
    let config = problem.config
    let reference = ReferenceNetwork.lossAndGradients(
        config: config, parameters: problem.weights, inputs: problem.inputs, targets: problem.targets,
        batch: problem.batch, h0: problem.h0, c0: problem.c0)

    let params = Parameters(config: config), grads = Parameters(config: config)
    for (ti, w) in problem.weights.enumerated() {
        for (i, v) in w.enumerated() { params.tensor(ti)[i] = Float(v) }
    }
    let state = RecurrentState(config: config, batch: problem.batch)
    for k in 0..<layers {
        for i in 0..<(problem.batch * config.hiddenSize) {
            state.h[k][i] = Float(problem.h0[k][i])
            if cell == .lstm { state.c[k][i] = Float(problem.c0[k][i]) }
        }
    }
    let network = Network(config: config, batch: problem.batch, steps: problem.steps)
    let inputs = problem.inputs.map(Int32.init), targets = problem.targets.map(Int32.init)
    let scored = targets.filter { $0 >= 0 }.count
    var rng = Random(seed: 1)
    let lossSum = network.run(parameters: params, inputs: inputs, targets: targets, state: state, grads: grads,
                              scoredRows: scored, rng: &rng)
    #expect(abs(lossSum / Double(scored) - reference.loss) < 1e-5)
    for (ti, (name, _)) in config.tensorShapes.enumerated() {
        let ref = reference.grads[ti]
        let scale = ref.map(abs).max()! + 1e-6
        var worst: Double = 0
        for i in 0..<ref.count { worst = max(worst, abs(Double(grads.tensor(ti)[i]) - ref[i]) / scale) }
        #expect(worst < 1e-4, "\(cell) L\(layers)\(layerNorm ? " LN" : "") \(name): worst error \(worst) of max \(scale)")
    }
}

@Test("vectorised exp, sigmoid and tanh match their scalar twins")
func activationsMatchReference() {
    var x: Float = -90
    while x < 90 {
        let v = Float8(repeating: x)
        let e = exp8(v)[3], s = sigmoid8(v)[5], t = tanh8(v)[7]
        let re = Foundation.exp(x)
        if abs(x) <= 87 { #expect(abs(e - re) <= 1e-6 * re, "exp(\(x)) = \(e), expected \(re)") }
        #expect(abs(s - sigmoidReference(x)) <= 1e-6, "sigmoid(\(x))")
        #expect(abs(t - tanhReference(x)) <= 2e-6, "tanh(\(x))")
        x += 0.173
    }
}
