import Testing
import RNNKernels
import RNNText
import RNNModel
import RNNFormat
import RNNInference
import RNNTraining
import RNNShell
import RNNTools

@Suite struct JSONTests {
    @Test func parsesValues() throws {
        let v = try JSON.parse(#" { "a" : [1, -2.5e3, true, false, null, "x"], "b": {}, "c": [] } "#)
        #expect(v["a"] == .array([.number(1), .number(-2500), .bool(true), .bool(false), .null, .string("x")]))
        #expect(v["b"] == .object([]))
        #expect(v["c"] == .array([]))
        #expect(v.objectValue?.map(\.key) == ["a", "b", "c"])
        #expect(try JSON.parse("0").intValue == 0)
        #expect(try JSON.parse("-0").intValue == 0)
        #expect(try JSON.parse("2147483648").intValue == 2_147_483_648)
        #expect(try JSON.parse("1.5").intValue == nil)
        #expect(try JSON.parse("1e300") == .number(1e300))
    }

    @Test func stringEscapes() throws {
        #expect(try JSON.parse(#""a\"b\\c\/d\b\f\n\r\t""#) == .string("a\"b\\c/d\u{8}\u{c}\n\r\t"))
        #expect(try JSON.parse(#""\u0041\u00e9\u20ac""#) == .string("Aé€"))
        #expect(try JSON.parse(#""\ud83d\ude00""#) == .string("😀"))
        #expect(try JSON.parse(#""\uD83D\uDE00""#) == .string("😀"))
        #expect(try JSON.parse("\"é😀\"") == .string("é😀"))
        #expect(try JSON.parse(#""\u0000""#) == .string("\u{0}"))
    }

    @Test func rejects() {
        let bad: [String] = [
            "", " ", "{", "}", "[", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "[1 2]", "01", "-", "1.", ".5", "1e",
            "+1", "NaN", "Infinity", "-Infinity", "tru", "nul", "truex", "1 2", "\"abc", "\"\\x\"", "\"\\u12\"",
            "\"\\u12g4\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"", "\"\\ud800x\"", "\"a\nb\"", "\"\t\"",
            "{\"a\":1,\"a\":2}", "1e400", "-1e400", "[1]]", "\u{FEFF}1", "'a'",
        ]
        for text in bad {
            #expect(throws: JSONParseError.self, "\(jsonString(text))") { try JSON.parse(text) }
        }
        // Invalid UTF-8 inside a string, and an encoded surrogate.
        #expect(throws: JSONParseError.self) { try JSON.parse([0x22, 0xff, 0x22]) }
        #expect(throws: JSONParseError.self) { try JSON.parse([0x22, 0xed, 0xa0, 0x80, 0x22]) }
        #expect(throws: JSONParseError.self) { try JSON.parse([0x22, 0xc0, 0xaf, 0x22]) }
    }

    @Test func limits() throws {
        let ok = String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(throws: Never.self) { try JSON.parse(ok) }
        let deep = String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        #expect(throws: JSONParseError.self) { try JSON.parse(deep) }
        // A nesting bomb far deeper than any stack would survive.
        let bomb = String(repeating: "{\"a\":[", count: 500_000)
        do {
            _ = try JSON.parse(bomb)
            Issue.record("bomb accepted")
        } catch {
            #expect(error.message.contains("nesting deeper than 64"))
        }
        #expect(throws: JSONParseError.self) { try JSON.parse("[1, 2, 3]", maxBytes: 8) }
        #expect(throws: Never.self) { try JSON.parse("[1, 2, 3]", maxBytes: 9) }
    }

    @Test func encoder() throws {
        #expect(jsonString("abc") == #""abc""#)
        #expect(jsonString("a\"b\\c") == #""a\"b\\c""#)
        #expect(jsonString("\n\t\r\u{8}\u{c}\u{0}\u{1f}") == #""\n\t\r\b\f\u0000\u001f""#)
        #expect(jsonString("é😀/\u{7f}") == "\"é😀/\u{7f}\"")
        // Round trip through the parser for every scalar class.
        let samples = ["", "\n !abcé😀", "\u{0}\u{1}\u{2028}\u{FFFF}\u{10FFFF}", String(repeating: "\"\\", count: 10)]
        for s in samples {
            #expect(try JSON.parse(jsonString(s)) == .string(s))
        }
        let v = try JSON.parse(#"{"k":[1,2.5,"s",null,true,{"x":false}]}"#)
        #expect(v.jsonText == #"{"k":[1,2.5,"s",null,true,{"x":false}]}"#)
        #expect(try JSON.parse(v.jsonText) == v)
    }

    @Test func fuzzNeverCrashes() {
        var g = SplitMix(seed: 42)
        let alphabet = Array("{}[]\":,-0123456789.eE+ \\u\"truefalsenullabcdD8\u{0}\n".utf8) + [0xc3, 0xa9, 0xff, 0xed]
        let seeds = [#"{"a":[1,{"b":"c\u00e9"}],"d":-1.5e-3}"#, #"[true,false,null,"\ud83d\ude00"]"#]
        for i in 0..<20_000 {
            var bytes: [UInt8]
            if i % 2 == 0 {
                bytes = Array(seeds[i % 4 / 2].utf8)
                for _ in 0..<(1 + Int(g.next() % 4)) {
                    let at = Int(g.next() % UInt64(bytes.count + 1))
                    switch g.next() % 3 {
                    case 0: bytes.insert(alphabet[Int(g.next() % UInt64(alphabet.count))], at: at)
                    case 1: if at < bytes.count { bytes.remove(at: at) }
                    default: if at < bytes.count { bytes[at] = alphabet[Int(g.next() % UInt64(alphabet.count))] }
                    }
                }
            } else {
                bytes = (0..<Int(g.next() % 40)).map { _ in alphabet[Int(g.next() % UInt64(alphabet.count))] }
            }
            if let v = try? JSON.parse(bytes) {
                // Whatever parses re-encodes to equivalent JSON.
                #expect((try? JSON.parse(v.jsonText)) == v)
            }
        }
    }
}
