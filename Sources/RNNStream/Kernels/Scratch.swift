import Foundation

/// A thread-safe pool of equally sized, 64-byte aligned Float buffers for packing panels.
///
/// A task takes a buffer for its whole run and gives it back at the end, so no two running tasks ever
/// share one; the pool only grows to the number of tasks that ran at the same time (about Threads.count)
/// and keeps the buffers for later calls, so hot loops do not pay for malloc and first-touch page faults.
final class ScratchPool: @unchecked Sendable {
    let floats: Int
    private let lock = NSLock()
    private var idle: [UnsafeMutablePointer<Float>] = []

    init(floats: Int) { self.floats = floats }

    func take() -> UnsafeMutablePointer<Float> {
        lock.lock()
        if let p = idle.popLast() {
            lock.unlock()
            return p
        }
        lock.unlock()
        let raw = UnsafeMutableRawPointer.allocate(byteCount: floats * MemoryLayout<Float>.stride, alignment: 64)
        return raw.bindMemory(to: Float.self, capacity: floats)
    }

    func give(_ p: UnsafeMutablePointer<Float>) {
        lock.lock()
        idle.append(p)
        lock.unlock()
    }

    /// Runs `body` with a buffer of `floats` floats that no other task uses meanwhile.
    @inline(__always)
    func with<R>(_ body: (UnsafeMutablePointer<Float>) -> R) -> R {
        let p = take()
        defer { give(p) }
        return body(p)
    }
}
