import Foundation
import RNNInference
import RNNKernels
import RNNModel
import RNNText
import RNNShell

// `rnn-score --jobs N` and `--segment K/N`: one file cut into N contiguous segments, scored as N streams of
// one batch (`BatchScorer`), each segment after the first starting from the state reached by running the
// `--burn-in` characters before it; and `--reset-each-line`, whose lines are independent streams batched the
// same way. The file is read in pieces with pread(2), never whole.

/// Characters of burn-in before each segment after the first, unless `--burn-in` says otherwise.
public let defaultBurnIn = 500
/// The most segments of `--jobs` and `--segment`.
public let maxSegments = 4096
/// Streams of a batched `--reset-each-line`.
let lineStreams = 64
/// Characters queued before a batch of lines is scored (bounds what `--reset-each-line` holds).
let lineBatchCharacters = 1 << 16
/// Bytes asked of each pread(2) of a segment's reader.
let segmentReadSize = 16 * 1024

/// The byte offsets, relative to the scored bytes' start, where the `segments` segments of `size` bytes
/// start, and `size` last: segment k (from 0) starts at the first byte at or after ⌊k·size/N⌋ that is not a
/// UTF-8 continuation byte (10xxxxxx), looking at most 3 bytes on (valid UTF-8 has no longer run), so no
/// character is cut; it ends where segment k + 1 starts. The rule uses only the size and those few bytes, so
/// every machine cuts a file the same way. `byte(i)` reads the byte at offset i < size.
public func segmentBoundaries(size: Int, segments n: Int, byte: (Int) throws -> UInt8) rethrows -> [Int] {
    precondition(n >= 1 && size >= 0)
    var bounds = [0]
    for k in 1..<n {
        var b = Int((Int64(size) * Int64(k)) / Int64(n))
        var look = 0
        while b < size && look < 3, try byte(b) & 0xC0 == 0x80 {
            b += 1
            look += 1
        }
        bounds.append(max(b, bounds.last!))
    }
    bounds.append(size)
    for k in 1..<bounds.count { bounds[k] = max(bounds[k], bounds[k - 1]) }
    return bounds
}

/// A `K/N` segment choice (K from 1).
public struct SegmentChoice: Sendable, Equatable {
    public var index: Int
    public var count: Int

    /// Parses `K/N` with 1 ≤ K ≤ N ≤ `maxSegments`; nil for anything else.
    public init?(argument: String) {
        let parts = argument.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, parts.allSatisfy({ !$0.isEmpty && $0.allSatisfy { $0.isASCII && $0.isNumber } }),
              let k = Int(parts[0]), let n = Int(parts[1]), n >= 1, n <= maxSegments, k >= 1, k <= n else { return nil }
        index = k
        count = n
    }
}

/// Reads bytes [start, end) of `fd` with pread(2) and decodes them as UTF-8, a piece at a time. Errors give
/// offsets counted from `origin` (the first byte scored).
struct RangeReader {
    let fd: Int32
    private(set) var position: Int
    let end: Int
    let origin: Int
    private let start: Int
    private var decoder = UTF8Decoder()
    private var bytes: [UInt8]
    private var finished = false

    init(fd: Int32, start: Int, end: Int, origin: Int) {
        self.fd = fd
        self.start = start
        position = start
        self.end = end
        self.origin = origin
        bytes = [UInt8](repeating: 0, count: segmentReadSize)
    }

    /// Appends the next piece's scalars to `out`; false at the end (after checking no sequence was cut).
    mutating func next(into out: inout [Unicode.Scalar]) throws(TextError) -> Bool {
        while position < end {
            let want = min(bytes.count, end - position)
            let fd = self.fd, at = position
            var n: Int
            repeat {
                n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, want, off_t(at)) }
            } while n < 0 && errno == EINTR
            if n < 0 { throw TextError.readFailed(errno) }
            if n == 0 { throw TextError.readFailed(EIO) }  // the file shrank under us
            position += n
            do {
                try bytes.withUnsafeBufferPointer { (all) throws(TextError) in
                    try decoder.decode(UnsafeBufferPointer(rebasing: all[0..<n]), into: &out)
                }
            } catch { throw shifted(error) }
            if !out.isEmpty { return true }
        }
        if !finished {
            finished = true
            do { try decoder.finish() } catch { throw shifted(error) }
        }
        return false
    }

    private func shifted(_ error: TextError) -> TextError {
        if case .invalidUTF8(let offset) = error { return .invalidUTF8(byteOffset: start - origin + offset) }
        return error
    }
}

