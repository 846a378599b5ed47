import Foundation
import Testing
import RNNKernels
import RNNModel
import RNNTraining
import RNNTools

/// Issue 12: `rnn-fit --time` sizes the model to the time and the text (`Sizing`); explicit options win.
@Suite struct SizingTests {
    @Test func choosesTheWidestWidthThatSeesEnoughCharacters() {
        var asked: [Int] = []
        // chars/param = 0.77·1e9·budget / w⁴ (sustainedShare): with budget 100, 256 gives 18, 384 3.5, 512 1.1
        let c = Sizing.choose(widths: [128, 256, 384, 512, 768], layers: 2, dropout: nil, batch: 50, seq: 50,
                              budget: 100, trainCharacters: 10_000_000) { w in
            asked.append(w)
            return (w * w, 1e9 / Double(w * w))
        }
        #expect(c.hiddenSize == 384 && c.layers == 2)
        #expect(asked == [128, 256, 384, 512], "the probe goes on after the first width that fails: \(asked)")
        #expect(abs(c.estimatedCharacters - Sizing.sustainedShare * 1e11 / (384.0 * 384)) < 1)
        // 678,168 characters over 10M of text: 0.07 epochs, no dropout
        #expect(c.dropout == 0)
    }

    @Test func narrowestWidthWhenNoneSeesEnough() {
        let c = Sizing.choose(widths: [128, 256], layers: 3, dropout: nil, batch: 10, seq: 10,
                              budget: 1e-6, trainCharacters: 1000) { w in
            (w * w, 1000)
        }
        #expect(c.hiddenSize == 128 && c.layers == 3)
    }

    @Test func dropoutFollowsThePassesOverTheText() {
        #expect(Sizing.dropout(epochs: nil) == 0)
        #expect(Sizing.dropout(epochs: 0.5) == 0)
        #expect(Sizing.dropout(epochs: 4.9) == 0)
        #expect(Sizing.dropout(epochs: 5) == 0.1)
        #expect(Sizing.dropout(epochs: 9.9) == 0.1)
        #expect(Sizing.dropout(epochs: 10) == 0.2)
        #expect(Sizing.dropout(epochs: 500) == 0.2)
        // 1M characters in the budget over a 50k text: 20 epochs
        let small = Sizing.choose(widths: [64], layers: 1, dropout: nil, batch: 10, seq: 10, budget: 1,
                                   trainCharacters: 50_000) { _ in (10, 1e6 / Sizing.sustainedShare) }
        #expect(small.dropout == 0.2 && abs(small.estimatedEpochs! - 20) < 1e-9)
        let kept = Sizing.choose(widths: [64], layers: 1, dropout: 0.35, batch: 10, seq: 10, budget: 1,
                                  trainCharacters: 50_000) { _ in (10, 1e6) }
        #expect(kept.dropout == 0.35)
    }

    /// Fewer than 20M characters in the budget: a short run, the cell's short-run batch and learning-rate factor
    /// (an LSTM: batch 32 and 12 times adam's default), each unless given (a batch a small text shrank stays).
    @Test func shortRunsGetSmallerBatchesAndALargerLearningRate() {
        func choice(characters: Double, batch: Int = 50, batchGiven: Bool = false, rateGiven: Bool = false,
                    cell: CellKind = .lstm, optimizer: OptimizerKind = .adam) -> Sizing.Choice {
            Sizing.choose(widths: [64], layers: 1, dropout: 0, rateGiven: rateGiven, cell: cell, optimizer: optimizer,
                          batch: batch, batchGiven: batchGiven,
                          seq: 50, budget: 1, trainCharacters: nil) { _ in (1, characters / Sizing.sustainedShare) }
        }
        let short = choice(characters: 19.99e6)
        #expect(short.rateFactor == 12 && short.batch == 32)
        #expect(abs(short.estimatedSteps - 19.99e6 / Double(32 * 50)) < 1e-6)
        let long = choice(characters: 20.01e6)
        #expect(long.rateFactor == 1 && long.batch == 50 && abs(long.estimatedSteps - 20.01e6 / 2500) < 1e-6)
        #expect(choice(characters: 1e6, rateGiven: true).rateFactor == 1 && choice(characters: 1e6, rateGiven: true).batch == 32)
        #expect(choice(characters: 1e6, batch: 64, batchGiven: true).batch == 64)
        #expect(choice(characters: 1e6, batch: 64, batchGiven: true).rateFactor == 12)
        #expect(choice(characters: 1e6, batch: 8).batch == 8, "a batch the text shrank stays")
        // a GRU or RNN: twice the rate, the run's batch; rmsprop and adagrad (not measured) keep their rates
        for cell in [CellKind.gru, .rnn] {
            let c = choice(characters: 1e6, cell: cell)
            #expect(c.rateFactor == 2 && c.batch == 50)
        }
        let other = choice(characters: 1e6, optimizer: .adagrad)
        #expect(other.rateFactor == 1 && other.batch == 50)
    }

