#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import RNNText

/// Replaces the file at `path` with `bytes` so that a reader (or a crash) sees either the old file or
/// the complete new one, never a mixture. A path that names a device, a pipe or a socket is written into
/// directly instead (there is no file to replace).
///
/// Creates a temporary `.name.XXXXXX` in the same directory (`mkstemp`), writes every byte (checked,
/// short writes looped, EINTR retried), sets mode 0644 less the umask, `fsync`s and closes it, renames
/// it over `path`, then `fsync`s the directory so the rename itself is durable. On any failure before
/// the rename the temporary is unlinked and the old file is left untouched. Nothing of the old file
/// (owner, mode, extended attributes) is preserved, and a symbolic link at `path` is replaced by a
/// regular file rather than followed.
///
/// The error has `path` as subject and the system's reason as cause ("Permission denied",
/// "No space left on device", "No such file or directory", "Is a directory").
public func writeFileAtomically(path: String, bytes: [UInt8]) throws(ToolError) {
    func failure(_ code: Int32) -> ToolError { ToolError(subject: path, cause: systemErrorMessage(code)) }

    // A device, pipe or socket (`-o /dev/null`, a FIFO, `/dev/stdout`) is written into, as gzip does: renaming
    // a temporary over it would replace the device node or the pipe with a regular file.
    var target = stat()
    if stat(path, &target) == 0 {
        let kind = target.st_mode & S_IFMT
        if kind != S_IFREG && kind != S_IFDIR {
            var fd: Int32
            repeat { fd = open(path, O_WRONLY | O_CLOEXEC) } while fd < 0 && errno == EINTR
            guard fd >= 0 else { throw failure(errno) }
            let code = bytes.withUnsafeBytes { writeAll(fd: fd, $0) }
            close(fd)
            if code != 0 { throw failure(code) }
            return
        }
    }

    let slash = path.lastIndex(of: "/")
    let directory = slash.map { String(path[...$0]) } ?? ""        // "" or ends with "/"
    let name = slash.map { String(path[path.index(after: $0)...]) } ?? path
    guard !name.isEmpty, name != ".", name != ".." else { throw failure(EISDIR) }

    var template = Array((directory + "." + name + ".XXXXXX").utf8CString)
    let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    guard fd >= 0 else { throw failure(errno) }
    let temporary = String(cString: template)
    Interrupt.setPendingTemporary(temporary)
    defer { Interrupt.setPendingTemporary(nil) }

    func abandon(_ code: Int32, closing: Bool) -> ToolError {
        if closing { close(fd) }
        unlink(temporary)
        return failure(code)
    }

    let code = bytes.withUnsafeBytes { writeAll(fd: fd, $0) }
    if code != 0 { throw abandon(code, closing: true) }

    let mask = umask(0o022)  // umask can only be read by setting it; put it straight back
    umask(mask)
    if fchmod(fd, 0o644 & ~mask) != 0 { throw abandon(errno, closing: true) }
    if fsync(fd) != 0 { throw abandon(errno, closing: true) }
    if close(fd) != 0 { throw abandon(errno, closing: false) }
    if rename(temporary, path) != 0 { throw abandon(errno, closing: false) }

    // The new file is in place; make the directory entry durable too. File systems that cannot
    // fsync a directory (EINVAL) are not an error.
    let directoryFD = open(directory.isEmpty ? "." : directory, O_RDONLY)
    if directoryFD >= 0 {
        let synced = fsync(directoryFD)
        let syncError = errno
        close(directoryFD)
        if synced != 0 && syncError != EINVAL && syncError != ENOTSUP {
            throw failure(syncError)
        }
    }
}
