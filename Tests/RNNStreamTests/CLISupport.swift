// Running the built rnn-fit, rnn-gen and rnn-score from the CLI tests: finding the binaries, feeding
// stdin, capturing stdout, stderr and the exit status, and a timeout so that a hang fails the test.
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing

/// A failure of the harness itself (a tool not built, a process that hung), thrown so the test fails
/// with this message.
struct CLIError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Waits until `condition` holds, checking every 10 ms; throws when it still does not after `timeout`
/// seconds (a hang fails the test instead of stalling the suite). No test sleeps for a guessed time.
func waitUntil(_ what: String, timeout: Double = 60, _ condition: () -> Bool) throws {
    let deadline = DispatchTime.now() + timeout
    while !condition() {
        if DispatchTime.now() >= deadline { throw CLIError("timed out after \(timeout) s waiting until \(what)") }
        usleep(10_000)
    }
}

/// What to hand `Process` for an output, and the pipe to drain when it is captured.
private func attach(_ output: ToolOutput) -> (handle: Any, pipe: Pipe?) {
    switch output {
    case .capture:
        let pipe = Pipe()
        return (pipe, pipe)
    case .handle(let handle):
        return (handle, nil)
    }
}

/// What a tool's standard input is.
enum ToolInput {
    /// /dev/null.
    case none
    /// These bytes (from an unlinked temporary file, so any size works and nothing can block).
    case data(Data)
    /// This file.
    case file(String)
}

/// Where a tool's standard output (or standard error) goes.
enum ToolOutput {
    /// A pipe read to its end; the bytes are in `ToolRun.stdout` (`ToolRun.stderr`).
    case capture
    /// An open descriptor (a pseudo-terminal, /dev/full, a pipe the test reads itself). The caller
    /// owns and closes it.
    case handle(FileHandle)
}

/// How one run of a tool ended.
struct ToolRun: CustomStringConvertible {
    var command: String
    /// The exit status, or the signal number when `signaled`.
    var status: Int32
    var signaled: Bool
    var stdout: Data
    var stderr: Data
    var seconds: Double

    var out: String { String(decoding: stdout, as: UTF8.self) }
    var err: String { String(decoding: stderr, as: UTF8.self) }
    /// The lines of stdout, without their newlines (a last unterminated line included).
    var outLines: [String] { lines(out) }
    var errLines: [String] { lines(err) }

    var description: String {
        "`\(command)` → \(signaled ? "signal" : "status") \(status) in \(String(format: "%.1f", seconds)) s, "
            + "stdout \(stdout.count) bytes, stderr: \(err.debugDescription)"
    }

    private func lines(_ s: String) -> [String] {
        var parts = s.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if parts.last == "" { parts.removeLast() }
        return parts
    }
}

/// A tool that has been started and not yet waited for.
final class RunningTool {
    let process: Process
    let command: String
    private let started = Date()
    private let exited = DispatchSemaphore(value: 0)
    private let readers = DispatchGroup()
    private let lock = NSLock()
    private var outData = Data(), errData = Data()

    init(process: Process, command: String, stdout: Pipe?, stderr: Pipe?) throws {
        self.process = process
        self.command = command
        process.terminationHandler = { [exited] _ in exited.signal() }
        do { try process.run() } catch { throw CLIError("cannot start `\(command)`: \(error)") }
        // Drain both pipes at once, so that a tool filling one of them never blocks on it.
        if let stdout { drain(stdout) { d in self.outData = d } }
        if let stderr { drain(stderr) { d in self.errData = d } }
    }

    private func drain(_ pipe: Pipe, into store: @escaping (Data) -> Void) {
        readers.enter()
        DispatchQueue.global().async {
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            self.lock.lock()
            store(data)
            self.lock.unlock()
            self.readers.leave()
        }
    }

    /// Waits for the exit. A tool still running after `timeout` seconds is killed and the wait throws.
    func wait(timeout: Double) throws -> ToolRun {
        if exited.wait(timeout: .now() + timeout) == .timedOut {
            kill(process.processIdentifier, SIGKILL)
            _ = exited.wait(timeout: .now() + 10)
            _ = readers.wait(timeout: .now() + 10)
            lock.lock(); defer { lock.unlock() }
            throw CLIError("`\(command)` did not finish within \(timeout) s and was killed; stderr: "
                           + String(decoding: errData, as: UTF8.self).debugDescription)
        }
        if readers.wait(timeout: .now() + 10) == .timedOut {
            throw CLIError("`\(command)` exited but its stdout or stderr stayed open")
        }
        lock.lock(); defer { lock.unlock() }
        return ToolRun(command: command, status: process.terminationStatus,
                       signaled: process.terminationReason == .uncaughtSignal, stdout: outData, stderr: errData,
                       seconds: Date().timeIntervalSince(started))
    }
}

