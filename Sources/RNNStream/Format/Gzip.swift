import CZlib
import RNNModel
import RNNKernels
import RNNText

/// Why a gzip stream could not be decompressed. `description` is a single-line human cause.
public enum GzipError: Error, CustomStringConvertible, Equatable, Sendable {
    /// No bytes at all.
    case empty
    /// The first two bytes are not the gzip magic `1f 8b`.
    case badMagic
    /// The stream ends before its end-of-stream marker and trailer.
    case truncated
    /// The data decompressed but its CRC-32 does not match the trailer.
    case crcMismatch
    /// The data decompressed but its length does not match the trailer.
    case lengthMismatch
    /// zlib rejected the data (its own message).
    case corrupted(String)
    /// The decompressed data would exceed the caller's limit (in bytes).
    case tooLarge(limit: Int)
    /// There are bytes after the end of the (single) gzip member.
    case trailingData
    /// zlib failed for a reason other than the data (out of memory, version mismatch…).
    case zlib(String)

    public var description: String {
        switch self {
        case .empty: return "empty (0 bytes)"
        case .badMagic: return "not gzip (bad magic)"
        case .truncated: return "truncated (gzip stream ends early)"
        case .crcMismatch: return "corrupted (gzip CRC mismatch)"
        case .lengthMismatch: return "corrupted (gzip length mismatch)"
        case .corrupted(let message): return "corrupted (gzip data error: \(message))"
        case .tooLarge(let limit): return "decompressed size exceeds the \(Gzip.describeLimit(limit)) limit"
        case .trailingData: return "trailing data after the gzip stream"
        case .zlib(let message): return "zlib error: \(message)"
        }
    }
}

/// Single-member gzip (RFC 1952) compression and bounded decompression through the system zlib.
///
/// This is the only file of the package that talks to zlib.
public enum Gzip {
    /// Bytes handed to zlib per call (its counters are 32-bit).
    static let chunkSize = 1 << 18

    /// The gzip stream of `bytes`: one member, no file name, no comment, mtime 0, OS byte 3 (Unix),
    /// so the same input always gives the same output with a given zlib.
    public static func compress(_ bytes: [UInt8], level: Int32 = 6) -> [UInt8] {
        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        let header = UnsafeMutablePointer<gz_header>.allocate(capacity: 1)
        header.initialize(to: gz_header())
        defer {
            stream.deinitialize(count: 1); stream.deallocate()
            header.deinitialize(count: 1); header.deallocate()
        }
        header.pointee.text = 0
        header.pointee.time = 0
        header.pointee.os = 3
        header.pointee.hcrc = 0

        var status = deflateInit2_(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY,
                                   ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        precondition(status == Z_OK, "deflateInit2_ failed (\(status))")
        defer { deflateEnd(stream) }
        status = deflateSetHeader(stream, header)
        precondition(status == Z_OK, "deflateSetHeader failed (\(status))")

        var out: [UInt8] = []
        out.reserveCapacity(Int(deflateBound(stream, uLong(min(bytes.count, Int(UInt32.max))))))
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        bytes.withUnsafeBufferPointer { input in
            chunk.withUnsafeMutableBufferPointer { chunkBuf in
                var offset = 0
                while true {
                    if stream.pointee.avail_in == 0 && offset < input.count {
                        let n = min(chunkSize, input.count - offset)
                        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress! + offset)
                        stream.pointee.avail_in = uInt(n)
                        offset += n
                    }
                    let flush = offset == input.count ? Z_FINISH : Z_NO_FLUSH
                    stream.pointee.next_out = chunkBuf.baseAddress
                    stream.pointee.avail_out = uInt(chunkSize)
                    let ret = deflate(stream, flush)
                    let produced = chunkSize - Int(stream.pointee.avail_out)
                    out.append(contentsOf: chunkBuf[0..<produced])
                    if ret == Z_STREAM_END { break }
                    precondition(ret == Z_OK || ret == Z_BUF_ERROR, "deflate failed (\(ret))")
                }
            }
        }
        return out
    }

