import Foundation
import RNNTraining
import RNNInference
import RNNFormat
import RNNModel
import RNNKernels
import RNNText
import RNNShell

/// What `rnn-gen` was asked to do.
public struct GenerateRequest: Sendable {
    /// "-" reads the model from standard input.
    public var modelPath = "-"
    /// Characters to generate after the prime; 0 = no end.
    public var length = 1000
    public var sampling = SamplingOptions()
    public var seed: UInt64 = 1
    public var prime = ""
    /// A file whose text is the prime ("-": standard input); used instead of `prime` when set.
    public var primeFile: String? = nil
    /// Stop right after this text has been generated (nil: no such stop).
    public var until: String? = nil
    /// Stop after this many generated newlines (0: no such stop).
    public var lines = 0
    /// Print the model's metadata and stop.
    public var info = false
    /// `--precision`: the format the weights are held in while generating.
    public var precision: WeightFormat = .defaultForInference

    public init() {}
}

/// Loads a weights file (`"-"`: standard input, at most `weightsFileMemoryLimit` bytes), reporting failures as
/// `path: cause`.
public func loadModel(path: String, standardInput: Int32 = STDIN_FILENO) throws(ToolError) -> Model {
    let bytes = try readWholeFile(path: path, limit: weightsFileMemoryLimit, standardInput: standardInput)
    do { return try Model.load(weightsFile: bytes) } catch {
        throw ToolError(subject: path == "-" ? "standard input" : path, cause: error.description)
    }
}

/// `rnn-gen`: streams sampled characters to stdout, each written as soon as it is drawn.
public func runGenerate(_ request: GenerateRequest, streams io: ToolStreams = .standard) -> Int32 {
    let program = "rnn-gen"
    ignoreSIGPIPE()
    reserveStandardDescriptors()
    let out = CheckedOutput(fd: io.output, autoFlush: true)
    do {
        let model = try loadModel(path: request.modelPath, standardInput: io.input)
        if request.info { return try writeModelInfo(model, path: request.modelPath, precision: request.precision, to: out) }
        var primeText = request.prime
        var primeSubject = "--prime", primeStatus = ExitStatus.usage
        if let path = request.primeFile {
            primeSubject = path == "-" ? "standard input" : path
            primeStatus = ExitStatus.failure
            let bytes = try readWholeFile(path: path, limit: maxPrimeBytes, standardInput: io.input)
            do {
                var view = String.UnicodeScalarView()
                view.append(contentsOf: try UTF8Reader.decode(bytes))
                primeText = String(view)
            } catch {
                throw ToolError(subject: primeSubject, cause: error.description)
            }
        }
        var prime: [Int32] = []
        for (offset, s) in primeText.unicodeScalars.enumerated() {
            guard let i = model.vocabulary.index(of: s) else {
                throw ToolError(subject: primeSubject,
                                cause: "character \(describe(s)) at offset \(offset) is not in the model's vocabulary",
                                status: primeStatus)
            }
            prime.append(i)
        }
        let generator = Generator(model: model, options: request.sampling, seed: request.seed, weights: request.precision)
        generator.prime(prime)
        Interrupt.install()
        try out.write(primeText)
        var made = 0, newlines = 0
        var bytes: [UInt8] = []
        var stop = StopText(request.until ?? "")
        while request.length == 0 || made < request.length {
            if Interrupt.requested { return Interrupt.exitStatus }
            let s = generator.nextCharacter()
            bytes.removeAll(keepingCapacity: true)
            appendUTF8(s, to: &bytes)
            try out.write(bytes)
            made += 1
            if s == "\n" {
                newlines += 1
                if request.lines > 0 && newlines >= request.lines { break }
            }
            if stop.matches(after: s) { break }
        }
        try out.flush()
        return ExitStatus.success
    } catch {
        return exitStatus(program: program, after: error, closedPipeStatus: ExitStatus.success, fd: io.error)
    }
}

/// The largest prime file read (64 MiB): the whole prime is held in memory.
public let maxPrimeBytes = 64 << 20

/// Recognises the end of a stop text in a stream of characters (the last `text.count` seen, compared).
struct StopText {
    let text: [Unicode.Scalar]
    private var recent: [Unicode.Scalar] = []

    init(_ s: String) { text = Array(s.unicodeScalars) }

    /// True right after the characters seen so far end with the text (never for an empty text).
    mutating func matches(after s: Unicode.Scalar) -> Bool {
        guard !text.isEmpty else { return false }
        recent.append(s)
        if recent.count > text.count { recent.removeFirst(recent.count - text.count) }
        return recent == text
    }
}

/// A character named for a message: printable ones quoted, others by code point.
public func describe(_ s: Unicode.Scalar) -> String {
    let code = "U+" + String(format: "%04X", s.value)
    if s.properties.isWhitespace || s.properties.generalCategory == .control || s.value == 0 { return code }
    return "'\(Character(s))' (\(code))"
}