    @Test func measuredRateIsPositiveAndFinite() {
        let config = ModelConfig(cell: .lstm, vocabSize: 30, hiddenSize: 16, layers: 2)
        let rate = Sizing.measureRate(config: config, batch: 4, seq: 10, precision: .fp32, dropout: 0.1)
        #expect(rate.isFinite && rate > 0)
    }

    // MARK: rnn-fit

    @Test func timeWithoutSizesChoosesThemAndSaysSo() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let model = directory.file("m.gz")
        let fit = try CLI.run("rnn-fit", ["--time", "3s", "--steps", "2", "-o", model],
                              stdin: .data(Data(englishText(scalars: 20000).utf8)), timeout: 120)
        #expect(fit.status == 0, "\(fit)")
        #expect(fit.err.contains("rnn-fit: sized to the time: 2x"), "stderr does not show the choice: \(fit)")
        let loaded = try loadModel(path: model)
        #expect(Sizing.widths.contains(loaded.config.hiddenSize) && loaded.config.layers == Sizing.defaultLayers)
        let sizing = try #require(loaded.info["sizing"], "no sizing metadata: \(loaded.info)")
        let dropout = String(format: "%g", Double(loaded.info["dropout"] ?? "") ?? -1)
        #expect(sizing.hasPrefix("2x\(loaded.config.hiddenSize), dropout \(dropout)"), "\(sizing)")
        // a 3-second run is short: batch 32 and a larger learning rate, and the weights say so
        let rate = String(OptimizerKind.adam.defaultLearningRate * 12)
        #expect(sizing.contains("batch 32, learning rate 12x"), "\(sizing)")
        #expect(loaded.info["learning_rate"] == rate && loaded.info["batch"] == "32", "\(sizing) \(loaded.info)")
    }

    @Test func explicitOptionsWin() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let text = Data(englishText(scalars: 20000).utf8)
        // all five given: nothing is measured, nothing is stored
        let all = directory.file("all.gz")
        let fit = try CLI.run("rnn-fit", ["--time", "3s", "--steps", "2", "--hidden", "24", "--layers", "1",
                                          "--dropout", "0.05", "--lr", "0.003", "--batch", "20", "-o", all],
                              stdin: .data(text), timeout: 120)
        #expect(fit.status == 0 && !fit.err.contains("sized"), "\(fit)")
        let a = try loadModel(path: all)
        #expect(a.config.hiddenSize == 24 && a.config.layers == 1 && a.info["dropout"] == "0.05" && a.info["sizing"] == nil)
        #expect(a.info["learning_rate"] == "0.003" && a.info["batch"] == "20")
        // only the width given: layers and dropout chosen around it
        let some = directory.file("some.gz")
        let part = try CLI.run("rnn-fit", ["--time", "3s", "--steps", "2", "--hidden", "24", "--dropout", "0.3",
                                           "-o", some], stdin: .data(text), timeout: 120)
        #expect(part.status == 0 && part.err.contains("sized to the time: 2x24, dropout 0.3"), "\(part)")
        let s = try loadModel(path: some)
        #expect(s.config.hiddenSize == 24 && s.config.layers == 2 && s.info["dropout"] == "0.3")
        // no --time: today's fixed defaults
        let plain = directory.file("plain.gz")
        let p = try CLI.run("rnn-fit", ["--steps", "1", "-o", plain], stdin: .data(text), timeout: 120)
        #expect(p.status == 0 && !p.err.contains("sized"), "\(p)")
        let m = try loadModel(path: plain)
        #expect(m.config.hiddenSize == 256 && m.config.layers == 2 && m.info["dropout"] == "0.0" && m.info["sizing"] == nil)
        #expect(m.info["batch"] == "50" && m.info["learning_rate"] == "0.002", "\(m.info)")
    }

    /// A resumed `--time` run takes its size from the checkpoint, whatever a new measurement would choose.
    @Test func resumeKeepsTheCheckpointsSize() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let text = try directory.write("t.txt", englishText(scalars: 20000))
        let checkpoint = directory.file("c.ckpt"), first = directory.file("a.gz"), second = directory.file("b.gz")
        let a = try CLI.run("rnn-fit", ["--time", "2s", "--checkpoint", checkpoint, "--steps", "3", "-q", "-o", first],
                            stdin: .file(text), timeout: 120)
        #expect(a.status == 0, "\(a)")
        let b = try CLI.run("rnn-fit", ["--time", "2s", "--resume", checkpoint, "--steps", "4", "-o", second],
                            stdin: .file(text), timeout: 120)
        #expect(b.status == 0 && !b.err.contains("sized"), "\(b)")
        let ma = try loadModel(path: first), mb = try loadModel(path: second)
        #expect(ma.config == mb.config && ma.info["dropout"] == mb.info["dropout"])
        #expect(mb.info["steps"] == "4")
    }
}
