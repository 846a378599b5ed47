#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
import RNNKernels
import RNNText
import RNNModel
import RNNFormat
import RNNInference
import RNNTraining
import RNNShell
import RNNTools

/// A fresh empty directory under /tmp.
private func makeTemporaryDirectory() -> String {
    var template = Array("/tmp/shelltest.XXXXXX".utf8CString)
    let p = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
    precondition(p != nil)
    return String(cString: template)
}

private func removeTree(_ path: String) {
    if let dir = opendir(path) {
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name == "." || name == ".." { continue }
            let child = path + "/" + name
            if unlink(child) != 0 { removeTree(child) }
        }
        closedir(dir)
    }
    rmdir(path)
}

private func entries(_ path: String) -> [String] {
    var names: [String] = []
    guard let dir = opendir(path) else { return [] }
    while let entry = readdir(dir) {
        let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
        if name != "." && name != ".." { names.append(name) }
    }
    closedir(dir)
    return names.sorted()
}

private func contents(_ path: String) -> [UInt8]? { try? readWholeFile(path: path, limit: 1 << 20) }

private func put(_ path: String, _ text: String) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    precondition(fd >= 0)
    _ = Array(text.utf8).withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
}

/// Everything readable from `fd` until end of file.
private func drain(_ fd: Int32) -> [UInt8] {
    var out: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n <= 0 { break }
        out += chunk[0..<n]
    }
    return out
}

@Suite struct ShellTests {
    // MARK: Output

