import Testing
import RNNKernels
import RNNText
import RNNModel
import RNNTraining

/// `rnn-fit --ema`: what is validated and written is the exponential moving average of the weights along the
/// run, a = d·a + (1-d)·w after every update with d = min(ema, (1+t)/(10+t)), starting from the initial weights;
/// the training itself is unchanged.
struct MovingAverageTests {
    static func trainer(ema: Double, steps: Int) throws -> Trainer {
        let scalars = Array(englishText(scalars: 4000).unicodeScalars)
        let vocabulary = Vocabulary(text: scalars)
        var options = TrainingOptions()
        options.cell = .gru
        options.hiddenSize = 8
        options.layers = 2
        options.batch = 4
        options.seq = 8
        options.seed = 7
        options.dropout = 0.1
        // a rate that does not depend on the run's length, so that shorter runs are the longer one's prefixes
        options.decay = .none
        options.warmupSteps = 0
        // nothing held out: the run's last weights (or their average) are written
        options.validationFraction = 0
        options.maxSteps = steps
        options.ema = ema
        return try Trainer(text: scalars.map { vocabulary.index(of: $0)! }, vocabulary: vocabulary, options: options)
    }

    static func weights(_ model: Model) -> [Float] { model.parameters.flatMap(\.data) }

    @Test func theWrittenWeightsAreTheAverageAlongTheRun() throws {
        let ema = 0.8, steps = 12
        // the weights after 0, 1, ..., steps updates of runs without the average
        var path: [[Float]] = []
        for k in 0...steps { path.append(Self.weights(try Self.trainer(ema: 0, steps: k).run().model)) }
        var expected = path[0]
        for t in 1...steps {
            let d = Float(min(ema, (1 + Double(t)) / (10 + Double(t))))
            for i in expected.indices { expected[i] = d * expected[i] + (1 - d) * path[t][i] }
        }
        let result = try Self.trainer(ema: ema, steps: steps).run()
        let got = Self.weights(result.model)
        #expect(got.count == expected.count)
        let worst = zip(got, expected).map { abs($0 - $1) }.max() ?? 0
        #expect(worst <= 1e-6, "largest difference from the average along the run: \(worst)")
        // the average is not the last weights: the check above could not pass by writing those
        #expect(zip(got, path[steps]).map { abs($0 - $1) }.max()! > 1e-3)
        #expect(result.model.info["ema"] == "0.8")
    }

    @Test func offWritesTheWeightsThemselves() throws {
        let result = try Self.trainer(ema: 0, steps: 3).run()
        #expect(result.model.info["ema"] == nil)
    }
}
