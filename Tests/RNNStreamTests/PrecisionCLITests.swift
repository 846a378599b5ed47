import Foundation
import Testing
import RNNKernels
import RNNModel
import RNNFormat

/// The kernels chosen at run time from the CPU (`RNNSTREAM_CPU` forces the portable ones), and the tools'
/// `--precision`, through the shipped binaries.
@Suite struct PrecisionCLITests {
    static let text = Data(englishText(scalars: 6000).utf8)
    static let fit = ["--cell", "lstm", "--hidden", "48", "--layers", "2", "--batch", "12", "--seq", "24", "--steps", "12",
                      "--eval-every", "100000", "--seed", "3", "-q"]

    /// The same binary forced down to the AVX2 kernels (8 lanes, no AVX-512 at all) writes the same weights
    /// as with the kernels this CPU picks, on two threads; and scores and generates the same, with fp32 and
    /// 16-bit weights. --info says which kernels ran.
    @Test func portableKernelsGiveTheSameResults() throws {
        let dir = try TemporaryDirectory()
        var models: [Data] = []
        for cpu in ["", "avx2"] {
            let env = ["RNNSTREAM_THREADS": "2"].merging(cpu.isEmpty ? [:] : ["RNNSTREAM_CPU": cpu]) { $1 }
            let fit = try CLI.run("rnn-fit", PrecisionCLITests.fit + ["--precision", "fp32"], stdin: .data(PrecisionCLITests.text),
                                  environment: env)
            #expect(fit.status == 0 && fit.err.isEmpty, "\(fit)")
            models.append(fit.stdout)
        }
        try #require(!models[0].isEmpty)
        #expect(models[0] == models[1], "RNNSTREAM_CPU=avx2 wrote different weights")
        let model = dir.file("m.gz"), sample = dir.file("t.txt")
        try models[0].write(to: URL(fileURLWithPath: model))
        try Data(englishText(scalars: 3000).utf8).write(to: URL(fileURLWithPath: sample))

        let info = try CLI.run("rnn-score", ["--info", model], environment: ["RNNSTREAM_CPU": "avx2"])
        #expect(info.out.contains("\"cpu\":\"avx2\""), "\(info)")
        for precision in ["fp32", "fp16", "bf16"] {
            var outputs: [String] = []
            for cpu in ["", "avx2"] {
                let env = ["RNNSTREAM_THREADS": "2"].merging(cpu.isEmpty ? [:] : ["RNNSTREAM_CPU": cpu]) { $1 }
                let score = try CLI.run("rnn-score", ["--per-char", "--precision", precision, model, sample], environment: env)
                #expect(score.status == 0, "\(score)")
                let gen = try CLI.run("rnn-gen", ["-n", "200", "--seed", "5", "--precision", precision, model], environment: env)
                #expect(gen.status == 0, "\(gen)")
                outputs.append(score.out + gen.out)
            }
            #expect(outputs[0] == outputs[1], "\(precision): RNNSTREAM_CPU=avx2 scored or generated differently")
        }
    }

    /// rnn-score reports the precision it held the weights in (--json and --info); 16-bit weights move the
    /// score only a little.
    @Test func scoreReportsItsPrecision() throws {
        let dir = try TemporaryDirectory()
        let fit = try CLI.run("rnn-fit", PrecisionCLITests.fit + ["-o", dir.file("m.gz")], stdin: .data(PrecisionCLITests.text))
        #expect(fit.status == 0, "\(fit)")
        let sample = dir.file("t.txt")
        try Data(englishText(scalars: 3000).utf8).write(to: URL(fileURLWithPath: sample))
        var bpc: [String: Double] = [:]
        for precision in ["fp32", "fp16", "bf16"] {
            let score = try CLI.run("rnn-score", ["--json", "--precision", precision, dir.file("m.gz"), sample])
            #expect(score.status == 0, "\(score)")
            let record = try #require(try JSONSerialization.jsonObject(with: Data(score.out.utf8)) as? [String: Any])
            #expect(record["precision"] as? String == precision)
            bpc[precision] = record["bpc"] as? Double
            let info = try CLI.run("rnn-score", ["--info", "--precision", precision, dir.file("m.gz")])
            #expect(info.out.contains("\"precision\":\"\(precision)\""), "\(info)")
        }
        let exact = try #require(bpc["fp32"])
        #expect(abs(bpc["fp16"]! - exact) < 0.001, "fp16 \(bpc["fp16"]!) vs fp32 \(exact)")
        #expect(abs(bpc["bf16"]! - exact) < 0.02, "bf16 \(bpc["bf16"]!) vs fp32 \(exact)")
        let bad = try CLI.run("rnn-score", ["--precision", "fp8", dir.file("m.gz"), sample])
        #expect(bad.status != 0 && bad.errLines.count == 1, "\(bad)")
    }

    /// `rnn-fit --precision bf16` where the CPU (or RNNSTREAM_CPU) has no AVX512_BF16: one line and a
    /// non-zero exit before any training.
    @Test func bf16TrainingNeedsTheInstruction() throws {
        let fit = try CLI.run("rnn-fit", PrecisionCLITests.fit + ["--precision", "bf16"], stdin: .data(PrecisionCLITests.text),
                              environment: ["RNNSTREAM_CPU": "avx512"])
        #expect(fit.status != 0 && fit.stdout.isEmpty, "\(fit)")
        #expect(fit.errLines.count == 1 && fit.err.contains("AVX512_BF16"), "\(fit)")
    }

