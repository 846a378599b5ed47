#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RNNText

/// Whether `fd` is a terminal.
public func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

/// The width assumed when the terminal does not say (not a terminal, or a zero width).
public let defaultTerminalColumns = 80

/// The width of the terminal on `fd` in columns (`TIOCGWINSZ`), or `defaultTerminalColumns`.
public func terminalColumns(_ fd: Int32 = STDERR_FILENO) -> Int {
    var size = winsize()
    guard ioctl(fd, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return defaultTerminalColumns }
    return Int(size.ws_col)
}

/// `text` cut to at most `columns - 1` characters (Swift `Character`s, not bytes), so that it never reaches
/// the last column: a line that fills it makes some terminals wrap, and the next redraw then starts on
/// the wrong line. One column or fewer leaves room for nothing.
public func fittingLine(_ text: String, columns: Int) -> String {
    let room = max(columns - 1, 0)
    var n = 0
    for i in text.indices {
        if n == room { return String(text[..<i]) }
        n += 1
    }
    return text
}

/// A single status line redrawn in place on a terminal: each `update` writes `\r`, the text and
/// clear-to-end-of-line (`ESC [ K`); `finish()` ends the line with a newline. It exists only when the
/// descriptor (stderr by default) is a terminal; otherwise the caller logs plain lines instead.
/// The text is cut to the terminal's width, asked again at every update (the window may be resized), so
/// that it never wraps. Written through `writeDiagnostic`: write errors are ignored.
public struct ProgressLine {
    public let fd: Int32
    private var drawn = false

    /// Nil when `fd` is not a terminal.
    public init?(fd: Int32 = STDERR_FILENO) {
        guard isTerminal(fd) else { return nil }
        self.fd = fd
    }

    /// Any descriptor, terminal or not (tests).
    package init(unconditionalFD fd: Int32) { self.fd = fd }

    /// Replaces the line's text.
    public mutating func update(_ text: String) {
        var flat = String.UnicodeScalarView()
        for s in text.unicodeScalars where s != "\n" && s != "\r" { flat.append(s) }
        var bytes: [UInt8] = [0x0D]
        bytes += Array(fittingLine(String(flat), columns: terminalColumns(fd)).utf8)
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
