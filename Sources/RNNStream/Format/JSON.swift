import RNNModel
import RNNKernels
import RNNText

/// A parsed JSON value (RFC 8259). Objects keep their members in file order; keys are unique.
public enum JSONValue: Sendable, Equatable {
    case object([(key: String, value: JSONValue)])
    case array([JSONValue])
    case string(String)
    case number(Double)
    case bool(Bool)
    case null

    public static func == (a: JSONValue, b: JSONValue) -> Bool {
        switch (a, b) {
        case let (.object(x), .object(y)):
            return x.count == y.count && zip(x, y).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        case let (.array(x), .array(y)): return x == y
        case let (.string(x), .string(y)): return x == y
        case let (.number(x), .number(y)): return x == y
        case let (.bool(x), .bool(y)): return x == y
        case (.null, .null): return true
        default: return false
        }
    }

    /// The member named `key` of an object (nil for other values or a missing key).
    public subscript(key: String) -> JSONValue? {
        guard case .object(let members) = self else { return nil }
        return members.first { $0.key == key }?.value
    }

    public var stringValue: String? {
        if case .string(let s) = self { return s }
        return nil
    }

    public var arrayValue: [JSONValue]? {
        if case .array(let a) = self { return a }
        return nil
    }

    public var objectValue: [(key: String, value: JSONValue)]? {
        if case .object(let o) = self { return o }
        return nil
    }

    /// The value as an `Int` when it is a number with an exact integer value of magnitude at most 2^53
    /// (so no precision was lost parsing it); nil otherwise.
    public var intValue: Int? {
        guard case .number(let d) = self, d.isFinite, d == d.rounded(.towardZero),
              abs(d) <= 9_007_199_254_740_992 else { return nil }
        return Int(d)
    }

    /// Compact JSON text for this value (members in stored order, no whitespace).
    public var jsonText: String {
        var out = ""
        write(to: &out)
        return out
    }

    private func write(to out: inout String) {
        // Values built by the parser are at most `maxDepth` deep, so this recursion is bounded for them.
        switch self {
        case .object(let members):
            out += "{"
            for (i, m) in members.enumerated() {
                if i > 0 { out += "," }
                out += jsonString(m.key)
                out += ":"
                m.value.write(to: &out)
            }
            out += "}"
        case .array(let items):
            out += "["
            for (i, v) in items.enumerated() {
                if i > 0 { out += "," }
                v.write(to: &out)
            }
            out += "]"
        case .string(let s): out += jsonString(s)
        case .number(let d): out += jsonNumber(d)
        case .bool(let b): out += b ? "true" : "false"
        case .null: out += "null"
        }
    }
}

/// Why JSON text was rejected, with the byte offset where the problem was found.
public struct JSONParseError: Error, CustomStringConvertible, Equatable, Sendable {
    public var message: String
    public var offset: Int
    public var description: String { "\(message) at byte \(offset)" }
}

/// A strict JSON parser with bounded nesting and input size.
///
/// Rejects: anything but one value surrounded by optional whitespace, invalid UTF-8, unescaped control
/// characters, lone surrogates in `\u` escapes, duplicate object keys, leading zeros, `NaN`/`Infinity`,
/// numbers that overflow a `Double`, nesting deeper than `maxDepth`, input longer than `maxBytes`.
/// It never traps on any input: recursion is limited by `maxDepth`, and every index is checked.
public enum JSON {
    public static let defaultMaxDepth = 64
    public static let defaultMaxBytes = 16 << 20

    public static func parse(
        _ bytes: [UInt8], maxDepth: Int = defaultMaxDepth, maxBytes: Int = defaultMaxBytes
    ) throws(JSONParseError) -> JSONValue {
        try parse(bytes[...], maxDepth: maxDepth, maxBytes: maxBytes)
    }