    @Test func outputBuffersAndFlushes() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let out = CheckedOutput(fd: fds[1], bufferSize: 8)
        try out.write("abc")
        #expect(out.pendingCount == 3)
        try out.write([0x64, 0x65])
        try out.write(Unicode.Scalar("é"))
        try out.write("0123456789")  // larger than the buffer: flushes, then writes straight through
        #expect(out.pendingCount == 0)
        try out.write("z")
        try out.flush()
        close(fds[1])
        #expect(drain(fds[0]) == Array("abcdeé0123456789z".utf8))
        close(fds[0])
    }

    @Test func autoFlushWritesAtOnce() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        defer { close(fds[0]); close(fds[1]) }
        let out = CheckedOutput(fd: fds[1], autoFlush: true)
        try out.write(Unicode.Scalar("x"))
        #expect(out.pendingCount == 0)
        var byte: UInt8 = 0
        #expect(read(fds[0], &byte, 1) == 1)
        #expect(byte == 0x78)
    }

    @Test func closedPipeIsReported() throws {
        ignoreSIGPIPE()
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        close(fds[0])
        defer { close(fds[1]) }
        let out = CheckedOutput(fd: fds[1])
        try out.write("hello")
        #expect(throws: OutputError.closedPipe) { try out.flush() }
        // Sticky: later writes fail the same way without writing.
        #expect(throws: OutputError.closedPipe) { try out.write("more") }
        #expect(OutputError.closedPipe.description == "write error: Broken pipe")
    }

    @Test func fullDeviceIsReported() throws {
        let fd = open("/dev/full", O_WRONLY)
        try #require(fd >= 0)
        defer { close(fd) }
        let out = CheckedOutput(fd: fd)
        try out.write("hello")
        #expect(throws: OutputError.writeFailed(ENOSPC)) { try out.flush() }
        #expect(OutputError.writeFailed(ENOSPC).description == "write error: No space left on device")
    }

    @Test func closedDescriptorIsReported() {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        close(fds[0])
        close(fds[1])
        let out = CheckedOutput(fd: fds[1], autoFlush: true)
        #expect(throws: OutputError.writeFailed(EBADF)) { try out.write("x") }
    }

    // MARK: Diagnostics

    @Test func toolErrorDescription() {
        #expect(ToolError(subject: "model.rnn", cause: "No such file or directory").description
            == "model.rnn: No such file or directory")
        #expect(ToolError(cause: "no input").description == "no input")
        #expect(ToolError(cause: "x").status == ExitStatus.failure)
        #expect(ExitStatus.usage == 64 && ExitStatus.interrupted == 130 && ExitStatus.success == 0)
        #expect(systemErrorMessage(ENOENT) == "No such file or directory")
    }

    // MARK: Duration

    @Test func durationsParse() throws {
        let good: [(String, Double)] = [
            ("90", 90), ("0", 0), ("1.5", 1.5), ("90s", 90), ("1.5s", 1.5), ("500ms", 0.5), ("5m", 300),
            ("2h", 7200), ("1h30m", 5400), ("1m30s", 90), ("1d", 86_400), ("1d2h3m4s5ms", 93_784.005),
            ("0.25h", 900), ("36500d", 36_500 * 86_400),
        ]
        for (text, seconds) in good {
            let parsed = try parseDuration(text)
            #expect(abs(parsed - seconds) < 1e-9, "\(text)")
        }
    }

    @Test func badDurationsAreRejected() {
        let bad = ["", " ", "abc", "-5s", "-1", "+5s", "5 s", " 5s", "5s ", "5x", "s", "m5", "1.s", ".5s", "1..5s",
                   "1e3", "nan", "NaN", "inf", "infinity", "5S", "5M", "1h30", "30m1h", "1m1m", "1s500", "5ms3s",
                   "1h-30m", "0x10", "٣s"]
        for text in bad {
            #expect(throws: ToolError(cause: "invalid duration '\(text)' (use e.g. 90s, 5m, 1h30m)",
                                      status: ExitStatus.usage), "\(text)") { _ = try parseDuration(text) }
        }
        for text in ["36501d", "99999999999999999999h", String(repeating: "9", count: 400) + "s"] {
            #expect(throws: ToolError(cause: "duration '\(text)' is too long (at most 36500d)",
                                      status: ExitStatus.usage), "\(text)") { _ = try parseDuration(text) }
        }
    }

    @Test func durationsFormat() {
        let cases: [(Double, String)] = [
            (0, "0.0s"), (9.5, "9.5s"), (9.94, "9.9s"), (9.96, "10s"), (42.4, "42s"), (59.6, "1m00s"),
            (65, "1m05s"), (3599, "59m59s"), (3600, "1h00m"), (7380, "2h03m"), (7409, "2h03m"),
            (176_400, "49h00m"), (-3, "0.0s"), (.nan, "?"), (.infinity, "inf"),
        ]
        for (seconds, text) in cases { #expect(formatDuration(seconds) == text, "\(seconds)") }
    }

    // MARK: Signals

    @Test func firstInterruptSetsTheFlag() {
        Interrupt.install()
        Interrupt.resetForTesting()
        #expect(!Interrupt.requested)
        // The test runner's threads may block SIGINT, so raise(3) (aimed at this thread) could leave it
        // pending; a process-directed kill reaches whichever thread accepts it. Wait up to 2 s.
        var blocked = sigset_t()
        pthread_sigmask(SIG_SETMASK, nil, &blocked)
        if sigismember(&blocked, SIGINT) == 1 {
            kill(getpid(), SIGINT)
        } else {
            raise(SIGINT)
        }
        for _ in 0..<200 where !Interrupt.requested { usleep(10_000) }
        #expect(Interrupt.requested)
        #expect(Interrupt.signal == SIGINT)
        #expect(Interrupt.exitStatus == 130)
        Interrupt.resetForTesting()  // a real ^C during the rest of the run is again a first one
    }

    // MARK: AtomicFile

    @Test func atomicWriteCreatesAndReplaces() throws {
        let dir = makeTemporaryDirectory()
        defer { removeTree(dir) }
        let path = dir + "/model.rnn"
        try writeFileAtomically(path: path, bytes: Array("first".utf8))
        #expect(contents(path) == Array("first".utf8))
        try writeFileAtomically(path: path, bytes: Array("second, longer".utf8))
        #expect(contents(path) == Array("second, longer".utf8))
        try writeFileAtomically(path: path, bytes: [])
        #expect(contents(path) == [])
        #expect(entries(dir) == ["model.rnn"])
        var info = stat()
        #expect(stat(path, &info) == 0)
        let mask = umask(0o022); umask(mask)
        #expect(info.st_mode & 0o777 == 0o644 & ~mask)
    }

    @Test func atomicWriteInMissingDirectoryFails() {
        let dir = makeTemporaryDirectory()
        defer { removeTree(dir) }
        let path = dir + "/missing/model.rnn"
        #expect(throws: ToolError(subject: path, cause: "No such file or directory")) {
            try writeFileAtomically(path: path, bytes: [1, 2, 3])
        }
        #expect(entries(dir) == [])
    }

    @Test func atomicWriteUnderAFileFails() {
        let dir = makeTemporaryDirectory()
        defer { removeTree(dir) }
        put(dir + "/plain", "keep")
        let path = dir + "/plain/model.rnn"
        #expect(throws: ToolError(subject: path, cause: "Not a directory")) {
            try writeFileAtomically(path: path, bytes: [1, 2, 3])
        }
        #expect(entries(dir) == ["plain"])
        #expect(contents(dir + "/plain") == Array("keep".utf8))
    }

    @Test func atomicWriteOverADirectoryLeavesNoTemporary() {
        let dir = makeTemporaryDirectory()
        defer { removeTree(dir) }
        let path = dir + "/target"
        #expect(mkdir(path, 0o755) == 0)
        put(path + "/inside", "old")
        #expect(throws: ToolError.self) { try writeFileAtomically(path: path, bytes: [1, 2, 3]) }
        #expect(entries(dir) == ["target"])
        #expect(contents(path + "/inside") == Array("old".utf8))
    }

    @Test(.enabled(if: geteuid() != 0, "root ignores directory permissions"))
    func atomicWriteInReadOnlyDirectoryKeepsOldFile() throws {
        let dir = makeTemporaryDirectory()
        defer { chmod(dir, 0o755); removeTree(dir) }
        let path = dir + "/model.rnn"
        put(path, "old")
        #expect(chmod(dir, 0o555) == 0)
        #expect(throws: ToolError(subject: path, cause: "Permission denied")) {
            try writeFileAtomically(path: path, bytes: [1, 2, 3])
        }
        #expect(contents(path) == Array("old".utf8))
        #expect(entries(dir) == ["model.rnn"])
    }

    // MARK: InputFile

    @Test func readWholeFileWithinAndBeyondTheLimit() throws {
        let dir = makeTemporaryDirectory()
        defer { removeTree(dir) }
        let path = dir + "/text"
        put(path, "hello")
        #expect(try readWholeFile(path: path, limit: 5) == Array("hello".utf8))
        #expect(try readWholeFile(path: path, limit: 100) == Array("hello".utf8))
        #expect(throws: ToolError(subject: path, cause: "file is larger than the 4 bytes limit")) {
            _ = try readWholeFile(path: path, limit: 4)
        }
        let big = [UInt8](repeating: 0x61, count: (1 << 20) + 1)
        try writeFileAtomically(path: path, bytes: big)
        #expect(throws: ToolError(subject: path, cause: "file is larger than the 1 MiB limit")) {
            _ = try readWholeFile(path: path, limit: 1 << 20)
        }
        #expect(try readWholeFile(path: path, limit: 2 << 20) == big)
        // Large enough for huge pages (read straight into its buffer), every byte in place.
        let large = (0..<(3 << 20) + 5).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) }
        try writeFileAtomically(path: path, bytes: large)
        #expect(try readWholeFile(path: path, limit: 4 << 20) == large)
        #if os(Linux)
        // A file whose size stat does not tell (0 bytes said, more there) is read to its end all the same.
        let status = try readWholeFile(path: "/proc/self/status", limit: 1 << 20)
        #expect(status.count > 100 && String(decoding: status, as: UTF8.self).contains("Name:"))
        #endif
    }

    @Test func readWholeFileErrors() {
        #expect(throws: ToolError(subject: "/nonexistent/file", cause: "No such file or directory")) {
            _ = try readWholeFile(path: "/nonexistent/file", limit: 10)
        }
        #expect(throws: ToolError(subject: "/tmp", cause: "Is a directory")) {
            _ = try readWholeFile(path: "/tmp", limit: 10)
        }
    }

    // MARK: Terminal

    @Test func fittingLineCountsCharactersNotBytes() {
        #expect(fittingLine("abcdef", columns: 80) == "abcdef")
        #expect(fittingLine("abcdef", columns: 7) == "abcdef")
        #expect(fittingLine("abcdef", columns: 6) == "abcde")
        #expect(fittingLine("abcdef", columns: 3) == "ab")
        #expect(fittingLine("abcdef", columns: 1) == "")
        #expect(fittingLine("abcdef", columns: 0) == "")
        #expect(fittingLine("", columns: 10) == "")
        // 2- and 3-byte characters, and one of two scalars (e + combining acute), each count once
        #expect(fittingLine("café — naïve", columns: 7) == "café —")
        #expect(fittingLine("e\u{301}e\u{301}e\u{301}", columns: 3) == "e\u{301}e\u{301}")
        #expect(fittingLine("😀😀😀😀", columns: 4) == "😀😀😀")
    }

    @Test func terminalColumnsFallsBackTo80() {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        #expect(terminalColumns(fds[1]) == defaultTerminalColumns && defaultTerminalColumns == 80)
        close(fds[0])
        close(fds[1])
    }

    @Test func progressLineFitsTheTerminal() throws {
        let terminal = try PseudoTerminal()
        defer { terminal.closeBoth() }
        var size = winsize()
        size.ws_col = 20
        size.ws_row = 24
        #expect(ioctl(terminal.slave, UInt(TIOCSWINSZ), &size) == 0)
        #expect(terminalColumns(terminal.slave) == 20)
        var line = try #require(ProgressLine(fd: terminal.slave))
        line.update(String(repeating: "é", count: 50))
        // the pty's line discipline may turn \n into \r\n; only the redrawn text matters here
        let shown = String(decoding: terminal.pendingOutput(), as: UTF8.self)
        #expect(shown == "\r" + String(repeating: "é", count: 19) + "\u{1B}[K", "\(shown.debugDescription)")
    }

    @Test func progressLineRedrawsAndFinishes() {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        #expect(!isTerminal(fds[1]))
        #expect(ProgressLine(fd: fds[1]) == nil)
        var line = ProgressLine(unconditionalFD: fds[1])
        line.finish()  // nothing drawn: nothing written
        line.update("epoch 1")
        line.update("epoch 2\n")
        line.finish()
        close(fds[1])
        #expect(drain(fds[0]) == Array("\repoch 1\u{1B}[K\repoch 2\u{1B}[K\n".utf8))
        close(fds[0])
    }
}
