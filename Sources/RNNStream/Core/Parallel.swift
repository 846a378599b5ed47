import Dispatch
import Foundation

/// How many threads the kernels may use. Set once at start (from `--threads` or `RNNSTREAM_THREADS`);
/// results never depend on it, only speed does.
public enum Threads {
    nonisolated(unsafe) public static var count: Int = defaultCount

    public static var defaultCount: Int {
        if let s = ProcessInfo.processInfo.environment["RNNSTREAM_THREADS"], let n = Int(s), n >= 1 { return min(n, 256) }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }
}

/// Hands out task indices 0, 1, 2, … to whichever worker asks next.
private final class TaskCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0

    func take() -> Int {
        lock.lock()
        defer { lock.unlock() }
        let i = next
        next += 1
        return i
    }
}

/// Runs `body(i)` for every i in 0..<count, spread over `Threads.count` threads.
/// The caller guarantees that different i touch disjoint outputs; the split of work into the `count`
/// pieces is the caller's and never depends on the number of threads.
///
/// Workers take the next undone index when they finish one (dynamic scheduling), so a worker that the
/// machine descheduled does not hold the others back. Which worker runs an index changes from run to run;
/// what the index computes does not, so results stay bit-identical.
public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
    let threads = min(Threads.count, count)
    if threads <= 1 {
        for i in 0..<count { body(i) }
        return
    }
    let counter = TaskCounter()
    withoutActuallyEscaping(body) { body in
        DispatchQueue.concurrentPerform(iterations: threads) { _ in
            while true {
                let i = counter.take()
                if i >= count { break }
                body(i)
            }
        }
    }
}
