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
/// One job at a time: the caller that wins `busy` publishes the job and bumps `generation`; every
/// worker taking part acknowledges each generation in `finished` before the caller returns, so no worker
/// still reads a job once it is gone.
private final class Team: @unchecked Sendable {
    static let shared = Team()

    /// How long an idle worker spins before it sleeps.
    private static let spinTime: UInt64 = 500_000  // ns

    private let busy = Atomic<Bool>(false)
    private let generation = Atomic<Int>(0)
    private let nextIndex = Atomic<Int>(0)
    private let finished = Atomic<Int>(0)
    private let sleepers = Atomic<Int>(0)
    private let wake = NSCondition()

    // The current job; written only by the caller holding `busy`, before `generation` is bumped
    // (release), read by workers after they see the new generation (acquire).
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
        while started < workers { start(index: started, seen: generation.load(ordering: .relaxed)); started += 1 }
        withoutActuallyEscaping(body) { body in
            self.body = body
            self.count = count
            self.active = workers
            nextIndex.store(0, ordering: .relaxed)
            finished.store(0, ordering: .relaxed)
            generation.add(1, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                wake.lock()
                wake.broadcast()
                wake.unlock()
            }
            work()
            // Every worker acknowledges, taking part or not, so none still holds this body.
            while finished.load(ordering: .acquiring) < started {}
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
            seen = generation.load(ordering: .acquiring)
            if stopping {
                finished.add(1, ordering: .releasing)
                return
            }
            if index < active { work() }
            finished.add(1, ordering: .releasing)
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
        generation.add(1, ordering: .sequentiallyConsistent)
        wake.lock()
        wake.broadcast()
        wake.unlock()
        while finished.load(ordering: .acquiring) < started {}
    }

    /// Returns once `generation` differs from `seen`: spinning at first, then asleep.
    private func waitForJob(after seen: Int) {
        var start: UInt64 = 0
        var spins = 0
        while generation.load(ordering: .acquiring) == seen {
            spins += 1
            if spins & 255 != 0 { continue }
            let now = DispatchTime.now().uptimeNanoseconds
            if start == 0 { start = now; continue }
            if now - start < Team.spinTime { continue }
            wake.lock()
            sleepers.add(1, ordering: .sequentiallyConsistent)
            while generation.load(ordering: .sequentiallyConsistent) == seen { wake.wait() }
            sleepers.subtract(1, ordering: .sequentiallyConsistent)
            wake.unlock()
            return
        }
    }
}