    public static func parse(
        _ bytes: ArraySlice<UInt8>, maxDepth: Int = defaultMaxDepth, maxBytes: Int = defaultMaxBytes
    ) throws(JSONParseError) -> JSONValue {
        if bytes.count > maxBytes {
            throw JSONParseError(message: "JSON text is longer than \(maxBytes) bytes", offset: 0)
        }
        var parser = JSONParser(bytes: Array(bytes), maxDepth: maxDepth)
        return try parser.parseDocument()
    }

    public static func parse(
        _ text: String, maxDepth: Int = defaultMaxDepth, maxBytes: Int = defaultMaxBytes
    ) throws(JSONParseError) -> JSONValue {
        try parse(Array(text.utf8), maxDepth: maxDepth, maxBytes: maxBytes)
    }
}

private struct JSONParser {
    let bytes: [UInt8]
    let maxDepth: Int
    var pos = 0

    init(bytes: [UInt8], maxDepth: Int) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    func fail(_ message: String, at offset: Int? = nil) -> JSONParseError {
        JSONParseError(message: message, offset: offset ?? pos)
    }

    var atEnd: Bool { pos >= bytes.count }
    var peek: UInt8? { pos < bytes.count ? bytes[pos] : nil }

    mutating func skipWhitespace() {
        while pos < bytes.count {
            switch bytes[pos] {
            case 0x20, 0x09, 0x0a, 0x0d: pos += 1
            default: return
            }
        }
    }

    mutating func parseDocument() throws(JSONParseError) -> JSONValue {
        skipWhitespace()
        let value = try parseValue(depth: 0)
        skipWhitespace()
        if !atEnd { throw fail("unexpected data after the JSON value") }
        return value
    }

    mutating func parseValue(depth: Int) throws(JSONParseError) -> JSONValue {
        guard let c = peek else { throw fail("unexpected end of JSON text") }
        switch c {
        case UInt8(ascii: "{"): return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["): return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""): return .string(try parseString())
        case UInt8(ascii: "t"): try expectLiteral("true"); return .bool(true)
        case UInt8(ascii: "f"): try expectLiteral("false"); return .bool(false)
        case UInt8(ascii: "n"): try expectLiteral("null"); return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try parseNumber())
        default: throw fail("unexpected character \(describe(c))")
        }
    }

    mutating func expectLiteral(_ word: StaticString) throws(JSONParseError) {
        let start = pos
        let n = word.utf8CodeUnitCount
        guard bytes.count - pos >= n else { throw fail("invalid literal", at: start) }
        let ok = word.withUTF8Buffer { w in
            for i in 0..<n where bytes[pos + i] != w[i] { return false }
            return true
        }
        if !ok { throw fail("invalid literal", at: start) }
        pos += n
    }

    mutating func parseObject(depth: Int) throws(JSONParseError) -> JSONValue {
        if depth > maxDepth { throw fail("nesting deeper than \(maxDepth) levels") }
        pos += 1  // {
        var members: [(key: String, value: JSONValue)] = []
        var seen = Set<String>()
        skipWhitespace()
        if peek == UInt8(ascii: "}") { pos += 1; return .object(members) }
        while true {
            skipWhitespace()
            guard peek == UInt8(ascii: "\"") else { throw fail(atEnd ? "unexpected end of JSON text" : "expected a string key") }
            let keyStart = pos
            let key = try parseString()
            if !seen.insert(key).inserted { throw fail("duplicate key \(briefJSON(key))", at: keyStart) }
            skipWhitespace()
            guard peek == UInt8(ascii: ":") else { throw fail(atEnd ? "unexpected end of JSON text" : "expected ':'") }
            pos += 1
            skipWhitespace()
            let value = try parseValue(depth: depth)
            members.append((key, value))
            skipWhitespace()
            switch peek {
            case UInt8(ascii: ","): pos += 1
            case UInt8(ascii: "}"): pos += 1; return .object(members)
            case nil: throw fail("unexpected end of JSON text")
            default: throw fail("expected ',' or '}'")
            }
        }
    }

