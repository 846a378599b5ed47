#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whether `fd` is a terminal.
public func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

/// A single status line redrawn in place on a terminal: each `update` writes `\r`, the text and
/// clear-to-end-of-line (`ESC [ K`); `finish()` ends the line with a newline. It exists only when the
/// descriptor (stderr by default) is a terminal; otherwise the caller logs plain lines instead.
/// Written through `writeDiagnostic`: write errors are ignored (it is a courtesy display on stderr). Keep the text shorter than the
/// terminal is wide, or the terminal wraps it and the redraw leaves the wrapped part behind.
public struct ProgressLine {
    public let fd: Int32
    private var drawn = false

    /// Nil when `fd` is not a terminal.
    public init?(fd: Int32 = STDERR_FILENO) {
        guard isTerminal(fd) else { return nil }
        self.fd = fd
    }

    /// Any descriptor, terminal or not (tests).
    init(unconditionalFD fd: Int32) { self.fd = fd }

    /// Replaces the line's text.
    public mutating func update(_ text: String) {
        var bytes: [UInt8] = [0x0D]
        for s in text.unicodeScalars where s != "\n" && s != "\r" { appendUTF8(s, to: &bytes) }
        bytes += [0x1B, 0x5B, 0x4B]  // ESC [ K
        writeDiagnostic(bytes, fd: fd)
        drawn = true
    }

    /// Ends the line (a newline, if anything was drawn) so that later output starts on a fresh line.
    public mutating func finish() {
        guard drawn else { return }
        writeDiagnostic([0x0A], fd: fd)
        drawn = false
    }
}
