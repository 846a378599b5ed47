#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Testing
import RNNKernels
import RNNText
import RNNModel
import RNNFormat
import RNNInference
import RNNTraining
import RNNShell
import RNNTools

/// A read-only descriptor on a temporary (already unlinked) file holding `bytes`.
private func fdWith(_ bytes: [UInt8]) -> Int32 {
    var template = Array("/tmp/utf8test.XXXXXX".utf8CString)
    let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
    precondition(fd >= 0)
    unlink(String(cString: template))
    var written = 0
    while written < bytes.count {
        let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        precondition(n > 0)
        written += n
    }
    lseek(fd, 0, SEEK_SET)
    return fd
}

/// Reads `bytes` back through a descriptor with the given chunk size.
private func readThroughFD(_ bytes: [UInt8], chunkSize: Int = UTF8Reader.defaultChunkSize) throws(TextError) -> [Unicode.Scalar] {
    let fd = fdWith(bytes)
    defer { close(fd) }
    var reader = UTF8Reader(fd: fd, chunkSize: chunkSize)
    var all: [Unicode.Scalar] = []
    var buffer: [Unicode.Scalar] = []
    while try reader.next(into: &buffer) {
        #expect(!buffer.isEmpty)
        all.append(contentsOf: buffer)
    }
    #expect(reader.bytesConsumed == bytes.count)
    return all
}

private func scalars(_ s: String) -> [Unicode.Scalar] { Array(s.unicodeScalars) }

private func offsetOfError(_ bytes: [UInt8]) -> Int? {
    do {
        _ = try UTF8Reader.decode(bytes)
        return nil
    } catch {
        guard case .invalidUTF8(let offset) = error else { return nil }
        return offset
    }
}

@Suite struct UTF8ReaderTests {
    @Test func ascii() throws {
        #expect(try UTF8Reader.decode(Array("hello, world".utf8)) == scalars("hello, world"))
        #expect(try readThroughFD(Array("hello, world".utf8)) == scalars("hello, world"))
    }

    @Test func multiByteScalars() throws {
        let text = "aé€😀z\u{10FFFF}\u{80}\u{7FF}\u{800}\u{FFFF}\u{10000}"
        #expect(try UTF8Reader.decode(Array(text.utf8)) == scalars(text))
        #expect(try readThroughFD(Array(text.utf8)) == scalars(text))
        #expect(try readThroughFD(Array(text.utf8), chunkSize: 1) == scalars(text))
    }

    @Test func fourByteScalarSplitAtEveryBoundary() throws {
        // "😀" is F0 9F 98 80; shift it by 0...3 bytes of ASCII so that every chunk size in 1...5
        // splits it at every possible place.
        for pad in 0...4 {
            let text = String(repeating: "x", count: pad) + "😀y😀"
            let bytes = Array(text.utf8)
            for chunk in 1...6 {
                #expect(try readThroughFD(bytes, chunkSize: chunk) == scalars(text), "pad \(pad) chunk \(chunk)")
            }
            // Same through the in-memory decoder fed in two pieces.
            for cut in 0...bytes.count {
                var decoder = UTF8Decoder()
                var out: [Unicode.Scalar] = []
                try decoder.decode(Array(bytes[..<cut]), into: &out)
                try decoder.decode(Array(bytes[cut...]), into: &out)
                try decoder.finish()
                #expect(out == scalars(text))
                #expect(decoder.bytesConsumed == bytes.count)
            }
        }
    }