    /// bf16 training where the CPU has it: stored in the metadata, the same weights on 1 and 2 threads, other
    /// weights than fp32's, and a model that learned about as much.
    @Test(.enabled(if: CPU.hasBF16, "this CPU has no AVX512_BF16"))
    func bf16TrainingIsReproducible() throws {
        var outputs: [Data] = []
        for threads in ["1", "2"] {
            let fit = try CLI.run("rnn-fit", PrecisionCLITests.fit + ["--precision", "bf16"], stdin: .data(PrecisionCLITests.text),
                                  environment: ["RNNSTREAM_THREADS": threads])
            #expect(fit.status == 0 && fit.err.isEmpty, "\(fit)")
            outputs.append(fit.stdout)
        }
        #expect(outputs[0] == outputs[1], "bf16 weights differ between 1 and 2 threads")
        let fp32 = try CLI.run("rnn-fit", PrecisionCLITests.fit + ["--precision", "fp32"], stdin: .data(PrecisionCLITests.text))
        let bf16 = try Model.load(weightsFile: [UInt8](outputs[0])), full = try Model.load(weightsFile: [UInt8](fp32.stdout))
        #expect(bf16.info["precision"] == "bf16" && full.info["precision"] == "fp32")
        #expect(bf16.parameters != full.parameters)
        let a = try #require(Double(bf16.info["train_bpc"] ?? "")), b = try #require(Double(full.info["train_bpc"] ?? ""))
        #expect(abs(a - b) < 0.05, "train bpc bf16 \(a), fp32 \(b)")
    }

    /// Without --precision rnn-fit trains in bf16 where it is faster (CPU.bf16IsFast), else in fp32, and says
    /// which in the metadata; RNNSTREAM_CPU=avx512 (no bf16) gives fp32 and the same weights as --precision fp32.
    @Test func theDefaultPrecisionFollowsTheCPU() throws {
        let plain = try CLI.run("rnn-fit", PrecisionCLITests.fit, stdin: .data(PrecisionCLITests.text))
        #expect(plain.status == 0 && plain.err.isEmpty, "\(plain)")
        let model = try Model.load(weightsFile: [UInt8](plain.stdout))
        #expect(model.info["precision"] == (CPU.bf16IsFast ? "bf16" : "fp32"), "\(model.info)")
        let forced = try CLI.run("rnn-fit", PrecisionCLITests.fit, stdin: .data(PrecisionCLITests.text),
                                 environment: ["RNNSTREAM_CPU": "avx512"])
        let fp32 = try CLI.run("rnn-fit", PrecisionCLITests.fit + ["--precision", "fp32"], stdin: .data(PrecisionCLITests.text))
        let a = try Model.load(weightsFile: [UInt8](forced.stdout)), b = try Model.load(weightsFile: [UInt8](fp32.stdout))
        #expect(a.info["precision"] == "fp32" && a.parameters == b.parameters)
    }

    /// A bf16 checkpoint resumes in bf16 without --precision (even where the default is fp32), to the weights
    /// of the uninterrupted run; --precision fp32 against it is one line and status 1.
    @Test(.enabled(if: CPU.hasBF16, "this CPU has no AVX512_BF16"))
    func aBF16CheckpointResumesInBF16() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let text = try dir.write("text.txt", englishText(scalars: 8_000))
        let common = ["--cell", "gru", "--hidden", "24", "--layers", "2", "--batch", "8", "--seq", "16", "--decay", "none",
                      "--eval-every", "3000", "-q"]
        let first = try CLI.run("rnn-fit", common + ["--precision", "bf16", "--steps", "10", "--checkpoint", dir.file("ck.gz"),
                                                     "-o", dir.file("a.gz")], stdin: .file(text))
        #expect(first.status == 0, "\(first)")
        // No --precision: the checkpoint's bf16 is taken, whatever this CPU's default.
        let resumed = try CLI.run("rnn-fit", common + ["--steps", "20", "--resume", dir.file("ck.gz"), "-o", dir.file("b.gz")],
                                  stdin: .file(text))
        #expect(resumed.status == 0, "\(resumed)")
        let straight = try CLI.run("rnn-fit", common + ["--precision", "bf16", "--steps", "20", "-o", dir.file("c.gz")],
                                   stdin: .file(text))
        let b = try Model.load(weightsFile: [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir.file("b.gz")))))
        let c = try Model.load(weightsFile: [UInt8](try Data(contentsOf: URL(fileURLWithPath: dir.file("c.gz")))))
        #expect(straight.status == 0 && b.info["precision"] == "bf16" && b.parameters == c.parameters)
        let refused = try CLI.run("rnn-fit", common + ["--precision", "fp32", "--steps", "20", "--resume", dir.file("ck.gz"),
                                                       "-o", dir.file("d.gz")], stdin: .file(text))
        #expect(refused.status == 1 && refused.errLines.count == 1 && refused.err.contains("precision"), "\(refused)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("d.gz")))
    }
}
