#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
#if os(Linux)
import Synchronization
#endif
import RNNText

/// Graceful interruption by SIGINT / SIGTERM.
///
/// After `install()`, the first SIGINT or SIGTERM only sets a flag: `requested` becomes true and
/// `signal` tells which one arrived. Long-running loops poll `requested` and stop cleanly (rnn-fit
/// saves its checkpoint, rnn-gen flushes what it generated) and the tool then exits with
/// 128 + `signal` (`ExitStatus.interrupted` for SIGINT). A second SIGINT or SIGTERM while the first is
/// pending ends the process at once with status 128 + signo via `_exit`, writing nothing more (no
/// flush, no message): the user's "I really mean it".
///
/// The handler is async-signal-safe: it does one atomic compare-exchange on a global and, on the second
/// signal, calls `_exit`. It is installed with `sigaction` and SA_RESTART, so interrupted system calls
/// (a blocking `read` on stdin, for example) resume rather than fail with EINTR; a tool blocked on
/// input notices the request when the input returns, or the user presses ^C twice.
public enum Interrupt {
    /// Installs the SIGINT and SIGTERM handlers. Idempotent.
    public static func install() {
        _ = interruptState.load()  // make sure the global exists before any handler can run
        for signo in [SIGINT, SIGTERM] {
            var action = sigaction()
            #if os(Linux)
            action.__sigaction_handler.sa_handler = interruptHandler
            #else
            action.__sigaction_u.__sa_handler = interruptHandler
            #endif
            sigemptyset(&action.sa_mask)
            sigaddset(&action.sa_mask, SIGINT)
            sigaddset(&action.sa_mask, SIGTERM)
            action.sa_flags = SA_RESTART
            sigaction(signo, &action, nil)
        }
        // A parent may have started us with these signals blocked (the mask is inherited): unblock them.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
    }

    /// True once a SIGINT or SIGTERM has arrived after `install()`.
    public static var requested: Bool { interruptState.load() != 0 }

    /// The first signal received (SIGINT or SIGTERM), or 0 when none has.
    public static var signal: Int32 { interruptState.load() }

    /// The status a tool exits with after stopping for the request: 128 + signal.
    public static var exitStatus: Int32 { 128 + signal }

    /// Forgets a received signal (tests only).
    package static func resetForTesting() { interruptState.store(0) }
}

/// The signal handler: the first signal is recorded, the second ends the process (removing a temporary file
/// being written, so that nothing half-written stays behind).
private func interruptHandler(_ signo: Int32) {
    if !interruptState.recordFirst(signo) {
        if pendingTemporary.pointee != 0 { unlink(pendingTemporary) }
        _exit(128 + signo)
    }
}

/// The path of a temporary file being written (NUL-terminated; empty when none), for the handler to unlink.
private let pendingTemporaryCapacity = 4096
nonisolated(unsafe) private let pendingTemporary: UnsafeMutablePointer<CChar> = {
    let p = UnsafeMutablePointer<CChar>.allocate(capacity: pendingTemporaryCapacity)
    p.initialize(repeating: 0, count: pendingTemporaryCapacity)
    return p
}()

extension Interrupt {
    /// Registers the temporary file an atomic write is filling (nil: none), so that an immediate exit on a
    /// second signal removes it.
    static func setPendingTemporary(_ path: String?) {
        pendingTemporary.pointee = 0
        guard let path, path.utf8.count < pendingTemporaryCapacity else { return }
        path.withCString { c in
            // write the tail first and the first byte last, so the handler never sees a half-copied path
            strcpy(pendingTemporary + 1, c + 1)
            pendingTemporary.pointee = c.pointee
        }
    }
}

#if os(Linux)
/// 0, or the number of the first interrupting signal.
private let interruptState = InterruptState()

private final class InterruptState: Sendable {
    private let value = Atomic<Int32>(0)
    func load() -> Int32 { value.load(ordering: .acquiring) }
    func store(_ v: Int32) { value.store(v, ordering: .releasing) }
    /// Stores `signo` if nothing was recorded yet; false if something already was.
    func recordFirst(_ signo: Int32) -> Bool {
        value.compareExchange(expected: 0, desired: signo, ordering: .acquiringAndReleasing).exchanged
    }
}
#else
/// 0, or the number of the first interrupting signal. (Atomic needs macOS 15; the package supports 13.
/// A naturally aligned 32-bit store/load through an opaque pointer is what C's sig_atomic_t gives.)
private let interruptState = InterruptState()

private final class InterruptState: @unchecked Sendable {
    private let value: UnsafeMutablePointer<Int32> = {
        let p = UnsafeMutablePointer<Int32>.allocate(capacity: 1)
        p.initialize(to: 0)
        return p
    }()
    @inline(never) func load() -> Int32 { value.pointee }
    @inline(never) func store(_ v: Int32) { value.pointee = v }
    @inline(never) func recordFirst(_ signo: Int32) -> Bool {
        if value.pointee != 0 { return false }
        value.pointee = signo
        return true
    }
}
#endif
