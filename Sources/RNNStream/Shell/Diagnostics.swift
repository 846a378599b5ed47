#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RNNText

/// Exit statuses shared by the tools.
public enum ExitStatus {
    public static let success: Int32 = 0
    public static let failure: Int32 = 1
    /// Bad command line (sysexits EX_USAGE).
    public static let usage: Int32 = 64
    /// Stopped by SIGINT (128 + 2).
    public static let interrupted: Int32 = 130
}

/// A failure a tool reports as `program: subject: cause` and then exits with `status`.
public struct ToolError: Error, Equatable, Sendable, CustomStringConvertible {
    /// What the failure is about: a file name, an option such as `--temperature`; nil for none.
    public var subject: String?
    /// What went wrong, e.g. "No such file or directory".
    public var cause: String
    public var status: Int32

    public init(subject: String? = nil, cause: String, status: Int32 = ExitStatus.failure) {
        self.subject = subject
        self.cause = cause
        self.status = status
    }

    /// `subject: cause`, or just `cause`.
    public var description: String {
        if let subject { return "\(subject): \(cause)" }
        return cause
    }
}

/// The text of an errno value, e.g. "No such file or directory".
public func systemErrorMessage(_ code: Int32) -> String {
    String(cString: strerror(code))
}

/// Writes exactly one line `program: subject: cause` (or `program: cause`) to stderr, unbuffered, in
/// a single checked write. Newlines inside the parts are shown as `\n` so the report stays one line.
/// A failure to write to stderr is ignored: there is nowhere left to report it.
public func reportError(program: String, subject: String? = nil, cause: String) {
    func oneLine(_ s: String) -> String {
        s.unicodeScalars.contains(where: { $0 == "\n" || $0 == "\r" }) ? s.replacingNewlines() : s
    }
    var line = oneLine(program) + ": "
    if let subject { line += oneLine(subject) + ": " }
    line += oneLine(cause) + "\n"
    let bytes = Array(line.utf8)
    _ = bytes.withUnsafeBytes { writeAll(fd: STDERR_FILENO, $0) }
}

/// Reports a `ToolError` on stderr as one line.
public func reportError(program: String, _ error: ToolError) {
    reportError(program: program, subject: error.subject, cause: error.cause)
}

/// Reports `error` and exits with its status. Buffered output (a `CheckedOutput`) is not flushed.
public func die(program: String, _ error: ToolError) -> Never {
    reportError(program: program, error)
    exit(error.status)
}

extension String {
    fileprivate func replacingNewlines() -> String {
        var out = ""
        for s in unicodeScalars {
            switch s {
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            default: out.unicodeScalars.append(s)
            }
        }
        return out
    }
}

/// What a tool does with an error that ended its run: one line on stderr and the exit status. A reader that
/// went away (EPIPE on standard output, `| head`) is a normal end, with `closedPipeStatus`.
public func exitStatus(program: String, after error: any Error, closedPipeStatus: Int32) -> Int32 {
    switch error {
    case let error as OutputError:
        if error == .closedPipe { return closedPipeStatus }
        reportError(program: program, subject: "standard output", cause: error.description)
        return ExitStatus.failure
    case let error as ToolError:
        reportError(program: program, error)
        return error.status
    default:
        reportError(program: program, cause: "\(error)")
        return ExitStatus.failure
    }
}
