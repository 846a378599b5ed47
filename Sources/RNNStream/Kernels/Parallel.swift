import Foundation
import Synchronization

/// How many threads the kernels may use. Set once at start (from `--threads` or `RNNSTREAM_THREADS`);
/// results never depend on it, only speed does.
public enum Threads {
    nonisolated(unsafe) public static var count: Int = defaultCount

    public static var defaultCount: Int {
        if let s = ProcessInfo.processInfo.environment["RNNSTREAM_THREADS"], let n = Int(s), n >= 1 { return min(n, 256) }
        return max(1, ProcessInfo.processInfo.activeProcessorCount)
    }

    /// A team only for the calling thread (or task): set by `withOwnTeam`.
    @TaskLocal fileprivate static var own: OwnTeam?

    /// Runs `body` with every `parallelFor` started from it (on this thread or task) spread over a team of its
    /// own: `threads` threads (the caller and threads - 1 workers) that no other caller shares, so the work
    /// really is split even while other threads keep the shared team busy. Returns the body's result and how
    /// many jobs fell back to running serially (0 unless a body's pieces call `parallelFor` themselves, which
    /// then use the shared team). Tests use it to compare thread counts.
    package static func withOwnTeam<R>(threads: Int, _ body: () throws -> R) rethrows -> (result: R, jobs: Int, serial: Int) {
        precondition(threads >= 1)
        let own = OwnTeam(threads: threads)
        defer { own.team.stop() }
        let result = try $own.withValue(own, operation: body)
        return (result, own.jobs, own.serial)
    }
}

extension Threads {
    /// Workers of the calling scope's own team (`withOwnTeam`) asleep on the condition variable now; nil
    /// outside such a scope. Tests wait on it instead of sleeping for a guessed time.
    package static var ownTeamSleepers: Int? { own?.team.sleepingWorkers }
}

/// A team owned by one `withOwnTeam` scope and what ran on it.
private final class OwnTeam: @unchecked Sendable {
    let threads: Int
    let team = Team()
    /// Jobs run on the team, and jobs that found it busy (run serially); touched only by the owning caller.
    var jobs = 0, serial = 0
    init(threads: Int) { self.threads = threads }
}

/// Runs `body(i)` for every i in 0..<count, spread over `Threads.count` threads (the caller and the
/// team's workers). The caller guarantees that different i touch disjoint outputs; the split of work into
/// the `count` pieces is the caller's and never depends on the number of threads.
///
/// Threads take the next undone index when they finish one (dynamic scheduling), so a thread that the
/// machine descheduled does not hold the others back. Which thread runs an index changes from run to run;
/// what the index computes does not, so results stay bit-identical.
///
/// Called while the team is busy (from inside a body, or from a second thread), it runs serially on the
/// calling thread: same results, no deadlock.
public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
    if let own = Threads.own {
        let threads = min(own.threads, count)
        if threads > 1 && own.team.run(count: count, workers: threads - 1, body) {
            own.jobs += 1
        } else {
            if threads > 1 { own.serial += 1 }
            for i in 0..<count { body(i) }
        }
        return
    }
    let threads = min(Threads.count, count)
    if threads <= 1 || !Team.shared.run(count: count, workers: threads - 1, body) {
        for i in 0..<count { body(i) }
    }
}

/// A team of worker threads for `parallelFor`, kept alive between products.
///
/// A batch-1 step (rnn-gen, rnn-score) is a few products of 20-50 µs each; waking a sleeping thread
/// costs about that much again, which is why Dispatch's pool gave the second core almost nothing there.
/// So a worker that finishes a job keeps watching for the next one for `spinTime`, and only then sleeps
/// on a condition variable (an idle tool burns no CPU).
///
/// One job at a time: the caller that wins `busy` publishes the job in `job` (a new generation, open). A worker
/// takes part only by joining the open job (one more in `job`'s count); when the caller has run out of indices
/// it closes the job and waits only for the workers that joined, which are working on their last index. A worker
/// that the machine descheduled (another process on its core) simply misses the job: the caller never waits for
/// it. (Waiting for every worker to acknowledge every job made a two-thread product 10-20 times slower whenever
/// another busy process shared the machine.)
private final class Team: @unchecked Sendable {
    static let shared = Team()

    /// How long an idle worker spins before it sleeps.
    private static let spinTime: UInt64 = 500_000  // ns

