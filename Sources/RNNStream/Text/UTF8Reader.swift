#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Why text could not be read.
public enum TextError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The input is not valid UTF-8. The offset (counted from 0 over all bytes read) is that of the
    /// first byte of the malformed sequence: the bad lead byte itself, the lead byte of a sequence whose
    /// continuation is wrong, overlong, a surrogate or above U+10FFFF, or the lead byte of a sequence
    /// cut short by the end of the input.
    case invalidUTF8(byteOffset: Int)
    /// `read(2)` failed with this errno (EIO, EISDIR when the input is a directory, ...).
    case readFailed(Int32)

    public var description: String {
        switch self {
        case .invalidUTF8(let offset): return "invalid UTF-8 at byte \(offset)"
        case .readFailed(let code): return "read error: \(String(cString: strerror(code)))"
        }
    }
}

/// The UTF-8 decoding state machine shared by the streaming reader and the in-memory decoder.
///
/// Feed it bytes in pieces of any size with `decode(_:into:)`; a sequence split between two pieces is
/// carried over. Call `finish()` at the end of the input to reject a truncated last sequence. Strict:
/// accepts exactly the well-formed UTF-8 of the Unicode standard (table 3-7), so overlong forms,
/// surrogates and values above U+10FFFF are errors; U+0000 is an ordinary scalar. Once it has thrown,
/// it keeps throwing the same error.
public struct UTF8Decoder: Sendable {
    /// Bytes fed so far (including those of a pending, incomplete sequence).
    public private(set) var bytesConsumed: Int = 0
    /// Code point bits gathered so far for the pending sequence.
    private var partial: UInt32 = 0
    /// Continuation bytes the pending sequence still needs (0: between scalars).
    private var need: Int = 0
    /// The allowed range of the next continuation byte (narrowed after E0, ED, F0, F4).
    private var low: UInt8 = 0x80
    private var high: UInt8 = 0xBF
    /// Byte offset of the pending sequence's lead byte.
    private var start: Int = 0
    private var failure: TextError?

    public init() {}

    /// True when no multi-byte sequence is pending.
    public var isAtScalarBoundary: Bool { need == 0 }

    /// Decodes `bytes`, appending every completed scalar to `out`.
    public mutating func decode(_ bytes: UnsafeBufferPointer<UInt8>, into out: inout [Unicode.Scalar]) throws(TextError) {
        // At most one scalar per byte. Grow geometrically: many small pieces decoded into one growing
        // array must not reallocate on every call.
        let n = bytes.count
        if out.capacity < out.count + n { out.reserveCapacity(max(out.count + n, 2 * out.capacity)) }
        try decode(bytes) { out.append($0) }
    }

    /// Decodes `bytes`, handing every completed scalar to `body` in order (nothing is stored: the in-memory
    /// text's indices are written without an array of scalars).
    @inline(__always)
    public mutating func decode(_ bytes: UnsafeBufferPointer<UInt8>, each body: (Unicode.Scalar) -> Void) throws(TextError) {
        if let failure { throw failure }
        let base = bytesConsumed
        let n = bytes.count
        var i = 0
        while i < n {
            let b = bytes[i]
            if need == 0 {
                if b < 0x80 {
                    body(Unicode.Scalar(b))
                    i += 1
                    continue
                }
                switch b {
                case 0xC2...0xDF: need = 1; partial = UInt32(b & 0x1F); low = 0x80; high = 0xBF
                case 0xE0: need = 2; partial = UInt32(b & 0x0F); low = 0xA0; high = 0xBF        // no overlongs
                case 0xED: need = 2; partial = UInt32(b & 0x0F); low = 0x80; high = 0x9F        // no surrogates
                case 0xE1...0xEF: need = 2; partial = UInt32(b & 0x0F); low = 0x80; high = 0xBF
                case 0xF0: need = 3; partial = UInt32(b & 0x07); low = 0x90; high = 0xBF        // no overlongs
                case 0xF4: need = 3; partial = UInt32(b & 0x07); low = 0x80; high = 0x8F        // <= U+10FFFF
                case 0xF1...0xF3: need = 3; partial = UInt32(b & 0x07); low = 0x80; high = 0xBF
                default:  // 80...BF stray continuation, C0/C1 overlong leads, F5...FF beyond U+10FFFF
                    return try fail(at: base + i)
                }
                start = base + i
            } else {
                guard b >= low && b <= high else { return try fail(at: start) }
                partial = partial << 6 | UInt32(b & 0x3F)
                low = 0x80
                high = 0xBF
                need -= 1
                if need == 0 {
                    // The ranges above admit only valid scalar values.
                    body(unsafeBitCast(partial, to: Unicode.Scalar.self))
                }
            }
            i += 1
        }
        bytesConsumed = base + n
    }

