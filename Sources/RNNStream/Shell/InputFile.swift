#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RNNKernels
import RNNText

/// Reads a whole file into memory; "-" means standard input, or `standardInput` (read to its end, not closed).
///
/// Reads at most `limit + 1` bytes: a file with more than `limit` bytes fails with
/// "file is larger than the N MiB limit" rather than exhausting memory. Errors have the path (or
/// "standard input") as subject and the system's reason as cause ("No such file or directory",
/// "Is a directory", "Permission denied").
public func readWholeFile(path: String, limit: Int, standardInput: Int32 = STDIN_FILENO) throws(ToolError) -> [UInt8] {
    precondition(limit >= 0, "limit must not be negative")
    let subject = path == "-" ? "standard input" : path
    var fd = standardInput
    if path != "-" {
        repeat {
            fd = open(path, O_RDONLY | O_CLOEXEC)
        } while fd < 0 && errno == EINTR
        guard fd >= 0 else { throw ToolError(subject: subject, cause: systemErrorMessage(errno)) }
    }
    defer { if path != "-" { close(fd) } }

    // A regular file's size is a good first guess for the buffer; pipes start small and grow.
    var info = stat()
    let regular = fstat(fd, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
    let expected = regular ? Int(info.st_size) + 1 : 64 * 1024
    let cap = limit == Int.max ? limit : limit + 1
    var bytes = [UInt8]()
    var atEnd = false
    if regular {
        // A regular file is read straight into a buffer of its size (plus one byte, to see the end), with no
        // chunk copied; the loop below takes over only if the file grew meanwhile.
        let capacity = min(expected, cap)
        var failure: Int32 = 0
        bytes = [UInt8](unsafeUninitializedCapacity: capacity) { buffer, count in
            count = 0
            guard let base = buffer.baseAddress else { return }
            adviseHugePages(base, byteCount: capacity)
            while count < capacity {
                let n = read(fd, base + count, capacity - count)
                if n < 0 {
                    if errno == EINTR { continue }
                    failure = errno
                    return
                }
                if n == 0 {
                    atEnd = true
                    return
                }
                count += n
            }
        }
        if failure != 0 { throw ToolError(subject: subject, cause: systemErrorMessage(failure)) }
    } else {
        bytes.reserveCapacity(min(expected, cap))
    }
    var chunk = [UInt8](repeating: 0, count: atEnd ? 0 : 64 * 1024)
    while !atEnd && bytes.count < cap {
        let want = min(chunk.count, cap - bytes.count)
        var n: Int
        repeat {
            n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, want) }
        } while n < 0 && errno == EINTR
        if n < 0 { throw ToolError(subject: subject, cause: systemErrorMessage(errno)) }
        if n == 0 { break }
        bytes.append(contentsOf: chunk[0..<n])
    }
    if bytes.count > limit {
        throw ToolError(subject: subject, cause: "file is larger than the \(describeSize(limit)) limit")
    }
    return bytes
}

/// "32 MiB" for whole mebibytes, otherwise "1500 bytes".
func describeSize(_ bytes: Int) -> String {
    let mib = 1 << 20
    if bytes >= mib && bytes % mib == 0 { return "\(bytes / mib) MiB" }
    return bytes == 1 ? "1 byte" : "\(bytes) bytes"
}