    private let busy = Atomic<Bool>(false)
    /// generation · 2²⁰ + joined workers · 2 + closed: the current job's state in one word.
    private let job = Atomic<Int>(0)
    private static let closed = 1, joinUnit = 2, generationUnit = 1 << 20
    @inline(__always) private static func generation(_ s: Int) -> Int { s / generationUnit }
    @inline(__always) private static func joined(_ s: Int) -> Int { (s % generationUnit) / joinUnit }
    private let nextIndex = Atomic<Int>(0)
    /// Workers that have seen `stopping` (only `stop` uses it).
    private let finished = Atomic<Int>(0)
    private let sleepers = Atomic<Int>(0)
    private let wake = NSCondition()

    // The current job; written only by the caller holding `busy` while no worker has joined, before the new
    // generation is published (release), read by workers only after joining it (acquire).
    private var body: ((Int) -> Void)?
    private var count = 0
    private var active = 0       // workers taking part in the current job: indices 0..<active
    private var started = 0      // worker threads running (only grows)
    private var stopping = false // set by `stop`: workers exit at the next generation

    /// Runs the job with the caller and `workers` workers. Returns false, having run nothing, when the
    /// team is already busy.
    func run(count: Int, workers: Int, _ body: (Int) -> Void) -> Bool {
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else { return false }
        defer { busy.store(false, ordering: .releasing) }
        let seen = Team.generation(job.load(ordering: .relaxed))
        while started < workers { start(index: started, seen: seen); started += 1 }
        withoutActuallyEscaping(body) { body in
            self.body = body
            self.count = count
            self.active = workers
            nextIndex.store(0, ordering: .relaxed)
            // A new generation, open, nobody joined.
            job.store((seen + 1) * Team.generationUnit, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                wake.lock()
                wake.broadcast()
                wake.unlock()
            }
            work()
            // Close the job, then wait for the workers that joined it: once they leave, none holds this body.
            job.bitwiseOr(Team.closed, ordering: .sequentiallyConsistent)
            while Team.joined(job.load(ordering: .acquiring)) > 0 {}
            self.body = nil
        }
        return true
    }

    /// Workers asleep on `wake` now.
    var sleepingWorkers: Int { sleepers.load(ordering: .sequentiallyConsistent) }

    /// Takes indices until none are left.
    private func work() {
        guard let body else { return }
        while true {
            let i = nextIndex.wrappingAdd(1, ordering: .relaxed).oldValue
            if i >= count { return }
            body(i)
        }
    }

    /// Starts worker `index`, which waits for the first generation after `seen`.
    private func start(index: Int, seen: Int) {
        let thread = Thread { [self] in loop(index: index, seen: seen) }
        thread.name = "rnnstream-worker-\(index)"
        thread.start()
    }

    private func loop(index: Int, seen: Int) {
        var seen = seen
        while true {
            waitForJob(after: seen)
            if stopping {
                finished.add(1, ordering: .releasing)
                return
            }
            var s = job.load(ordering: .acquiring)
            seen = Team.generation(s)
            // Join the job if it is still open; a closed one is over (or nearly): skip it.
            while s & Team.closed == 0 {
                let (joined, now) = job.compareExchange(expected: s, desired: s + Team.joinUnit, ordering: .sequentiallyConsistent)
                if joined {
                    if index < active { work() }
                    job.subtract(Team.joinUnit, ordering: .releasing)
                    break
                }
                s = now
                if Team.generation(s) != seen { break }  // a newer job: the next waitForJob returns at once
            }
        }
    }

    /// Ends the workers (a team of `withOwnTeam`; the shared team lives as long as the process). Returns once
    /// every worker has seen the stop; none is inside a job then.
    func stop() {
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            preconditionFailure("a team is stopped while running a job")
        }
        stopping = true
        finished.store(0, ordering: .relaxed)
        job.store((Team.generation(job.load(ordering: .relaxed)) + 1) * Team.generationUnit | Team.closed,
                  ordering: .sequentiallyConsistent)
        wake.lock()
        wake.broadcast()
        wake.unlock()
        while finished.load(ordering: .acquiring) < started {}
    }

    /// Returns once the job's generation differs from `seen`: spinning at first, then asleep.
    private func waitForJob(after seen: Int) {
        var start: UInt64 = 0
        var spins = 0
        while Team.generation(job.load(ordering: .acquiring)) == seen {
            spins += 1
            if spins & 255 != 0 { continue }
            let now = DispatchTime.now().uptimeNanoseconds
            if start == 0 { start = now; continue }
            if now - start < Team.spinTime { continue }
            wake.lock()
            sleepers.add(1, ordering: .sequentiallyConsistent)
            while Team.generation(job.load(ordering: .sequentiallyConsistent)) == seen { wake.wait() }
            sleepers.subtract(1, ordering: .sequentiallyConsistent)
            wake.unlock()
            return
        }
    }
}
