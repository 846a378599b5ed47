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

/// The one writer of everything the tools say on stderr: error lines, notices, samples and the progress
/// line. Each call is one unbuffered `write(2)` loop (short writes looped, EINTR retried); a failure
/// (EPIPE from a closed pipe, ENOSPC on /dev/full, EBADF on a closed descriptor, EIO) is ignored: there is
/// nowhere left to report it, and a closed or full stderr must never cost the product. A tool that writes
/// here calls `ignoreSIGPIPE()` first, so that a closed pipe is an EPIPE and not a SIGPIPE.
/// `fd` is stderr except in tests.
public func writeDiagnostic(_ bytes: [UInt8], fd: Int32 = STDERR_FILENO) {
    _ = bytes.withUnsafeBytes { writeAll(fd: fd, $0) }
}

/// `text` as UTF-8, through `writeDiagnostic`.
public func writeDiagnostic(_ text: String, fd: Int32 = STDERR_FILENO) {
    writeDiagnostic(Array(text.utf8), fd: fd)
}

/// Puts a placeholder on each of the descriptors 0, 1 and 2 that is closed (`2>&-`), so that no file the tool
/// opens later (the log, the temporary of an atomic write) gets one of their numbers and receives what is
/// written to stdout or stderr. The placeholder is /dev/null opened the wrong way round (write-only for
/// stdin, read-only for stdout and stderr), so using it still fails with EBADF as the closed descriptor did.
public func reserveStandardDescriptors() {
    for fd in [STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO] where fcntl(fd, F_GETFD) == -1 && errno == EBADF {
        // open takes the lowest free number, which is `fd` since the lower ones are open by now
        let placeholder = open("/dev/null", fd == STDIN_FILENO ? O_WRONLY : O_RDONLY)
        if placeholder >= 0 && placeholder != fd { close(placeholder) }
    }
}

/// Writes exactly one line `program: subject: cause` (or `program: cause`) to stderr in a single
/// `writeDiagnostic` call. Newlines inside the parts are shown as `\n` so the report stays one line.
public func reportError(program: String, subject: String? = nil, cause: String, fd: Int32 = STDERR_FILENO) {
    func oneLine(_ s: String) -> String {
        s.unicodeScalars.contains(where: { $0 == "\n" || $0 == "\r" }) ? s.replacingNewlines() : s
    }
    var line = oneLine(program) + ": "
    if let subject { line += oneLine(subject) + ": " }
    line += oneLine(cause) + "\n"
    writeDiagnostic(line, fd: fd)
}

/// Reports a `ToolError` on stderr (or `fd`) as one line.
public func reportError(program: String, _ error: ToolError, fd: Int32 = STDERR_FILENO) {
    reportError(program: program, subject: error.subject, cause: error.cause, fd: fd)
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
public func exitStatus(program: String, after error: any Error, closedPipeStatus: Int32,
                       fd: Int32 = STDERR_FILENO) -> Int32 {
    switch error {
    case let error as OutputError:
        if error == .closedPipe { return closedPipeStatus }
        reportError(program: program, subject: "standard output", cause: error.description, fd: fd)
        return ExitStatus.failure
    case let error as ToolError:
        reportError(program: program, error, fd: fd)
        return error.status
    default:
        reportError(program: program, cause: "\(error)", fd: fd)
        return ExitStatus.failure
    }
}

/// The descriptors a tool reads its text from and writes its product and its messages to: the process's
/// standard ones, or (tests running a tool in-process) any others. A file operand "-" means `input`.
public struct ToolStreams: Sendable {
    public var input: Int32
    public var output: Int32
    public var error: Int32

    public init(input: Int32 = STDIN_FILENO, output: Int32 = STDOUT_FILENO, error: Int32 = STDERR_FILENO) {
        self.input = input
        self.output = output
        self.error = error
    }

    public static let standard = ToolStreams()
}