    mutating func parseArray(depth: Int) throws(JSONParseError) -> JSONValue {
        if depth > maxDepth { throw fail("nesting deeper than \(maxDepth) levels") }
        pos += 1  // [
        var items: [JSONValue] = []
        skipWhitespace()
        if peek == UInt8(ascii: "]") { pos += 1; return .array(items) }
        while true {
            skipWhitespace()
            items.append(try parseValue(depth: depth))
            skipWhitespace()
            switch peek {
            case UInt8(ascii: ","): pos += 1
            case UInt8(ascii: "]"): pos += 1; return .array(items)
            case nil: throw fail("unexpected end of JSON text")
            default: throw fail("expected ',' or ']'")
            }
        }
    }

    mutating func parseHex4() throws(JSONParseError) -> UInt32 {
        guard bytes.count - pos >= 4 else { throw fail("truncated \\u escape") }
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = bytes[pos]
            let d: UInt32
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): d = UInt32(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): d = UInt32(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): d = UInt32(c - UInt8(ascii: "A") + 10)
            default: throw fail("invalid hex digit in \\u escape")
            }
            v = v << 4 | d
            pos += 1
        }
        return v
    }

    mutating func parseString() throws(JSONParseError) -> String {
        let start = pos
        pos += 1  // opening quote
        var buf: [UInt8] = []
        while true {
            guard pos < bytes.count else { throw fail("unterminated string", at: start) }
            let c = bytes[pos]
            switch c {
            case UInt8(ascii: "\""):
                pos += 1
                guard let s = String(validating: buf, as: UTF8.self) else {
                    throw fail("invalid UTF-8 in string", at: start)
                }
                return s
            case UInt8(ascii: "\\"):
                let escStart = pos
                pos += 1
                guard pos < bytes.count else { throw fail("unterminated string", at: start) }
                let e = bytes[pos]
                pos += 1
                switch e {
                case UInt8(ascii: "\""): buf.append(0x22)
                case UInt8(ascii: "\\"): buf.append(0x5c)
                case UInt8(ascii: "/"): buf.append(0x2f)
                case UInt8(ascii: "b"): buf.append(0x08)
                case UInt8(ascii: "f"): buf.append(0x0c)
                case UInt8(ascii: "n"): buf.append(0x0a)
                case UInt8(ascii: "r"): buf.append(0x0d)
                case UInt8(ascii: "t"): buf.append(0x09)
                case UInt8(ascii: "u"):
                    var v = try parseHex4()
                    if (0xD800...0xDBFF).contains(v) {
                        guard bytes.count - pos >= 2, bytes[pos] == UInt8(ascii: "\\"), bytes[pos + 1] == UInt8(ascii: "u") else {
                            throw fail("lone surrogate in \\u escape", at: escStart)
                        }
                        pos += 2
                        let low = try parseHex4()
                        guard (0xDC00...0xDFFF).contains(low) else { throw fail("lone surrogate in \\u escape", at: escStart) }
                        v = 0x10000 + ((v - 0xD800) << 10) + (low - 0xDC00)
                    } else if (0xDC00...0xDFFF).contains(v) {
                        throw fail("lone surrogate in \\u escape", at: escStart)
                    }
                    guard let scalar = Unicode.Scalar(v) else { throw fail("invalid \\u escape", at: escStart) }
                    appendUTF8(scalar, to: &buf)
                default:
                    throw fail("invalid escape \\\(describeRaw(e))", at: escStart)
                }
            case 0x00..<0x20:
                throw fail("unescaped control character in string")
            default:
                buf.append(c)
                pos += 1
            }
        }
    }

    func isDigit(_ c: UInt8?) -> Bool {
        guard let c else { return false }
        return c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")
    }

    mutating func parseNumber() throws(JSONParseError) -> Double {
        let start = pos
        if peek == UInt8(ascii: "-") { pos += 1 }
        guard isDigit(peek) else { throw fail("invalid number", at: start) }
        if peek == UInt8(ascii: "0") {
            pos += 1
            if isDigit(peek) { throw fail("leading zero in number", at: start) }
        } else {
            while isDigit(peek) { pos += 1 }
        }
        if peek == UInt8(ascii: ".") {
            pos += 1
            guard isDigit(peek) else { throw fail("invalid number", at: start) }
            while isDigit(peek) { pos += 1 }
        }
        if peek == UInt8(ascii: "e") || peek == UInt8(ascii: "E") {
            pos += 1
            if peek == UInt8(ascii: "+") || peek == UInt8(ascii: "-") { pos += 1 }
            guard isDigit(peek) else { throw fail("invalid number", at: start) }
            while isDigit(peek) { pos += 1 }
        }
        let text = String(decoding: bytes[start..<pos], as: UTF8.self)
        guard let d = Double(text), d.isFinite else { throw fail("number out of range", at: start) }
        return d
    }
}