enum CLI {
    /// The package root: this file is `Tests/RNNStreamTests/CLISupport.swift` under it.
    static let packageRoot: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    /// The built tool: `.build/release/NAME`, else `.build/debug/NAME`. Throws (fails the test) when
    /// neither exists: these tests are meant to run after `swift build -c release`.
    static func binary(_ name: String) throws -> String {
        for configuration in ["release", "debug"] {
            let path = packageRoot + "/.build/" + configuration + "/" + name
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        throw CLIError("\(name) is not built: neither .build/release/\(name) nor .build/debug/\(name) exists under "
                       + "\(packageRoot); run `swift build -c release` (the Makefile's test target does) before the tests")
    }

    /// Starts `name` (rnn-fit, rnn-gen, rnn-score, or an absolute path) with `arguments`. The environment is this process's
    /// with RNNSTREAM_THREADS=1 unless `environment` says otherwise, so that runs stay light.
    static func start(_ name: String, _ arguments: [String], stdin: ToolInput = .none, stdout: ToolOutput = .capture,
                      stderr: ToolOutput = .capture, environment: [String: String] = [:]) throws -> RunningTool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: name.hasPrefix("/") ? name : try binary(name))
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        env["RNNSTREAM_THREADS"] = "1"
        env.merge(environment) { _, new in new }
        process.environment = env

        switch stdin {
        case .none:
            process.standardInput = FileHandle(forReadingAtPath: "/dev/null")
        case .file(let path):
            guard let handle = FileHandle(forReadingAtPath: path) else { throw CLIError("cannot open \(path)") }
            process.standardInput = handle
        case .data(let data):
            let path = temporaryRoot + "/rnnstream-stdin-" + UUID().uuidString
            guard FileManager.default.createFile(atPath: path, contents: data),
                  let handle = FileHandle(forReadingAtPath: path) else { throw CLIError("cannot write \(path)") }
            unlink(path)  // the open handle keeps the bytes
            process.standardInput = handle
        }
        let (outHandle, outPipe) = attach(stdout), (errHandle, errPipe) = attach(stderr)
        process.standardOutput = outHandle
        process.standardError = errHandle
        let command = ([name] + arguments).map { $0.contains(" ") || $0.isEmpty ? "'\($0)'" : $0 }.joined(separator: " ")
        return try RunningTool(process: process, command: command, stdout: outPipe, stderr: errPipe)
    }

    /// Runs `name` to its end (at most `timeout` seconds).
    static func run(_ name: String, _ arguments: [String], stdin: ToolInput = .none, stdout: ToolOutput = .capture,
                    stderr: ToolOutput = .capture, environment: [String: String] = [:], timeout: Double = 60) throws -> ToolRun {
        try start(name, arguments, stdin: stdin, stdout: stdout, stderr: stderr, environment: environment).wait(timeout: timeout)
    }

    /// `rnn-fit` flags for a training run that takes well under a second.
    static let tinyFit = ["--hidden", "16", "--layers", "1", "--steps", "30", "-q"]
}

/// The temporary directory, without a trailing slash.
let temporaryRoot: String = {
    var path = NSTemporaryDirectory()
    while path.count > 1 && path.hasSuffix("/") { path.removeLast() }
    return path
}()

/// A fresh directory under the temporary directory, removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init() throws {
        var template = Array((temporaryRoot + "/rnnstream-cli.XXXXXX").utf8CString)
        guard let p = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw CLIError("mkdtemp: \(String(cString: strerror(errno)))")
        }
        path = String(cString: p)
    }

    /// `name` inside the directory.
    func file(_ name: String) -> String { path + "/" + name }

    /// Writes `data` to `name` and returns its path.
    @discardableResult
    func write(_ name: String, _ data: Data) throws -> String {
        let p = file(name)
        try data.write(to: URL(fileURLWithPath: p))
        return p
    }

    @discardableResult
    func write(_ name: String, _ text: String) throws -> String { try write(name, Data(text.utf8)) }

    func contents() -> [String] { ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).sorted() }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// Test text: English sentences (a few with non-ASCII letters and punctuation), repeated and cut to
