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

/// Random weights of a scale that keeps the gates away from saturation; layer normalisation's gains in
/// 0.5...1.5.
func randomParameters(_ cell: CellKind, hidden: Int, layers: Int, vocab: Int, seed: UInt64,
                      layerNorm: Bool = false) -> Parameters {
    let config = ModelConfig(cell: cell, vocabSize: vocab, hiddenSize: hidden, layers: layers, layerNorm: layerNorm)
    let p = Parameters(config: config)
    var rng = Random(seed: seed)
    let scale = Float(1.5 / Double(hidden).squareRoot())
    for i in 0..<p.count { p.pointer[i] = Float(rng.nextDouble() * 2 - 1) * scale }
    if layerNorm {
        for k in 0..<layers {
            for g in [p.gx(k), p.gh(k)] {
                for i in 0..<(cell.gates * hidden) { g[i] = 1 + Float(rng.nextDouble() - 0.5) }
            }
        }
    }
    return p
}

/// The Double reference's mean loss over `inputs` predicting their successors, from the fresh state.
private func referenceLoss(_ p: Parameters, _ inputs: [Int]) -> Double {
    let config = p.config
    let weights = (0..<config.tensorShapes.count).map { i in
        (p.offsets[i]..<p.offsets[i + 1]).map { Double(p.pointer[$0]) }
    }
    let zeros = (0..<config.layers).map { _ in [Double](repeating: 0, count: config.hiddenSize) }
    return ReferenceNetwork.lossAndGradients(
        config: config, parameters: weights, inputs: Array(inputs.dropLast()), targets: Array(inputs.dropFirst()),
        batch: 1, h0: zeros, c0: config.cell == .lstm ? zeros : []
    ).loss
}

/// The Predictor's mean loss over the same predictions, fed in chunks of `chunk` characters.
private func predictorLoss(_ p: Parameters, _ inputs: [Int], chunk: Int) -> (loss: Double, bits: [UInt32]) {
    let predictor = Predictor(parameters: p, maxChunk: chunk)
    let V = p.config.vocabSize
    var nats = 0.0, bits: [UInt32] = []
    var i = 0
    while i < inputs.count - 1 {
        let n = min(chunk, inputs.count - 1 - i)
        let x = inputs[i..<(i + n)].map { Int32($0) }
        x.withUnsafeBufferPointer { predictor.advance($0.baseAddress!, count: n) }
        for r in 0..<n {
            let row = predictor.logits.pointer + r * V
            let logits = (0..<V).map { Double(row[$0]) }
            let top = logits.max()!
            let logSum = top + log(logits.reduce(0) { $0 + exp($1 - top) })
            nats += logSum - logits[inputs[i + r + 1]]
            bits += (0..<V).map { row[$0].bitPattern }
        }
        i += n
    }
    return (nats / Double(inputs.count - 1), bits)
}

@Suite struct PredictorTests {
    /// Hidden 160: big enough that the products split over threads (G·H·H ≥ 256K multiply-adds for the LSTM).
    @Test(arguments: [CellKind.rnn, .lstm, .gru], [false, true])
    func matchesTheReferenceAtEveryChunkSize(_ cell: CellKind, layerNorm: Bool) {
        let p = randomParameters(cell, hidden: 160, layers: 2, vocab: 11, seed: 3, layerNorm: layerNorm)
        var rng = Random(seed: 4)
        let inputs = (0..<70).map { _ in Int(rng.next() % 11) }
        let reference = referenceLoss(p, inputs)
        let whole = predictorLoss(p, inputs, chunk: 128)
        #expect(abs(whole.loss - reference) < 1e-4 * max(1, reference), "\(cell)\(layerNorm ? " LN" : ""): \(whole.loss) vs \(reference)")
        // one character at a time (rnn-gen's path: vector-matrix products) and odd chunks agree closely too
        for chunk in [1, 7] {
            let l = predictorLoss(p, inputs, chunk: chunk).loss
            #expect(abs(l - reference) < 1e-4 * max(1, reference), "\(cell)\(layerNorm ? " LN" : "") chunk \(chunk): \(l) vs \(reference)")
        }
    }

