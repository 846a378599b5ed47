#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RNNText

/// Why output could not be written.
public enum OutputError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The reader went away (EPIPE). Tools treat this as a normal, quiet end with status 0
    /// (`head -c 100` closing the pipe is not an error). Needs `ignoreSIGPIPE()` first, or the
    /// process is killed by SIGPIPE before it sees EPIPE.
    case closedPipe
    /// Any other `write(2)` failure (ENOSPC on /dev/full, EBADF on a closed stdout, EIO, ...).
    case writeFailed(Int32)

    public var description: String {
        switch self {
        case .closedPipe: return "write error: \(systemErrorMessage(EPIPE))"
        case .writeFailed(let code): return "write error: \(systemErrorMessage(code))"
        }
    }

    init(errno code: Int32) { self = code == EPIPE ? .closedPipe : .writeFailed(code) }
}

/// Makes a write to a closed pipe fail with EPIPE instead of killing the process with SIGPIPE.
public func ignoreSIGPIPE() {
    signal(SIGPIPE, SIG_IGN)
}

/// Writes all of `bytes` to `fd`, looping over short writes and retrying EINTR.
/// Returns 0 on success, otherwise the errno of the failed `write(2)`.
func writeAll(fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Int32 {
    guard var p = bytes.baseAddress else { return 0 }
    var left = bytes.count
    while left > 0 {
        let n = write(fd, p, left)
        if n < 0 {
            if errno == EINTR { continue }
            return errno
        }
        if n == 0 { return EIO }  // cannot happen for a nonzero count; never loop forever
        p += n
        left -= n
    }
    return 0
}

/// Buffered output on a file descriptor in which every write is checked.
///
/// Bytes collect in an internal buffer that is written out when full, on `flush()`, and after every
/// write when `autoFlush` is on (for streaming generation: a reader sees each character at once).
/// Short writes are looped and EINTR retried. The first failure is sticky: the buffer is dropped and
/// that error is thrown again by every later write or flush. Nothing is flushed on deinit, so a tool
/// must call `flush()` before it exits (and report what it throws). The descriptor is not closed.
public final class CheckedOutput {
    public let fd: Int32
    /// Flush after every `write` call.
    public var autoFlush: Bool
    private var buffer: [UInt8]
    private let capacity: Int
    private var failure: OutputError?

    public init(fd: Int32, bufferSize: Int = 64 * 1024, autoFlush: Bool = false) {
        precondition(bufferSize > 0, "buffer size must be positive")
        self.fd = fd
        self.capacity = bufferSize
        self.autoFlush = autoFlush
        self.buffer = []
        buffer.reserveCapacity(bufferSize)
    }

    /// Standard output (fd 1).
    public static func standardOutput(autoFlush: Bool = false) -> CheckedOutput {
        CheckedOutput(fd: STDOUT_FILENO, autoFlush: autoFlush)
    }

    /// Bytes waiting in the buffer.
    public var pendingCount: Int { buffer.count }

    public func write(_ bytes: UnsafeRawBufferPointer) throws(OutputError) {
        if let failure { throw failure }
        if buffer.count + bytes.count > capacity { try flush() }
        if bytes.count >= capacity {
            try check(writeAll(fd: fd, bytes))
        } else {
            buffer.append(contentsOf: bytes)
        }
        if autoFlush { try flush() }
    }

    public func write(_ bytes: [UInt8]) throws(OutputError) {
        try bytes.withUnsafeBufferPointer { (buf) throws(OutputError) in try write(UnsafeRawBufferPointer(buf)) }
    }

    public func write(_ string: String) throws(OutputError) {
        if let failure { throw failure }
        let utf8 = string.utf8
        if buffer.count + utf8.count > capacity { try flush() }
        if utf8.count >= capacity {
            try write(Array(utf8))
            return
        }
        buffer.append(contentsOf: utf8)
        if autoFlush { try flush() }
    }

    public func write(_ scalar: Unicode.Scalar) throws(OutputError) {
        if let failure { throw failure }
        if buffer.count + 4 > capacity { try flush() }
        appendUTF8(scalar, to: &buffer)
        if autoFlush { try flush() }
    }

    /// Writes out everything buffered.
    public func flush() throws(OutputError) {
        if let failure { throw failure }
        guard !buffer.isEmpty else { return }
        let code = buffer.withUnsafeBytes { writeAll(fd: fd, $0) }
        buffer.removeAll(keepingCapacity: true)
        try check(code)
    }

    private func check(_ code: Int32) throws(OutputError) {
        guard code != 0 else { return }
        let error = OutputError(errno: code)
        failure = error
        buffer.removeAll(keepingCapacity: false)
        throw error
    }
}
