#if canImport(Glibc)
import Glibc
#endif

/// A fixed-size, zero-initialised, 64-byte aligned float buffer owned by a class, for kernels that want raw
/// pointers without copy-on-write or exclusivity checks in their inner loops.
public final class FloatBuffer: @unchecked Sendable {
    public let count: Int
    public let pointer: UnsafeMutablePointer<Float>

    public init(count: Int) {
        self.count = count
        let raw = allocateBuffer(byteCount: max(count, 1) * 4)
        pointer = raw.bindMemory(to: Float.self, capacity: max(count, 1))
        pointer.initialize(repeating: 0, count: max(count, 1))
    }

    deinit { pointer.deallocate() }

    @inline(__always)
    public subscript(i: Int) -> Float {
        get { pointer[i] }
        set { pointer[i] = newValue }
    }

    public func zero() { pointer.update(repeating: 0, count: count) }

    public func copy(from other: FloatBuffer) {
        precondition(other.count == count)
        pointer.update(from: other.pointer, count: count)
    }

    public var array: [Float] { Array(UnsafeBufferPointer(start: pointer, count: count)) }
}

/// The size of a transparent huge page on x86-64 and arm64 with 4 KiB pages.
private let hugePageBytes = 2 << 20

/// Uninitialised memory for a buffer: 64-byte aligned, or for 2 MiB and more aligned to 2 MiB and advised to
/// be backed by huge pages (`adviseHugePages`), so that all of it can be. Free it with `deallocate()`.
public func allocateBuffer(byteCount: Int) -> UnsafeMutableRawPointer {
    guard byteCount >= hugePageBytes else { return UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: 64) }
    let raw = UnsafeMutableRawPointer.allocate(byteCount: byteCount, alignment: hugePageBytes)
    adviseHugePages(raw, byteCount: byteCount)
    return raw
}

/// Asks the kernel to back the whole huge pages inside `[start, start + byteCount)` with 2 MiB pages (Linux's
/// transparent huge pages, which Debian enables on request: "madvise"), before the memory is first touched. A
/// buffer of tens of MiB then costs a page fault per 2 MiB instead of one per 4 KiB: loading a 2x512 LSTM's
/// weights took 19k faults and half of rnn-gen's start-up. Only a hint: below 2 MiB, off Linux, or when the
/// kernel declines, nothing changes (the range is rounded inward to whole pages, so it touches no other memory).
public func adviseHugePages(_ start: UnsafeMutableRawPointer, byteCount: Int) {
    #if os(Linux)
    guard byteCount >= hugePageBytes else { return }
    let page = max(Int(sysconf(Int32(_SC_PAGESIZE))), 1)
    let begin = (Int(bitPattern: start) + page - 1) / page * page
    let end = (Int(bitPattern: start) + byteCount) / page * page
    guard end > begin, let p = UnsafeMutableRawPointer(bitPattern: begin) else { return }
    _ = madvise(p, end - begin, MADV_HUGEPAGE)
    #endif
}
