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
        // chars/param = 1e9·budget / w⁴ (× sustainedShare, 1): with budget 200, 256 gives 46, 384 9.2, 512 2.9
        let c = Sizing.choose(widths: [128, 256, 384, 512, 768], layers: 2, dropout: nil, batch: 50, seq: 50,
                              budget: 200, trainCharacters: 10_000_000) { _, w in
            asked.append(w)
            return (w * w, 1e9 / Double(w * w))
        }
        #expect(c.hiddenSize == 384 && c.layers == 2)
        #expect(asked == [128, 256, 384, 512], "the probe goes on after the first width that fails: \(asked)")
        #expect(abs(c.estimatedCharacters - Sizing.sustainedShare * 2e11 / (384.0 * 384)) < 1)
        // 1,356,337 characters over 10M of text: 0.14 epochs, no dropout
        #expect(c.dropout == 0)
    }

    @Test func narrowestWidthWhenNoneSeesEnough() {
        let c = Sizing.choose(widths: [128, 256], layers: 3, dropout: nil, batch: 10, seq: 10,
                              budget: 1e-6, trainCharacters: 1000) { _, w in
            (w * w, 1000)
        }
        #expect(c.hiddenSize == 128 && c.layers == 3)
    }

    @Test func dropoutFollowsThePassesOverTheText() {
        #expect(Sizing.dropout(epochs: nil) == 0)
        #expect(Sizing.dropout(epochs: 0.5) == 0)
        #expect(Sizing.dropout(epochs: 2.9) == 0)
        #expect(Sizing.dropout(epochs: 3) == 0.1)
        #expect(Sizing.dropout(epochs: 4.9) == 0.1)
        #expect(Sizing.dropout(epochs: 14.9) == 0.1)
        #expect(Sizing.dropout(epochs: 15) == 0.3)
        #expect(Sizing.dropout(epochs: 500) == 0.3)
        #expect(Sizing.weightDrop(epochs: nil) == 0)
        #expect(Sizing.weightDrop(epochs: Sizing.weightDropFromEpochs.nextDown) == 0)
        #expect(Sizing.weightDrop(epochs: Sizing.weightDropFromEpochs) == 0.3)
        #expect(Sizing.weightDrop(epochs: 500) == 0.3)
        // 1M characters in the budget over a 50k text: 20 epochs
        let small = Sizing.choose(widths: [64], layers: 1, dropout: nil, batch: 10, seq: 10, budget: 1,
                                   trainCharacters: 50_000) { _, _ in (10, 1e6 / Sizing.sustainedShare) }
        #expect(small.dropout == 0.3 && abs(small.estimatedEpochs! - 20) < 1e-9)
        #expect(small.weightDrop == 0, "a weight drop given (0, the default argument) is kept")
        let sized = Sizing.choose(widths: [64], layers: 1, dropout: nil, weightDrop: nil, batch: 10, seq: 10, budget: 1,
                                  trainCharacters: 50_000) { _, _ in (10, 1e6 / Sizing.sustainedShare) }
        #expect(sized.weightDrop == 0.3 && sized.summary.contains("dropout 0.3, weight drop 0.3, batch"), "\(sized.summary)")
        let kept = Sizing.choose(widths: [64], layers: 1, dropout: 0.35, weightDrop: 0.1, batch: 10, seq: 10, budget: 1,
                                  trainCharacters: 50_000) { _, _ in (10, 1e6) }
        #expect(kept.dropout == 0.35 && kept.weightDrop == 0.1)
    }

    /// Fewer than 15M characters in the budget: a short run, the cell's short-run batch and learning-rate factor
    /// (an LSTM: batch 32 and 12 times adam's default), each unless given (a batch a small text shrank stays).
    @Test func shortRunsGetSmallerBatchesAndALargerLearningRate() {
        func choice(characters: Double, batch: Int = 50, batchGiven: Bool = false, rateGiven: Bool = false,
                    cell: CellKind = .lstm, optimizer: OptimizerKind = .adam) -> Sizing.Choice {
            Sizing.choose(widths: [64], layers: 1, dropout: 0, rateGiven: rateGiven, cell: cell, optimizer: optimizer,
                          batch: batch, batchGiven: batchGiven,
                          seq: 50, budget: 1, trainCharacters: nil) { _, _ in (1, characters / Sizing.sustainedShare) }
        }
        let short = choice(characters: 14.99e6)
        #expect(short.rateFactor == 12 && short.batch == 32)
        #expect(abs(short.estimatedSteps - 14.99e6 / Double(32 * 50)) < 1e-6)
        let long = choice(characters: 15.01e6)
        #expect(long.rateFactor == 1 && long.batch == 50 && abs(long.estimatedSteps - 15.01e6 / 2500) < 1e-6)
        // a long GRU twice adam's default, an RNN its default
        #expect(choice(characters: 15.01e6, cell: .gru).rateFactor == 2 && choice(characters: 15.01e6, cell: .rnn).rateFactor == 1)
        #expect(choice(characters: 15.01e6, rateGiven: true, cell: .gru).rateFactor == 1)
        #expect(choice(characters: 1e6, rateGiven: true).rateFactor == 1 && choice(characters: 1e6, rateGiven: true).batch == 32)
        #expect(choice(characters: 1e6, batch: 64, batchGiven: true).batch == 64)
        #expect(choice(characters: 1e6, batch: 64, batchGiven: true).rateFactor == 12)
        #expect(choice(characters: 1e6, batch: 8).batch == 8, "a batch the text shrank stays")
        // a GRU 4x the rate, an RNN 2x, both at the run's batch; rmsprop and adagrad (not measured) keep their rates
        for (cell, factor) in [(CellKind.gru, 4.0), (.rnn, 2)] {
            let c = choice(characters: 1e6, cell: cell)
            #expect(c.rateFactor == factor && c.batch == 50, "\(cell)")
        }
        let other = choice(characters: 1e6, optimizer: .adagrad)
        #expect(other.rateFactor == 1 && other.batch == 50)
    }

    /// No --cell: a GRU, for short runs and long ones (measured once, as a GRU); a cell given is kept.
    @Test func theCellIsAGRUUnlessGiven() {
        func choice(characters: Double, cell: CellKind? = nil) -> (Sizing.Choice, asked: [CellKind]) {
            var asked: [CellKind] = []
            let c = Sizing.choose(widths: [64], layers: 1, dropout: 0, cell: cell, batch: 50, seq: 50, budget: 1,
                                  trainCharacters: nil) { cell, _ in
                asked.append(cell)
                return (1, characters / Sizing.sustainedShare)
            }
            return (c, asked)
        }
        let (short, shortAsked) = choice(characters: 5e6)
        #expect(short.cell == .gru && shortAsked == [.gru] && short.isShort)
        #expect(short.rateFactor == Sizing.shortRun(cell: .gru, optimizer: .adam).rateFactor && short.batch == 50)
        #expect(short.summary.hasPrefix("gru 1x64, dropout 0, batch 50"), "\(short.summary)")
        let (long, longAsked) = choice(characters: 30e6)
        #expect(long.cell == .gru && longAsked == [.gru] && !long.isShort && long.batch == 50)
        #expect(long.rateFactor == Sizing.longRunRateFactor(cell: .gru, optimizer: .adam))
        let (given, givenAsked) = choice(characters: 30e6, cell: .lstm)
        #expect(given.cell == .lstm && givenAsked == [.lstm] && given.rateFactor == 1)
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
        #expect(fit.err.contains("rnn-fit: sized to the time: gru 2x"), "stderr does not show the choice: \(fit)")
        let loaded = try loadModel(path: model)
        #expect(Sizing.widths.contains(loaded.config.hiddenSize) && loaded.config.layers == Sizing.defaultLayers)
        let sizing = try #require(loaded.info["sizing"], "no sizing metadata: \(loaded.info)")
        let dropout = String(format: "%g", Double(loaded.info["dropout"] ?? "") ?? -1)
        #expect(sizing.hasPrefix("gru 2x\(loaded.config.hiddenSize) with layer norm, dropout \(dropout)"), "\(sizing)")
        #expect(loaded.config.layerNorm == Sizing.layerNorm)
        // a 3-second run is short: a GRU at a larger learning rate, and the weights say so
        let factor = Sizing.shortRun(cell: .gru, optimizer: .adam).rateFactor
        #expect(loaded.config.cell == .gru)
        #expect(sizing.contains("batch 50, learning rate \(String(format: "%g", factor))x"), "\(sizing)")
        #expect(loaded.info["learning_rate"] == String(OptimizerKind.adam.defaultLearningRate * factor), "\(loaded.info)")
        #expect(loaded.info["batch"] == "50", "\(sizing) \(loaded.info)")
        // an LSTM given: batch 32 and 12x
        let lstm = directory.file("lstm.gz")
        let l = try CLI.run("rnn-fit", ["--time", "3s", "--steps", "2", "--cell", "lstm", "-q", "-o", lstm],
                            stdin: .data(Data(englishText(scalars: 20000).utf8)), timeout: 120)
        #expect(l.status == 0, "\(l)")
        let lm = try loadModel(path: lstm)
        #expect(lm.config.cell == .lstm && lm.info["batch"] == "32", "\(lm.info)")
        #expect(lm.info["learning_rate"] == String(OptimizerKind.adam.defaultLearningRate * 12), "\(lm.info)")
    }

    @Test func explicitOptionsWin() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let text = Data(englishText(scalars: 20000).utf8)
        // all eight given: nothing is measured, nothing is stored
        let all = directory.file("all.gz")
        let fit = try CLI.run("rnn-fit", ["--time", "3s", "--steps", "2", "--cell", "lstm", "--hidden", "24", "--layers", "1",
                                          "--dropout", "0.05", "--weight-drop", "0", "--no-layer-norm", "--lr", "0.003",
                                          "--batch", "20", "-o", all],
                              stdin: .data(text), timeout: 120)
        #expect(fit.status == 0 && !fit.err.contains("sized"), "\(fit)")
        let a = try loadModel(path: all)
        #expect(a.config.hiddenSize == 24 && a.config.layers == 1 && a.info["dropout"] == "0.05" && a.info["sizing"] == nil)
        #expect(!a.config.layerNorm)
        #expect(a.info["learning_rate"] == "0.003" && a.info["batch"] == "20")
        // only the width given: layers and dropout chosen around it
        let some = directory.file("some.gz")
        let part = try CLI.run("rnn-fit", ["--time", "3s", "--steps", "2", "--hidden", "24", "--dropout", "0.3",
                                           "-o", some], stdin: .data(text), timeout: 120)
        #expect(part.status == 0 && part.err.contains("sized to the time: gru 2x24 with layer norm, dropout 0.3"), "\(part)")
        let s = try loadModel(path: some)
        #expect(s.config.hiddenSize == 24 && s.config.layers == 2 && s.info["dropout"] == "0.3")
        // no --time: today's fixed defaults
        let plain = directory.file("plain.gz")
        let p = try CLI.run("rnn-fit", ["--steps", "1", "-o", plain], stdin: .data(text), timeout: 120)
        #expect(p.status == 0 && !p.err.contains("sized"), "\(p)")
        let m = try loadModel(path: plain)
        #expect(m.config.cell == .lstm && m.config.hiddenSize == 256 && m.config.layers == 2 && !m.config.layerNorm)
        #expect(m.info["dropout"] == "0.0" && m.info["sizing"] == nil)
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
        #expect(ma.info["weight_drop"] == mb.info["weight_drop"], "\(ma.info)")
        #expect(mb.info["steps"] == "4")
        // a weight drop the first run had (given here) is taken from the checkpoint when the resumed run leaves it
        // to --time, as the size is
        let dropped = directory.file("d.ckpt")
        let c = try CLI.run("rnn-fit", ["--time", "2s", "--weight-drop", "0.2", "--checkpoint", dropped, "--steps", "3",
                                        "-q", "-o", first], stdin: .file(text), timeout: 120)
        #expect(c.status == 0, "\(c)")
        let d = try CLI.run("rnn-fit", ["--time", "2s", "--resume", dropped, "--steps", "4", "-q", "-o", second],
                            stdin: .file(text), timeout: 120)
        #expect(d.status == 0, "\(d)")
        #expect(try loadModel(path: second).info["weight_drop"] == "0.2")
    }
}