    /// Decodes an array of bytes, appending to `out`.
    public mutating func decode(_ bytes: [UInt8], into out: inout [Unicode.Scalar]) throws(TextError) {
        try bytes.withUnsafeBufferPointer { (buf) throws(TextError) in try decode(buf, into: &out) }
    }

    /// Declares the end of the input: throws if it cut a multi-byte sequence short.
    public mutating func finish() throws(TextError) {
        if let failure { throw failure }
        if need != 0 { try fail(at: start) }
    }

    private mutating func fail(at offset: Int) throws(TextError) {
        let error = TextError.invalidUTF8(byteOffset: offset)
        failure = error
        throw error
    }
}

/// A streaming UTF-8 reader over a file descriptor: reads fixed-size chunks (`read(2)`, retried on
/// EINTR) and hands out the decoded scalars chunk by chunk, in constant memory. The descriptor is
/// neither owned nor closed.
public struct UTF8Reader {
    public static let defaultChunkSize = 64 * 1024

    public let fd: Int32
    private var chunk: [UInt8]
    private var decoder = UTF8Decoder()
    private var atEnd = false

    /// `chunkSize` is the most bytes asked of each `read(2)`; tests use tiny sizes to split sequences.
    public init(fd: Int32, chunkSize: Int = UTF8Reader.defaultChunkSize) {
        precondition(chunkSize > 0, "chunk size must be positive")
        self.fd = fd
        self.chunk = [UInt8](repeating: 0, count: chunkSize)
    }

    /// Bytes read and decoded so far.
    public var bytesConsumed: Int { decoder.bytesConsumed }

    /// Replaces the contents of `buffer` with the next scalars (at most one chunk's worth). Returns
    /// false, with `buffer` empty, at the end of the input.
    public mutating func next(into buffer: inout [Unicode.Scalar]) throws(TextError) -> Bool {
        buffer.removeAll(keepingCapacity: true)
        var decoder = self.decoder
        defer { self.decoder = decoder }
        while !atEnd {
            let fd = self.fd
            var n: Int
            repeat {
                n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            } while n < 0 && errno == EINTR
            if n < 0 { throw TextError.readFailed(errno) }
            if n == 0 {
                atEnd = true
                try decoder.finish()
                break
            }
            try chunk.withUnsafeBufferPointer { (all) throws(TextError) in
                try decoder.decode(UnsafeBufferPointer(rebasing: all[0..<n]), into: &buffer)
            }
            if !buffer.isEmpty { return true }
        }
        return false
    }

    /// Reads and decodes everything from `fd` up to its end.
    public static func readAll(fd: Int32) throws(TextError) -> [Unicode.Scalar] {
        var reader = UTF8Reader(fd: fd)
        var all: [Unicode.Scalar] = []
        var buffer: [Unicode.Scalar] = []
        while try reader.next(into: &buffer) { all.append(contentsOf: buffer) }
        return all
    }

    /// Decodes a complete in-memory text.
    public static func decode(_ bytes: [UInt8]) throws(TextError) -> [Unicode.Scalar] {
        var decoder = UTF8Decoder()
        var out: [Unicode.Scalar] = []
        try decoder.decode(bytes, into: &out)
        try decoder.finish()
        return out
    }
}