    @Test func invalidClassesReportTheOffsetOfTheBadSequence() {
        let cases: [([UInt8], Int, String)] = [
            ([0x61, 0x62, 0x80], 2, "stray continuation byte"),
            ([0x61, 0xBF, 0x61], 1, "stray continuation byte BF"),
            ([0xFF], 0, "lead byte FF"),
            ([0x61, 0xFE, 0x61], 1, "lead byte FE"),
            ([0x61, 0xF5, 0x80, 0x80, 0x80], 1, "lead byte F5 (beyond U+10FFFF)"),
            ([0x61, 0xC0, 0xAF], 1, "overlong 2-byte (C0)"),
            ([0xC1, 0xBF], 0, "overlong 2-byte (C1)"),
            ([0x61, 0x61, 0xE0, 0x80, 0xAF], 2, "overlong 3-byte"),
            ([0xE0, 0x9F, 0xBF], 0, "overlong 3-byte, top"),
            ([0x61, 0xF0, 0x80, 0x80, 0xAF], 1, "overlong 4-byte"),
            ([0xF0, 0x8F, 0xBF, 0xBF], 0, "overlong 4-byte, top"),
            ([0x61, 0xED, 0xA0, 0x80], 1, "surrogate U+D800"),
            ([0xED, 0xBF, 0xBF], 0, "surrogate U+DFFF"),
            ([0x61, 0xF4, 0x90, 0x80, 0x80], 1, "U+110000"),
            ([0x61, 0xE2, 0x28, 0xA1], 1, "bad second byte"),
            ([0x61, 0xE2, 0x82, 0x28], 1, "bad third byte"),
            ([0xF0, 0x9F, 0x98, 0x41], 0, "bad fourth byte"),
            ([0x61, 0xC3], 1, "truncated 2-byte at end"),
            ([0x61, 0x62, 0xE2, 0x82], 2, "truncated 3-byte at end"),
            ([0xF0, 0x9F, 0x98], 0, "truncated 4-byte at end"),
            ([0xC3, 0x41], 0, "truncated 2-byte before ASCII"),
        ]
        for (bytes, offset, what) in cases {
            #expect(offsetOfError(bytes) == offset, "\(what)")
            for chunk in [1, 2, 3, 64] {
                #expect(throws: TextError.invalidUTF8(byteOffset: offset), "\(what), chunk \(chunk)") {
                    _ = try readThroughFD(bytes, chunkSize: chunk)
                }
            }
        }
        // Just inside the limits: U+D7FF, U+E000, U+10FFFF are fine.
        #expect(offsetOfError([0xED, 0x9F, 0xBF, 0xEE, 0x80, 0x80, 0xF4, 0x8F, 0xBF, 0xBF]) == nil)
    }

    @Test func errorOffsetCountsAcrossChunks() {
        var bytes = [UInt8](repeating: 0x61, count: 100_000)
        bytes += [0xE2, 0x82, 0xAC, 0xC3]
        #expect(throws: TextError.invalidUTF8(byteOffset: 100_003)) { _ = try readThroughFD(bytes) }
        bytes[70_000] = 0xC0
        #expect(throws: TextError.invalidUTF8(byteOffset: 70_000)) { _ = try readThroughFD(bytes) }
    }

    @Test func errorDescription() {
        #expect(TextError.invalidUTF8(byteOffset: 1234).description == "invalid UTF-8 at byte 1234")
        #expect(TextError.readFailed(EISDIR).description == "read error: Is a directory")
    }

    @Test func nulAndCRLF() throws {
        let bytes: [UInt8] = [0x61, 0x00, 0x62, 0x0D, 0x0A, 0x00]
        let expected: [Unicode.Scalar] = ["a", "\u{0}", "b", "\r", "\n", "\u{0}"]
        #expect(try UTF8Reader.decode(bytes) == expected)
        #expect(try readThroughFD(bytes, chunkSize: 4) == expected)
    }

    @Test func emptyInput() throws {
        #expect(try UTF8Reader.decode([]) == [])
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        close(fds[1])
        defer { close(fds[0]) }
        var reader = UTF8Reader(fd: fds[0])
        var buffer: [Unicode.Scalar] = ["x"]
        #expect(try reader.next(into: &buffer) == false)
        #expect(buffer.isEmpty)
        #expect(try reader.next(into: &buffer) == false)
        #expect(reader.bytesConsumed == 0)
    }

    @Test func readAllFromPipe() throws {
        var fds: [Int32] = [0, 0]
        #expect(pipe(&fds) == 0)
        let bytes = Array("größer 😀\r\n".utf8)
        _ = bytes.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }
        close(fds[1])
        defer { close(fds[0]) }
        #expect(try UTF8Reader.readAll(fd: fds[0]) == scalars("größer 😀\r\n"))
    }

    @Test func readingADirectoryFails() {
        let fd = open("/tmp", O_RDONLY)
        #expect(fd >= 0)
        defer { close(fd) }
        #expect(throws: TextError.readFailed(EISDIR)) { _ = try UTF8Reader.readAll(fd: fd) }
    }

    @Test func writerRoundTrips() throws {
        let text = "a\u{0}é€😀\u{7F}\u{80}\u{7FF}\u{800}\u{FFFF}\u{10000}\u{10FFFF}"
        var bytes: [UInt8] = []
        for s in text.unicodeScalars { appendUTF8(s, to: &bytes) }
        #expect(bytes == Array(text.utf8))
        var bytes2: [UInt8] = []
        appendUTF8(contentsOf: text.unicodeScalars, to: &bytes2)
        #expect(bytes2 == bytes)
        #expect(try UTF8Reader.decode(bytes) == scalars(text))
    }
}