/// Where the burn-in of a segment starting at byte `boundary` starts: `characters` characters (UTF-8 lead
/// bytes) before it, or `floor` when there are fewer. Reads backwards in pieces.
func burnInStart(fd: Int32, boundary: Int, characters: Int, floor: Int) throws(TextError) -> Int {
    if characters <= 0 { return boundary }
    var count = 0, position = boundary
    var piece = [UInt8](repeating: 0, count: 64 * 1024)
    while position > floor {
        let from = max(floor, position - piece.count), want = position - from
        var n: Int
        repeat {
            n = piece.withUnsafeMutableBytes { pread(fd, $0.baseAddress, want, off_t(from)) }
        } while n < 0 && errno == EINTR
        if n < 0 { throw TextError.readFailed(errno) }
        if n < want { throw TextError.readFailed(EIO) }
        var i = want - 1
        while i >= 0 {
            if piece[i] & 0xC0 != 0x80 {
                count += 1
                if count == characters { return from + i }
            }
            i -= 1
        }
        position = from
    }
    return floor
}

/// Scored characters written to an unlinked temporary file and read back in order: the records of the
/// segments after the first wait there until the ones before them are written, in bounded memory.
final class CharacterSpill {
    private let fd: Int32
    private var buffer: [UInt8] = []

    init() throws(ToolError) {
        var dir = ProcessInfo.processInfo.environment["TMPDIR"] ?? "/tmp"
        if dir.isEmpty { dir = "/tmp" }
        var template = Array((dir + "/rnn-score-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw ToolError(subject: dir, cause: "temporary file: " + systemErrorMessage(errno)) }
        template.withUnsafeBufferPointer { _ = unlink($0.baseAddress!) }
        self.fd = fd
        buffer.reserveCapacity(1 << 16)
    }

    deinit { close(fd) }

    private func put<T: FixedWidthInteger>(_ v: T) {
        withUnsafeBytes(of: v.littleEndian) { buffer.append(contentsOf: $0) }
    }

    /// scalar (4 bytes), known (1), candidates (1), bits (8), then per candidate scalar (4) and probability (8).
    func append(_ c: ScoredCharacter) throws(ToolError) {
        put(c.scalar.value)
        buffer.append(c.known ? 1 : 0)
        buffer.append(UInt8(c.candidates.count))
        put(c.bits.bitPattern)
        for k in c.candidates {
            put(k.scalar.value)
            put(k.probability.bitPattern)
        }
        if buffer.count >= 1 << 16 { try drain() }
    }

    private func drain() throws(ToolError) {
        var done = 0
        while done < buffer.count {
            let n = buffer.withUnsafeBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { throw ToolError(subject: "temporary file", cause: systemErrorMessage(n < 0 ? errno : EIO)) }
            done += n
        }
        buffer.removeAll(keepingCapacity: true)
    }

    /// Hands every character appended to `body`, in order.
    func replay(_ body: (ScoredCharacter) throws -> Void) throws {
        try drain()
        var offset: off_t = 0
        var data: [UInt8] = [], piece = [UInt8](repeating: 0, count: 1 << 16)
        var i = 0
        func take<T: FixedWidthInteger>(_: T.Type) -> T {
            var v: T = 0
            withUnsafeMutableBytes(of: &v) { $0.copyBytes(from: data[i..<(i + MemoryLayout<T>.size)]) }
            i += MemoryLayout<T>.size
            return T(littleEndian: v)
        }
        while true {
            let n = piece.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, offset) }
            if n < 0 { throw ToolError(subject: "temporary file", cause: systemErrorMessage(errno)) }
            if n == 0 { break }
            offset += off_t(n)
            data.removeFirst(i)
            i = 0
            data += piece[0..<n]
            // whole records only: a record is 14 bytes plus 12 per candidate
            while data.count - i >= 14 {
                let count = Int(data[i + 5])
                guard data.count - i >= 14 + 12 * count else { break }
                let scalar = Unicode.Scalar(take(UInt32.self))!
                let known = data[i] == 1
                i += 2
                var c = ScoredCharacter(scalar: scalar, bits: Double(bitPattern: take(UInt64.self)), known: known)
                for _ in 0..<count {
                    let s = Unicode.Scalar(take(UInt32.self))!
                    c.candidates.append(Candidate(scalar: s, probability: Double(bitPattern: take(UInt64.self))))
                }
                try body(c)
            }
        }
    }
}