    /// Decompresses exactly one gzip member that must span all of `bytes`.
    ///
    /// Never holds more than `maxOutput` decompressed bytes: the output grows in chunks and decompression
    /// stops with `.tooLarge` as soon as the limit would be passed.
    public static func decompress(_ bytes: [UInt8], maxOutput: Int) throws(GzipError) -> [UInt8] {
        if bytes.isEmpty { throw .empty }
        if bytes[0] != 0x1f || (bytes.count >= 2 && bytes[1] != 0x8b) { throw .badMagic }
        if bytes.count < 18 { throw .truncated }  // 10-byte header + empty deflate block + 8-byte trailer

        let stream = UnsafeMutablePointer<z_stream>.allocate(capacity: 1)
        stream.initialize(to: z_stream())
        defer { stream.deinitialize(count: 1); stream.deallocate() }
        let initStatus = inflateInit2_(stream, 15 + 16, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard initStatus == Z_OK else { throw .zlib(message(stream, initStatus)) }
        defer { inflateEnd(stream) }

        // The trailer's ISIZE (length mod 2^32) is a hint for the first allocation, bounded by the limit
        // and by deflate's best possible ratio so a tiny file cannot claim a huge buffer.
        let n = bytes.count
        let isize = Int(bytes[n - 4]) | Int(bytes[n - 3]) << 8 | Int(bytes[n - 2]) << 16 | Int(bytes[n - 1]) << 24
        let ratioBound = bytes.count > Int.max / 1100 ? Int.max : bytes.count * 1100
        let hint = min(isize, maxOutput, ratioBound)

        // Where the input is; `step` feeds it to zlib a chunk at a time.
        var offset = 0
        /// Feeds zlib the next chunk of input once it has used the last, inflates into its next_out, and says
        /// what came of it: nil to go on, .some(nil) at the end of a clean stream, .some(error).
        func step(_ input: UnsafeBufferPointer<UInt8>) -> GzipError?? {
            if stream.pointee.avail_in == 0 && offset < input.count {
                let n = min(chunkSize, input.count - offset)
                stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress! + offset)
                stream.pointee.avail_in = uInt(n)
                offset += n
            }
            let before = stream.pointee.avail_out
            let ret = inflate(stream, Z_NO_FLUSH)
            switch ret {
            case Z_STREAM_END:
                return .some(stream.pointee.avail_in > 0 || offset < input.count ? .trailingData : nil)
            case Z_OK:
                return nil
            case Z_BUF_ERROR:
                // No progress possible: zlib wants more input and there is none, or cannot go on.
                if stream.pointee.avail_in == 0 && offset >= input.count { return .some(.truncated) }
                return stream.pointee.avail_out == before ? .some(.zlib("inflate made no progress")) : nil
            default:
                return .some(inflateError(stream, ret))
            }
        }

        // First inflate straight into a buffer of the hinted size (no chunk copied: a weights file is tens of
        // MB). The stream either ends there, or fills it (a wrong hint) and goes on below in chunks.
        var done: GzipError?? = nil
        var out = bytes.withUnsafeBufferPointer { input in
            [UInt8](unsafeUninitializedCapacity: hint) { buffer, count in
                count = 0
                guard let base = buffer.baseAddress, hint > 0 else { return }
                adviseHugePages(base, byteCount: hint)
                stream.pointee.next_out = base
                stream.pointee.avail_out = uInt(hint)
                while done == nil && stream.pointee.avail_out > 0 {
                    done = step(input)
                    count = hint - Int(stream.pointee.avail_out)
                }
            }
        }
        if let done {
            if let done { throw done }
            return out
        }

        var chunk = [UInt8](repeating: 0, count: chunkSize)
        let result: GzipError? = bytes.withUnsafeBufferPointer { input -> GzipError? in
            chunk.withUnsafeMutableBufferPointer { chunkBuf -> GzipError? in
                while true {
                    stream.pointee.next_out = chunkBuf.baseAddress
                    stream.pointee.avail_out = uInt(chunkSize)
                    let status = step(input)
                    let produced = chunkSize - Int(stream.pointee.avail_out)
                    if produced > 0 {
                        if produced > maxOutput - out.count { return .tooLarge(limit: maxOutput) }
                        if out.count + produced > out.capacity {
                            // Grow geometrically but never past the limit.
                            let want = max(out.count + produced, out.capacity > maxOutput / 2 ? maxOutput : out.capacity * 2)
                            out.reserveCapacity(min(want, maxOutput))
                        }
                        out.append(contentsOf: chunkBuf[0..<produced])
                    }
                    if let status { return status }
                }
            }
        }
        if let result { throw result }
        return out
    }

    /// What an inflate status other than Z_OK, Z_STREAM_END and Z_BUF_ERROR means.
    private static func inflateError(_ stream: UnsafeMutablePointer<z_stream>, _ ret: Int32) -> GzipError {
        switch ret {
        case Z_DATA_ERROR, Z_NEED_DICT:
            let text = message(stream, ret)
            if text == "incorrect data check" { return .crcMismatch }
            if text == "incorrect length check" { return .lengthMismatch }
            return .corrupted(text)
        default:
            return .zlib(message(stream, ret))
        }
    }

    private static func message(_ stream: UnsafeMutablePointer<z_stream>, _ status: Int32) -> String {
        if let msg = stream.pointee.msg { return String(cString: msg) }
        switch status {
        case Z_MEM_ERROR: return "out of memory"
        case Z_VERSION_ERROR: return "incompatible zlib version"
        case Z_NEED_DICT: return "dictionary required"
        default: return "status \(status)"
        }
    }

    static func describeLimit(_ bytes: Int) -> String {
        let mib = 1 << 20
        if bytes >= mib && bytes % mib == 0 { return "\(bytes / mib) MiB" }
        return "\(bytes)-byte"
    }
}
