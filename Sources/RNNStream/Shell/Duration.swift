import RNNText

/// The longest duration `parseDuration` accepts: 36500 days (about 100 years), far below what a
/// nanosecond count in an Int64 can hold.
public let maximumDurationSeconds: Double = 36_500 * 86_400

/// Parses a duration into seconds.
///
/// Either a bare number of seconds ("90", "1.5") or one or more `<number><unit>` parts with units
/// `d`, `h`, `m`, `s`, `ms` in decreasing order, each at most once ("90s", "500ms", "5m", "2h",
/// "1h30m", "1m30s", "1d"). Numbers are decimal digits with an optional fraction ("1.5h"); no sign,
/// exponent, spaces, NaN or infinity. Zero is accepted. The thrown error has no subject (the caller
/// names the option) and the usage exit status.
public func parseDuration(_ s: String) throws(ToolError) -> Double {
    let invalid = ToolError(cause: "invalid duration '\(s)' (use e.g. 90s, 5m, 1h30m)", status: ExitStatus.usage)
    let bytes = Array(s.utf8)
    guard !bytes.isEmpty else { throw invalid }
    func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
    func isLetter(_ b: UInt8) -> Bool { b >= 0x61 && b <= 0x7A }

    var i = 0
    var total = 0.0
    var lastRank = Int.max
    while i < bytes.count {
        // <digits>[.<digits>]
        let numberStart = i
        while i < bytes.count && isDigit(bytes[i]) { i += 1 }
        guard i > numberStart else { throw invalid }
        if i < bytes.count && bytes[i] == 0x2E {
            i += 1
            let fractionStart = i
            while i < bytes.count && isDigit(bytes[i]) { i += 1 }
            guard i > fractionStart else { throw invalid }
        }
        guard let value = Double(String(decoding: bytes[numberStart..<i], as: UTF8.self)) else { throw invalid }
        let unitStart = i
        while i < bytes.count && isLetter(bytes[i]) { i += 1 }
        let rank: Int
        let scale: Double
        switch String(decoding: bytes[unitStart..<i], as: UTF8.self) {
        case "":
            // A bare number is seconds, but only as the whole duration ("1h30" is ambiguous).
            guard numberStart == 0 && i == bytes.count else { throw invalid }
            rank = 1; scale = 1
        case "d": rank = 4; scale = 86_400
        case "h": rank = 3; scale = 3_600
        case "m": rank = 2; scale = 60
        case "s": rank = 1; scale = 1
        case "ms": rank = 0; scale = 0.001
        default: throw invalid
        }
        guard rank < lastRank else { throw invalid }
        lastRank = rank
        total += value * scale
    }
    guard total.isFinite && total <= maximumDurationSeconds else {
        throw ToolError(cause: "duration '\(s)' is too long (at most 36500d)", status: ExitStatus.usage)
    }
    return total
}

/// A short human form of a duration for progress lines: "9.5s" below ten seconds, then "42s",
/// "1m05s", "2h03m" (hours keep counting past a day: "49h00m"). Negative values show as "0.0s",
/// NaN as "?", infinity and absurdly large values as "inf".
public func formatDuration(_ seconds: Double) -> String {
    if seconds.isNaN { return "?" }
    let seconds = max(0, seconds)
    guard seconds < 1e15 else { return "inf" }
    func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
    let tenths = Int((seconds * 10).rounded())
    if tenths < 100 { return "\(tenths / 10).\(tenths % 10)s" }
    let total = Int(seconds.rounded())
    if total < 60 { return "\(total)s" }
    if total < 3_600 { return "\(total / 60)m\(two(total % 60))s" }
    let minutes = (total + 30) / 60
    return "\(minutes / 60)h\(two(minutes % 60))m"
}