/// exactly `scalars` Unicode scalars.
func englishText(scalars count: Int) -> String {
    let sentences = [
        "The quick brown fox jumps over the lazy dog. ",
        "A small model learns to spell the words it sees most often. ",
        "She sold sea shells by the sea shore, and the shells she sold were surely sea shells. ",
        "The café on the corner serves a naïve but honest coffee — strong and hot. ",
        "Rain in the morning, sun in the afternoon, and a quiet evening by the fire.\n",
        "How many characters does it take to learn the shape of a sentence? ",
        "Every line ends, every paragraph closes, and the story goes on.\n",
    ]
    // count as we go: UnicodeScalarView.count walks the whole string
    var out = String.UnicodeScalarView()
    var n = 0, i = 0
    while n < count {
        for s in sentences[i % sentences.count].unicodeScalars where n < count {
            out.append(s)
            n += 1
        }
        i += 1
    }
    return String(out)
}

/// Checks that `run` failed the Unix way: the exit status `status`, exactly one line on stderr of the
/// form `program: subject: cause` (containing `mentioning` when given), and nothing on stdout.
func expectOneLineError(_ run: ToolRun, status: Int32, mentioning: String? = nil,
                        sourceLocation: SourceLocation = #_sourceLocation) {
    #expect(!run.signaled && run.status == status, "\(run)", sourceLocation: sourceLocation)
    let shape = try! Regex(#"rnn-(fit|gen|score): [^\n]+: [^\n]+\n"#)
    #expect(run.err.wholeMatch(of: shape) != nil, "stderr is not one `program: subject: cause` line: \(run)",
            sourceLocation: sourceLocation)
    if let mentioning {
        #expect(run.err.contains(mentioning), "stderr does not mention \(mentioning.debugDescription): \(run)",
                sourceLocation: sourceLocation)
    }
    #expect(run.stdout.isEmpty, "stdout is not empty (\(run.stdout.count) bytes): \(run)", sourceLocation: sourceLocation)
}

/// A pseudo-terminal pair from posix_openpt, grantpt, unlockpt and ptsname. Swift's Glibc module leaves
/// those out (they need _XOPEN_SOURCE), so they are looked up in the C library at run time.
struct PseudoTerminal {
    /// The controlling side: what the terminal would display is read here.
    let master: Int32
    /// The terminal itself, to hand to a process as its stdout.
    let slave: Int32

    init() throws {
        typealias OpenPT = @convention(c) (Int32) -> Int32
        typealias PTCall = @convention(c) (Int32) -> Int32
        typealias PTSName = @convention(c) (Int32) -> UnsafeMutablePointer<CChar>?
        func symbol<T>(_ name: String, as type: T.Type) throws -> T {
            guard let library = dlopen(nil, RTLD_NOW), let p = dlsym(library, name) else {
                throw CLIError("\(name) is not in the C library")
            }
            return unsafeBitCast(p, to: type)
        }
        let posixOpenPT = try symbol("posix_openpt", as: OpenPT.self)
        let grantPT = try symbol("grantpt", as: PTCall.self)
        let unlockPT = try symbol("unlockpt", as: PTCall.self)
        let ptsName = try symbol("ptsname", as: PTSName.self)

        master = posixOpenPT(O_RDWR | O_NOCTTY)
        guard master >= 0 else { throw CLIError("posix_openpt: \(String(cString: strerror(errno)))") }
        guard grantPT(master) == 0, unlockPT(master) == 0, let name = ptsName(master).map({ String(cString: $0) }) else {
            let cause = String(cString: strerror(errno))
            close(master)
            throw CLIError("grantpt/unlockpt/ptsname: \(cause)")
        }
        slave = open(name, O_RDWR | O_NOCTTY)
        guard slave >= 0 else {
            let cause = String(cString: strerror(errno))
            close(master)
            throw CLIError("open \(name): \(cause)")
        }
    }

    /// Bytes waiting on the master, without blocking (the slave must still be open).
    func pendingOutput() -> [UInt8] {
        _ = fcntl(master, F_SETFL, fcntl(master, F_GETFL) | O_NONBLOCK)
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(master, $0.baseAddress, $0.count) }
            if n <= 0 { break }
            out += buffer[0..<n]
        }
        return out
    }

    func closeBoth() {
        close(slave)
        close(master)
    }
}