/// Where a segmented scoring reads: the descriptor, and the bytes [origin, origin + size) scored.
struct SeekableText {
    let fd: Int32
    let origin: Int
    let size: Int
    let subject: String

    /// The scored bytes of `fd` from its current offset to its end, when it is a regular file; nil otherwise.
    init?(fd: Int32, subject: String) {
        var info = stat()
        guard fstat(fd, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else { return nil }
        let here = lseek(fd, 0, SEEK_CUR)
        guard here >= 0 else { return nil }
        self.fd = fd
        origin = Int(here)
        size = max(0, Int(info.st_size) - Int(here))
        self.subject = subject
    }

    func byte(_ i: Int) throws(ToolError) -> UInt8 {
        var b: UInt8 = 0
        let n = pread(fd, &b, 1, off_t(origin + i))
        guard n == 1 else { throw ToolError(subject: subject, cause: n < 0 ? systemErrorMessage(errno) : "file shrank while read") }
        return b
    }
}

/// Scores `text` cut into `segments` segments as one batch, or only segment `only` (from 0), each segment
/// after the first from the state after the `burnIn` characters before it. Characters are reported to
/// `onCharacter` in text order (the first segment's as they are scored, the others' afterwards, from
/// temporary files). `afterStep` runs after every chunk and may ask to stop.
func scoreSegments(
    _ text: SeekableText, segments: Int, only: Int?, burnIn: Int, parameters: Parameters, vocabulary: Vocabulary,
    weights: WeightFormat = .fp32, products: Precision = .fp32, candidates: Int, onCharacter: ((ScoredCharacter) -> Void)?,
    afterStep: () throws -> Bool
) throws -> ScoreTotals {
    let subject = text.subject
    func toolError(_ e: TextError) -> ToolError { ToolError(subject: subject, cause: e.description) }
    let bounds = try segmentBoundaries(size: text.size, segments: segments) { i throws(ToolError) in try text.byte(i) }
    let chosen = only.map { [$0] } ?? Array(0..<segments)
    let B = chosen.count
    let scorer = BatchScorer(parameters: parameters, vocabulary: vocabulary, streams: B, weights: weights, products: products)
    scorer.candidates = candidates
    // per stream: the readers still to go (burn-in, then the segment) and whether each is scored
    var readers: [[(reader: RangeReader, scored: Bool)]] = []
    for k in chosen {
        let start = text.origin + bounds[k], end = text.origin + bounds[k + 1]
        var list: [(RangeReader, Bool)] = []
        if k > 0 && start < end && burnIn > 0 {
            let from: Int
            do { from = try burnInStart(fd: text.fd, boundary: start, characters: burnIn, floor: text.origin) } catch { throw toolError(error) }
            list.append((RangeReader(fd: text.fd, start: from, end: start, origin: text.origin), false))
        }
        list.append((RangeReader(fd: text.fd, start: start, end: end, origin: text.origin), true))
        readers.append(list)
    }
    var spills: [CharacterSpill?] = []
    var spillError: ToolError?
    if onCharacter != nil {
        for j in 0..<B { spills.append(j == 0 ? nil : try CharacterSpill()) }
        scorer.onCharacter = { j, c in
            if j == 0 { onCharacter!(c); return }
            guard spillError == nil else { return }
            do { try spills[j]!.append(c) } catch let e as ToolError { spillError = e } catch {}
        }
    }
    var piece: [Unicode.Scalar] = []
    do {
        while true {
            for j in 0..<B {
                // enough known characters for a chunk; a run of unknown ones is bounded too
                while scorer.pendingKnown(stream: j) < scorer.maxSteps, scorer.pendingCount(stream: j) < segmentReadSize,
                      !readers[j].isEmpty {
                    piece.removeAll(keepingCapacity: true)
                    if try readers[j][0].reader.next(into: &piece) {
                        let scored = readers[j][0].scored
                        for s in piece { scorer.feed(s, stream: j, scored: scored) }
                    } else {
                        readers[j].removeFirst()
                    }
                }
            }
            if !scorer.step() && readers.allSatisfy(\.isEmpty) { break }
            if let spillError { throw spillError }
            if try afterStep() { break }
        }
    } catch let error as TextError {
        throw toolError(error)
    }
    scorer.flush()
    if let spillError { throw spillError }
    for j in 1..<max(B, 1) where j < spills.count { try spills[j]!.replay { onCharacter!($0) } }
    return scorer.totals.reduce(ScoreTotals(), +)
}

/// `--reset-each-line`, batched: the lines of `fd` (read sequentially, so a pipe works too) are independent
/// streams from the fresh state, `lineStreams` at a time; each queued batch of lines is scored and reported
/// in text order. A line longer than a batch continues in its stream, its state kept.
func scoreLines(
    fd: Int32, subject: String, parameters: Parameters, vocabulary: Vocabulary, weights: WeightFormat = .fp32,
    products: Precision = .fp32, candidates: Int,
    onCharacter: ((ScoredCharacter) -> Void)?, afterRead: () throws -> Bool
) throws -> ScoreTotals {
    let scorer = BatchScorer(parameters: parameters, vocabulary: vocabulary, streams: lineStreams, weights: weights,
                             products: products)
    scorer.candidates = candidates
    // per stream, the queued lines (their number in the batch) and how many of their characters are to come
    var owed: [[(line: Int, count: Int)]] = Array(repeating: [], count: lineStreams)
    var results: [[ScoredCharacter]] = []
    let reporting = onCharacter != nil
    if reporting {
        scorer.onCharacter = { b, c in
            let line = owed[b][0].line
            results[line].append(c)
            owed[b][0].count -= 1
            if owed[b][0].count == 0 { owed[b].removeFirst() }
        }
    }
    var current = -1       // the stream of the line being read, -1 between lines
    var currentCount = 0   // its characters fed in this batch
    var queued = 0
    var load = [Int](repeating: 0, count: lineStreams)
    func emit() {
        if reporting && current >= 0 && currentCount > 0 { owed[current].append((results.count - 1, currentCount)) }
        currentCount = 0
        scorer.flush()
        if let onCharacter { for line in results { for c in line { onCharacter(c) } } }
        results.removeAll(keepingCapacity: true)
        if reporting && current >= 0 { results.append([]) }  // the line read on continues first in the next batch
        queued = 0
        for b in 0..<lineStreams { load[b] = 0 }
    }
    var reader = UTF8Reader(fd: fd)
    var chunk: [Unicode.Scalar] = []
    do {
        while try reader.next(into: &chunk) {
            for s in chunk {
                if current < 0 {
                    // a new line, on the least loaded stream
                    var best = 0
                    for b in 1..<lineStreams where load[b] < load[best] { best = b }
                    current = best
                    if reporting { results.append([]) }
                }
                scorer.feed(s, stream: current)
                load[current] += 1
                currentCount += 1
                queued += 1
                if s == "\n" {
                    if reporting { owed[current].append((results.count - 1, currentCount)) }
                    scorer.endText(stream: current)
                    current = -1
                    currentCount = 0
                }
                if queued >= lineBatchCharacters { emit() }
            }
            if try afterRead() { break }
        }
    } catch let error as TextError {
        throw ToolError(subject: subject, cause: error.description)
    }
    emit()
    return scorer.totals.reduce(ScoreTotals(), +)
}

/// Files from this size on are scored as `automaticSegments` segments when `--jobs` is not given (summary
/// mode only: records would wait in temporary files). Measured on one thread, burn-in aside: 64 streams score
/// a 2x512 LSTM 4.3-4.5 times as fast as the exact single stream, a 2x256 1.7 times; with the default burn-in
/// the bits per character moved by about 1e-9; its extra work, 63 × 500 characters, is under 0.2% of a file
/// this big.
public let automaticJobsSize = 16 << 20
public let automaticSegments = 64

/// The segments a file of `size` bytes is cut into when `--jobs` is not given: 1 (exact scoring) below
/// `automaticJobsSize`, else `automaticSegments`.
public func automaticJobs(size: Int) -> Int { size >= automaticJobsSize ? automaticSegments : 1 }
