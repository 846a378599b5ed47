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

/// Runs `body(i)` for every i in 0..<count, spread over `Threads.count` threads.
/// The caller guarantees that different i touch disjoint outputs; the split of work into the `count`
/// pieces is the caller's and never depends on the number of threads.
public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
    let threads = min(Threads.count, count)
    if threads <= 1 {
        for i in 0..<count { body(i) }
        return
    }
    withoutActuallyEscaping(body) { body in
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            var i = t
            while i < count {
                body(i)
                i += threads
            }
        }
    }
}
