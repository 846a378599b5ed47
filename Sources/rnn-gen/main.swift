import ArgumentParser
import Foundation
import RNNTools
import RNNShell
import RNNKernels
import RNNInference
import RNNStreamCLI

extension WeightFormat: ExpressibleByArgument {}

struct Gen: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rnn-gen",
        abstract: "Stream characters sampled from a trained model to standard output.",
        discussion: """
            MODEL is a weights file written by rnn-fit, or - for standard input. Each character is written as soon \
            as it is drawn; a reader closing the pipe ends generation quietly. See rnn-gen(1).
            """,
        version: rnnstreamVersion)

    @Argument(help: "The weights file (- for standard input).") var model: String
    @Option(name: [.customShort("n"), .customShort("l"), .customLong("length")], help: "Characters to generate after the prime (0: no end).") var length: Int = 1000
    @Option(parsing: .unconditional, help: "Sampling temperature (0: always the most likely character).") var temperature: Double = 1
    @Option(name: .customLong("top-k"), help: "Sample only from the K most likely characters (0: all).") var topK: Int = 0
    @Option(name: .customLong("top-p"), help: "Sample only from the most likely characters covering probability P (1: all).") var topP: Double = 1
    @Option(help: "Random seed (same model, seed and options give the same text).") var seed: UInt64 = 1
    @Option(help: "Text that starts the stream; echoed, then continued.") var prime: String = ""
    @Option(name: .customLong("prime-file"), help: "Read the prime from FILE (- for standard input) instead of --prime.") var primeFile: String?
    @Option(help: "Stop right after the generated text contains STRING.") var until: String?
    @Option(help: "Stop after generating N newlines (0: no limit).") var lines: Int = 0
    @Flag(help: "Print the model's metadata as JSON and exit.") var info = false
    @Option(help: "Hold the weights as fp32, fp16 or bf16 (widened to fp32 as they are used; see the man page).") var precision: WeightFormat = .defaultForInference
    @Option(help: "Threads for the matrix kernels (default: all cores, or RNNSTREAM_THREADS).") var threads: Int?

    func validate() throws {
        if length < 0 { throw ValidationError("--length: must not be negative") }
        if !(temperature >= 0 && temperature.isFinite) { throw ValidationError("--temperature: must be 0 or positive") }
        if topK < 0 { throw ValidationError("--top-k: must not be negative") }
        if !(topP > 0 && topP <= 1) { throw ValidationError("--top-p: must be in (0, 1]") }
        if lines < 0 { throw ValidationError("--lines: must not be negative") }
        if let until, until.isEmpty { throw ValidationError("--until: must not be empty") }
        if primeFile != nil && !prime.isEmpty { throw ValidationError("give --prime or --prime-file, not both") }
        if primeFile == "-" && model == "-" {
            throw ValidationError("the model and the prime cannot both come from standard input")
        }
        if let threads, !(1...256).contains(threads) { throw ValidationError("--threads: must be 1...256") }
    }

    func run() throws {
        if let threads { Threads.count = threads }
        var r = GenerateRequest()
        r.modelPath = model
        r.length = length
        r.sampling = SamplingOptions(temperature: temperature, topK: topK, topP: topP)
        r.seed = seed
        r.prime = prime
        r.primeFile = primeFile
        r.until = until
        r.lines = lines
        r.info = info
        r.precision = precision
        let status = runGenerate(r)
        if status != 0 { throw ExitCode(status) }
    }
}

Gen.mainReportingErrors(program: "rnn-gen")
