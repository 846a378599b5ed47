import Foundation

/// What `rnn-gen` was asked to do.
public struct GenerateRequest: Sendable {
    /// "-" reads the model from standard input.
    public var modelPath = "-"
    /// Characters to generate after the prime; 0 = no end.
    public var length = 1000
    public var sampling = SamplingOptions()
    public var seed: UInt64 = 1
    public var prime = ""

    public init() {}
}

/// Loads a weights file, reporting failures as `path: cause`.
public func loadModel(path: String) throws(ToolError) -> Model {
    do { return try Model.load(path: path) } catch {
        throw ToolError(subject: path == "-" ? "standard input" : path, cause: error.description)
    }
}

/// `rnn-gen`: streams sampled characters to stdout, each written as soon as it is drawn.
public func runGenerate(_ request: GenerateRequest) -> Int32 {
    let program = "rnn-gen"
    ignoreSIGPIPE()
    let out = CheckedOutput.standardOutput(autoFlush: true)
    do {
        let model = try loadModel(path: request.modelPath)
        var prime: [Int32] = []
        for s in request.prime.unicodeScalars {
            guard let i = model.vocabulary.index(of: s) else {
                throw ToolError(subject: "--prime", cause: "character \(describe(s)) is not in the model's vocabulary",
                                status: ExitStatus.usage)
            }
            prime.append(i)
        }
        let generator = Generator(model: model, options: request.sampling, seed: request.seed)
        generator.prime(prime)
        Interrupt.install()
        try out.write(request.prime)
        var made = 0
        var bytes: [UInt8] = []
        while request.length == 0 || made < request.length {
            if Interrupt.requested { return Interrupt.exitStatus }
            bytes.removeAll(keepingCapacity: true)
            appendUTF8(generator.nextCharacter(), to: &bytes)
            try out.write(bytes)
            made += 1
        }
        try out.flush()
        return ExitStatus.success
    } catch let error as OutputError {
        // a reader that went away (`| head`) is a normal end
        if error == .closedPipe { return ExitStatus.success }
        reportError(program: program, subject: "standard output", cause: error.description)
        return ExitStatus.failure
    } catch let error as ToolError {
        reportError(program: program, error)
        return error.status
    } catch {
        reportError(program: program, cause: "\(error)")
        return ExitStatus.failure
    }
}

/// A character named for a message: printable ones quoted, others by code point.
public func describe(_ s: Unicode.Scalar) -> String {
    let code = "U+" + String(format: "%04X", s.value)
    if s.properties.isWhitespace || s.properties.generalCategory == .control || s.value == 0 { return code }
    return "'\(Character(s))' (\(code))"
}