private func describe(_ c: UInt8) -> String {
    c >= 0x21 && c < 0x7f ? "'\(Character(Unicode.Scalar(c)))'" : "0x" + String(c, radix: 16)
}

private func describeRaw(_ c: UInt8) -> String {
    c >= 0x21 && c < 0x7f ? String(Character(Unicode.Scalar(c))) : "(0x" + String(c, radix: 16) + ")"
}

/// The JSON string literal for `s`, quotes included: `"` and `\` are escaped, control characters become
/// `\n \t \r \b \f` or `\u00XX`, and everything else is written as raw UTF-8.
public func jsonString(_ s: String) -> String {
    var out: [UInt8] = [UInt8(ascii: "\"")]
    out.reserveCapacity(s.utf8.count + 2)
    let hex = Array("0123456789abcdef".utf8)
    for b in s.utf8 {
        switch b {
        case UInt8(ascii: "\""): out += [0x5c, 0x22]
        case UInt8(ascii: "\\"): out += [0x5c, 0x5c]
        case 0x0a: out += [0x5c, UInt8(ascii: "n")]
        case 0x09: out += [0x5c, UInt8(ascii: "t")]
        case 0x0d: out += [0x5c, UInt8(ascii: "r")]
        case 0x08: out += [0x5c, UInt8(ascii: "b")]
        case 0x0c: out += [0x5c, UInt8(ascii: "f")]
        case 0x00..<0x20:
            out += [0x5c, UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hex[Int(b >> 4)], hex[Int(b & 15)]]
        default: out.append(b)
        }
    }
    out.append(UInt8(ascii: "\""))
    return String(decoding: out, as: UTF8.self)
}

/// `jsonString(s)` for messages: at most `limit` scalars of `s`, then `…` when it was cut.
func briefJSON(_ s: String, limit: Int = 80) -> String {
    guard s.unicodeScalars.count > limit else { return jsonString(s) }
    var short = String.UnicodeScalarView()
    short.append(contentsOf: s.unicodeScalars.prefix(limit))
    return jsonString(String(short)) + "…"
}

/// `value.jsonText` for messages, cut after `limit` characters (values from a file can be huge).
func briefJSON(_ value: JSONValue, limit: Int = 80) -> String {
    switch value {
    case .string(let s): return briefJSON(s, limit: limit)
    case .number, .bool, .null: return value.jsonText
    case .array, .object:
        let text = value.jsonText
        guard text.unicodeScalars.count > limit else { return text }
        var short = String.UnicodeScalarView()
        short.append(contentsOf: text.unicodeScalars.prefix(limit))
        return String(short) + "…"
    }
}

/// JSON text for a finite number: integers (up to 2^53) without a fraction, others in Swift's shortest
/// round-tripping form. Non-finite values have no JSON form and are written as `null`.
public func jsonNumber(_ d: Double) -> String {
    guard d.isFinite else { return "null" }
    if d == d.rounded(.towardZero) && abs(d) <= 9_007_199_254_740_992 {
        return d == 0 ? "0" : String(Int(d))
    }
    return "\(d)"
}
