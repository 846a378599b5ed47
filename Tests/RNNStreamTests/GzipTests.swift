import Foundation
import Testing
import RNNKernels
import RNNText
import RNNModel
import RNNFormat
import RNNInference
import RNNTraining
import RNNShell
import RNNTools

@Suite struct GzipTests {
    static func sample(_ n: Int) -> [UInt8] {
        var g = SplitMix(seed: 7)
        // Compressible but not trivial: small alphabet.
        return (0..<n).map { _ in UInt8(97 + g.next() % 7) }
    }

    @Test func roundTrip() throws {
        for n in [0, 1, 100, 70_000, 1_000_000] {
            let data = Self.sample(n)
            let z = Gzip.compress(data)
            #expect(z[0] == 0x1f && z[1] == 0x8b)
            #expect(Array(z[4..<8]) == [0, 0, 0, 0], "mtime 0")
            #expect(z[3] == 0, "no flags: no name, no comment")
            #expect(z[9] == 3, "OS byte")
            #expect(try Gzip.decompress(z, maxOutput: n + 1) == data)
            #expect(try Gzip.decompress(z, maxOutput: n) == data)
            #expect(Gzip.compress(data) == z, "deterministic")
        }
    }

    @Test func limit() {
        let data = Self.sample(1_000_000)
        let z = Gzip.compress(data)
        #expect(throws: GzipError.tooLarge(limit: 999_999)) { try Gzip.decompress(z, maxOutput: 999_999) }
        #expect(throws: GzipError.tooLarge(limit: 1 << 19)) { try Gzip.decompress(z, maxOutput: 1 << 19) }
        #expect(GzipError.tooLarge(limit: 1 << 30).description == "decompressed size exceeds the 1024 MiB limit")
    }

    @Test func errors() {
        let data = Self.sample(100_000)
        let z = Gzip.compress(data)
        #expect(throws: GzipError.empty) { try Gzip.decompress([], maxOutput: 100) }
        #expect(throws: GzipError.badMagic) { try Gzip.decompress(Array("hello world, not gzip".utf8), maxOutput: 100) }
        #expect(throws: GzipError.badMagic) { try Gzip.decompress([0x1f, 0x8c] + z[2...], maxOutput: 1 << 20) }
        for cut in [1, 2, 10, 11, 100, z.count / 2, z.count - 9, z.count - 4, z.count - 1] {
            #expect(throws: GzipError.truncated, "cut at \(cut)") { try Gzip.decompress(Array(z[0..<cut]), maxOutput: 1 << 20) }
        }
        #expect(throws: GzipError.trailingData) { try Gzip.decompress(z + [0], maxOutput: 1 << 20) }
        #expect(throws: GzipError.trailingData) { try Gzip.decompress(z + z, maxOutput: 1 << 20) }
        // Trailer CRC and length.
        var crc = z; crc[z.count - 8] ^= 1
        #expect(throws: GzipError.crcMismatch) { try Gzip.decompress(crc, maxOutput: 1 << 20) }
        var len = z; len[z.count - 2] ^= 1
        #expect(throws: GzipError.lengthMismatch) { try Gzip.decompress(len, maxOutput: 1 << 20) }
        // The trailer's size sizes the first buffer: one too small (34,464 of 100,000: the rest is inflated in
        // chunks) or too large (16.9M, capped by the limit) still ends in the length check, and only there.
        #expect(len[z.count - 2] == 0, "ISIZE now 100,000 - 65,536")
        var longer = z; longer[z.count - 1] ^= 1
        #expect(throws: GzipError.lengthMismatch) { try Gzip.decompress(longer, maxOutput: 1 << 20) }
        #expect(throws: GzipError.tooLarge(limit: 99_999)) { try Gzip.decompress(longer, maxOutput: 99_999) }
        // Every flipped byte in the body is detected (as some error), never crashes.
        for i in stride(from: 10, to: z.count - 8, by: max(1, z.count / 97)) {
            var bad = z; bad[i] ^= 0x55
            #expect(throws: GzipError.self, "flip at \(i)") { try Gzip.decompress(bad, maxOutput: 1 << 20) }
        }
        var block = z; block[10] = 0xff  // invalid block type 3
        #expect(throws: GzipError.self) { try Gzip.decompress(block, maxOutput: 1 << 20) }
        do {
            _ = try Gzip.decompress(block, maxOutput: 1 << 20)
        } catch {
            #expect(error.description.hasPrefix("corrupted (gzip data error: "))
        }
    }

    @Test func readableByGzipCommand() throws {
        let gzip = "/bin/gzip"
        guard FileManager.default.isExecutableFile(atPath: gzip) else { return }
        let data = Self.sample(50_000)
        let out = try runProcess(gzip, ["-dc"], input: Gzip.compress(data))
        #expect(out == data)
        // And we read what gzip writes.
        let theirs = try runProcess(gzip, ["-c", "-n"], input: data)
        #expect(try Gzip.decompress(theirs, maxOutput: 1 << 20) == data)
    }
}

/// A tiny deterministic generator for test data.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

/// Runs a command with `input` on stdin and returns its stdout (the input is written from a temporary file
/// to avoid pipe deadlocks).
func runProcess(_ path: String, _ args: [String], input: [UInt8]) throws -> [UInt8] {
    let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("rnnstream-\(UUID().uuidString)")
    try Data(input).write(to: tmp)
    defer { try? FileManager.default.removeItem(at: tmp) }
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    p.standardInput = try FileHandle(forReadingFrom: tmp)
    let pipe = Pipe()
    p.standardOutput = pipe
    try p.run()
    let out = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    #expect(p.terminationStatus == 0)
    return [UInt8](out)
}
