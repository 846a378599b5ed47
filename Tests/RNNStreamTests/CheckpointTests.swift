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

/// Issue 11: a `TrainingState` written as a checkpoint and read back is the same state, field by field.
struct CheckpointTests {
    static func trainer(cell: CellKind, optimizer: OptimizerKind) throws -> Trainer {
        let scalars = Array(englishText(scalars: 4000).unicodeScalars)
        let vocabulary = Vocabulary(text: scalars)
        var options = TrainingOptions()
        options.cell = cell
        options.optimizer = optimizer
        options.hiddenSize = 8
        options.layers = 2
        options.batch = 4
        options.seq = 8
        options.seed = 7
        return try Trainer(text: scalars.map { vocabulary.index(of: $0)! }, vocabulary: vocabulary, options: options)
    }

    /// Distinct values in every buffer, so that a swapped or skipped tensor shows.
    static func fill(_ buffer: FloatBuffer, _ rng: inout Random) {
        for i in 0..<buffer.count { buffer.pointer[i] = rng.nextFloat() * 2 - 1 }
    }

    @Test(arguments: [(CellKind.lstm, OptimizerKind.adam), (.gru, .rmsprop), (.rnn, .adagrad)])
    func everyFieldSurvivesTheRoundTrip(cell: CellKind, optimizer: OptimizerKind) throws {
        let trainer = try Self.trainer(cell: cell, optimizer: optimizer)
        let s = trainer.makeState()
        var rng = Random(seed: 3)
        for buffer in [s.params.buffer, s.best.buffer, s.optimizer.first, s.optimizer.second] + s.recurrent.h + s.recurrent.c {
            Self.fill(buffer, &rng)
        }
        s.batcher.seek(position: 2, epoch: 5)
        s.rng = Random(state: (1, UInt64.max, 0x0123_4567_89AB_CDEF, 42))
        s.step = 1234
        s.characters = 56_789
        s.lastEvalCharacters = 50_000
        s.windowNats = 0.1 + 0.2  // not a short decimal: the text form must keep every bit
        s.windowChars = 6789
        s.lastTrainBPC = 1.0 / 3
        s.bestTrainBPC = 2.0 / 3
        s.bestValidation = 1.234_567_890_123_4
        s.lastValidation = Double.pi
        s.stale = 2
        s.lrScale = 0.25
        s.optimizer.step = 1233
        let seconds = 98.765_432_1

        let bytes = Checkpoint.encode(state: s, trainer: trainer, textSHA256: "abc", seconds: seconds)
        let (r, readSeconds) = try Checkpoint.decode(bytes, trainer: trainer, textSHA256: "abc")

        #expect(readSeconds == seconds)
        #expect(r.previousSeconds == seconds)
        #expect(r.config == s.config)
        #expect(r.params.buffer.array == s.params.buffer.array)
        #expect(r.best.buffer.array == s.best.buffer.array)
        #expect(r.optimizer.kind == s.optimizer.kind)
        #expect(r.optimizer.first.array == s.optimizer.first.array)
        #expect(r.optimizer.second.array == s.optimizer.second.array)
        #expect(r.optimizer.step == s.optimizer.step)
        #expect(r.recurrent.h.map(\.array) == s.recurrent.h.map(\.array))
        #expect(r.recurrent.c.map(\.array) == s.recurrent.c.map(\.array))
        #expect(r.recurrent.c.count == (cell == .lstm ? 2 : 0))
        #expect(r.batcher.position == 2 && r.batcher.epoch == 5)
        #expect(r.rng == s.rng)
        #expect(r.step == s.step)
        #expect(r.characters == s.characters)
        #expect(r.lastEvalCharacters == s.lastEvalCharacters)
        #expect(r.windowNats == s.windowNats)
        #expect(r.windowChars == s.windowChars)
        #expect(r.lastTrainBPC == s.lastTrainBPC)
        #expect(r.bestTrainBPC == s.bestTrainBPC)
        #expect(r.bestValidation == s.bestValidation)
        #expect(r.lastValidation == s.lastValidation)
        #expect(r.stale == s.stale)
        #expect(r.lrScale == s.lrScale)
        // and the checkpoint of the restored state is the same file
        #expect(Checkpoint.encode(state: r, trainer: trainer, textSHA256: "abc", seconds: readSeconds) == bytes)
    }

    /// A fresh state: no validation yet (nil), train bits per character not a number yet.
    @Test func aFreshStateSurvivesTheRoundTrip() throws {
        let trainer = try Self.trainer(cell: .lstm, optimizer: .adam)
        let s = trainer.makeState()
        let bytes = Checkpoint.encode(state: s, trainer: trainer, textSHA256: "abc", seconds: 0)
        let (r, _) = try Checkpoint.decode(bytes, trainer: trainer, textSHA256: "abc")
        #expect(r.bestValidation == nil && r.lastValidation == nil)
        #expect(r.lastTrainBPC.isNaN && r.bestTrainBPC.isNaN)
        #expect(r.step == 0 && r.batcher.position == 0 && r.batcher.epoch == 0)
        #expect(r.rng == s.rng)
        #expect(r.params.buffer.array == s.params.buffer.array)
    }

    @Test func anotherTextIsRefused() throws {
        let trainer = try Self.trainer(cell: .rnn, optimizer: .adam)
        let bytes = Checkpoint.encode(state: trainer.makeState(), trainer: trainer, textSHA256: "abc", seconds: 0)
        #expect(throws: TrainingError.self) { try Checkpoint.decode(bytes, trainer: trainer, textSHA256: "abd") }
    }