    @Test(arguments: [CellKind.lstm, .gru])
    func bitIdenticalAtEveryWidthAndThreadCount(_ cell: CellKind) {
        let p = randomParameters(cell, hidden: 320, layers: 2, vocab: 9, seed: 5)
        var rng = Random(seed: 6)
        let inputs = (0..<40).map { _ in Int(rng.next() % 9) }
        for chunk in [1, 16] {
            expectSameBitsAtEveryWidthAndThreadCount("\(cell) chunk \(chunk)", threads: [1, 2, 3]) {
                predictorLoss(p, inputs, chunk: chunk).bits
            }
        }
    }

    @Test func weightsChangedRepacksWhatAdvanceMultipliesBy() {
        let p = randomParameters(.lstm, hidden: 64, layers: 2, vocab: 7, seed: 7)
        let predictor = Predictor(parameters: p, maxChunk: 8)
        let x: [Int32] = [1, 2, 3, 4]
        func logits() -> [Float] {
            predictor.reset()
            x.withUnsafeBufferPointer { predictor.advance($0.baseAddress!, count: x.count) }
            return Array(UnsafeBufferPointer(start: predictor.logits.pointer, count: x.count * 7))
        }
        _ = logits()
        // change the recurrent weights, which the predictor multiplies by in packed form
        for k in 0..<2 { for i in 0..<(64 * 4 * 64) { p.wh(k)[i] *= -0.5 } }
        let fresh = Predictor(parameters: p, maxChunk: 8)
        x.withUnsafeBufferPointer { fresh.advance($0.baseAddress!, count: x.count) }
        let expected = Array(UnsafeBufferPointer(start: fresh.logits.pointer, count: x.count * 7))
        #expect(logits() != expected, "the packed copies stay as they were until weightsChanged()")
        predictor.weightsChanged()
        #expect(logits() == expected)
    }
}

/// parallelFor's worker team: every index once, nested calls, callers on several threads at once.
@Suite struct ParallelTests {
    @Test func everyIndexRunsExactlyOnce() {
        withThreads(2) {
            for count in [1, 2, 3, 17, 1000] {
                let hits = UnsafeMutablePointer<Int>.allocate(capacity: count)
                hits.initialize(repeating: 0, count: count)
                parallelFor(count) { hits[$0] += 1 }
                #expect((0..<count).allSatisfy { hits[$0] == 1 }, "count \(count)")
                hits.deallocate()
            }
        }
    }

    @Test func nestedCallsRunAndFinish() {
        withThreads(2) {
            let sums = UnsafeMutablePointer<Int>.allocate(capacity: 8)
            sums.initialize(repeating: 0, count: 8)
            parallelFor(8) { i in
                // the team is busy: this inner loop runs on the calling thread
                parallelFor(100) { j in sums[i] += j }
            }
            #expect((0..<8).allSatisfy { sums[$0] == 4950 })
            sums.deallocate()
        }
    }

    @Test func concurrentCallersEachGetTheirWorkDone() {
        withThreads(2) {
            let callers = 4, count = 200
            let out = UnsafeMutablePointer<Int>.allocate(capacity: callers * count)
            out.initialize(repeating: 0, count: callers * count)
            DispatchQueue.concurrentPerform(iterations: callers) { c in
                for _ in 0..<50 { parallelFor(count) { out[c * count + $0] += 1 } }
            }
            #expect((0..<(callers * count)).allSatisfy { out[$0] == 50 })
            out.deallocate()
        }
    }

    @Test func idleWorkersSleepAndWakeForTheNextJob() throws {
        try withThreads(2, parallel: true) { () throws -> Void in
            var total = 0
            let box = UnsafeMutablePointer<Int>.allocate(capacity: 64)
            defer { box.deallocate() }
            for round in 0..<3 {
                box.initialize(repeating: 0, count: 64)
                parallelFor(64) { box[$0] = $0 + round }
                total += (0..<64).reduce(0) { $0 + box[$1] }
                // past the spin time the worker sleeps; the next job must wake it
                try waitUntil("the worker is asleep") { Threads.ownTeamSleepers == 1 }
            }
            #expect(total == 3 * 2016 + 64 * 3)
        }
    }
}
