import Testing
import RNNKernels
import RNNText
import RNNModel
import RNNFormat
import RNNInference
import RNNTraining
import RNNShell
import RNNTools

@Suite struct SHA256Tests {
    @Test func fipsVectors() {
        #expect(SHA256.hex(of: []) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(SHA256.hex(of: Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SHA256.hex(of: Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
            == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test func oneMillionA() {
        // Fed in uneven pieces to exercise the block buffer.
        var h = SHA256()
        let piece = [UInt8](repeating: UInt8(ascii: "a"), count: 997)
        var left = 1_000_000
        while left > 0 {
            let n = min(left, piece.count)
            h.update(Array(piece[0..<n]))
            left -= n
        }
        #expect(SHA256.hex(h.finalize()) == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func streamingMatchesOneShot() {
        var rng = SystemRandomNumberGenerator()
        let data = (0..<1000).map { _ in UInt8.random(in: 0...255, using: &rng) }
        let expected = SHA256.hash(data)
        for split in [0, 1, 55, 56, 63, 64, 65, 127, 128, 999, 1000] {
            var h = SHA256()
            h.update(Array(data[0..<split]))
            h.update(Array(data[split...]))
            #expect(h.finalize() == expected, "split \(split)")
        }
        // Message lengths around the padding boundary.
        for n in 50...70 {
            var h = SHA256()
            for b in data[0..<n] { h.update([b]) }
            #expect(h.finalize() == SHA256.hash(Array(data[0..<n])))
        }
        var s = SHA256()
        s.update("abc")
        #expect(SHA256.hex(s.finalize()) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    }
}