    /// The keys written are exactly the table's (`Checkpoint.Key`), which is also what `decode` reads.
    @Test func theMetadataKeysAreTheTable() throws {
        let trainer = try Self.trainer(cell: .lstm, optimizer: .adam)
        let s = trainer.makeState()
        s.bestValidation = 1
        s.lastValidation = 2
        let file = try SafeTensorsFile.decode(Gzip.decompress(Checkpoint.encode(state: s, trainer: trainer, textSHA256: "abc", seconds: 0),
                                                              maxOutput: 1 << 26))
        let written = Set(file.metadata.keys.filter { $0.hasPrefix("checkpoint.") && !$0.hasPrefix("checkpoint.option.") })
        #expect(written == Set(Checkpoint.Key.allCases.map(\.name)))
        let options = Checkpoint.shapeOptions(trainer.options, batch: trainer.batch, seq: trainer.seq)
        #expect(Set(file.metadata.keys.filter { $0.hasPrefix("checkpoint.option.") }) == Set(options.keys.map { Checkpoint.Key.option($0) }))
        let stateTensors = file.tensors.map(\.name).filter { $0.hasPrefix("checkpoint.") && !$0.hasPrefix("checkpoint.best.") }
        var expected: [String] = [Checkpoint.TensorName.optimizerFirst, Checkpoint.TensorName.optimizerSecond,
                                  Checkpoint.TensorName.average]
        for k in 0..<2 { expected.append(Checkpoint.TensorName.hidden(layer: k)) }
        for k in 0..<2 { expected.append(Checkpoint.TensorName.cell(layer: k)) }
        #expect(stateTensors == expected.map { "checkpoint." + $0 })
    }
}

/// `--ema`: the moving average is part of the checkpoint, and a run resumes only with the same decay.
struct CheckpointAverageTests {
    static func trainer(ema: Double) throws -> Trainer {
        let scalars = Array(englishText(scalars: 4000).unicodeScalars)
        let vocabulary = Vocabulary(text: scalars)
        var options = TrainingOptions()
        options.hiddenSize = 8
        options.batch = 4
        options.seq = 8
        options.ema = ema
        return try Trainer(text: scalars.map { vocabulary.index(of: $0)! }, vocabulary: vocabulary, options: options)
    }

    @Test func theAverageSurvivesTheRoundTrip() throws {
        let trainer = try Self.trainer(ema: 0.99)
        let s = trainer.makeState()
        var rng = Random(seed: 5)
        CheckpointTests.fill(s.average!.buffer, &rng)
        let bytes = Checkpoint.encode(state: s, trainer: trainer, textSHA256: "abc", seconds: 0)
        let (r, _) = try Checkpoint.decode(bytes, trainer: trainer, textSHA256: "abc")
        #expect(r.average?.buffer.array == s.average!.buffer.array)
        #expect(r.params.buffer.array == s.params.buffer.array)
    }

    @Test func aDifferentDecayIsRefused() throws {
        let with = try Self.trainer(ema: 0.99), without = try Self.trainer(ema: 0), other = try Self.trainer(ema: 0.9)
        let averaged = Checkpoint.encode(state: with.makeState(), trainer: with, textSHA256: "abc", seconds: 0)
        let plain = Checkpoint.encode(state: without.makeState(), trainer: without, textSHA256: "abc", seconds: 0)
        #expect(throws: TrainingError.self) { try Checkpoint.decode(averaged, trainer: without, textSHA256: "abc") }
        #expect(throws: TrainingError.self) { try Checkpoint.decode(averaged, trainer: other, textSHA256: "abc") }
        #expect(throws: TrainingError.self) { try Checkpoint.decode(plain, trainer: with, textSHA256: "abc") }
        #expect(throws: Never.self) { try Checkpoint.decode(plain, trainer: without, textSHA256: "abc") }
        let error = #expect(throws: TrainingError.self) { try Checkpoint.decode(averaged, trainer: without, textSHA256: "abc") }
        #expect(error?.description == "option ema is 0.0 here but 0.99 in the checkpoint")
    }

    /// An option this version does not know (a later version's) is refused, not ignored.
    @Test func anUnknownOptionIsRefused() throws {
        let trainer = try Self.trainer(ema: 0)
        var file = try SafeTensorsFile.decode(Gzip.decompress(
            Checkpoint.encode(state: trainer.makeState(), trainer: trainer, textSHA256: "abc", seconds: 0), maxOutput: 1 << 26))
        var unknown = file
        unknown.metadata[Checkpoint.Key.option("label_smoothing")] = "0.1"
        let error = #expect(throws: TrainingError.self) {
            try Checkpoint.decode(Gzip.compress(unknown.encoded()), trainer: trainer, textSHA256: "abc")
        }
        #expect(error?.description == "option label_smoothing is unset here but 0.1 in the checkpoint")
        // a known option left out at its default (layer_norm 0) compares as that default
        file.metadata[Checkpoint.Key.option("layer_norm")] = "1"
        let ln = #expect(throws: TrainingError.self) {
            try Checkpoint.decode(Gzip.compress(file.encoded()), trainer: trainer, textSHA256: "abc")
        }
        #expect(ln?.description == "option layer_norm is 0 here but 1 in the checkpoint")
    }
}
