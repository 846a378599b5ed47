import Foundation
import RNNInference
import RNNFormat
import RNNShell

/// The largest records file `rnn-score --sum` reads.
let sumInputLimit = 256 << 20

/// Reads one `rnn-score --json` summary record (a file's or a segment's): chars, bits, unknown and
/// unknown_bits must be there as numbers that fit together. Nil for a total record (it repeats the others);
/// throws a reason for anything else.
func summaryRecord(_ line: String) throws(ToolError) -> ScoreTotals? {
    let value: JSONValue
    do { value = try JSON.parse(line) } catch { throw ToolError(cause: "not JSON (\(error))") }
    guard value.objectValue != nil else { throw ToolError(cause: "not a JSON object") }
    if value["total"] == .bool(true) { return nil }
    func number(_ key: String) throws(ToolError) -> Double {
        guard case .number(let d)? = value[key], d.isFinite, d >= 0 else {
            throw ToolError(cause: "not an rnn-score --json summary record (no \(key.debugDescription) number)")
        }
        return d
    }
    func count(_ key: String) throws(ToolError) -> Int {
        guard let n = value[key]?.intValue, n >= 0 else {
            throw ToolError(cause: "not an rnn-score --json summary record (no \(key.debugDescription) count)")
        }
        return n
    }
    let chars = try count("chars"), unknown = try count("unknown")
    let bits = try number("bits"), unknownBits = try number("unknown_bits")
    guard unknown <= chars, unknownBits <= bits * (1 + 1e-12) + 1e-9 else {
        throw ToolError(cause: "not an rnn-score --json summary record (more unknown than all)")
    }
    var t = ScoreTotals()
    t.characters = chars - unknown
    t.unknown = unknown
    t.unknownBits = unknownBits
    t.nats = max(0, bits - unknownBits) * M_LN2
    return t
}

/// `rnn-score --sum`: adds up the summary records of the files (standard input when none, or "-") and
/// writes the total as one summary line, or JSON.
func runSum(_ request: ScoreRequest, streams io: ToolStreams, out: CheckedOutput) -> Int32 {
    let program = "rnn-score"
    do {
        var total = ScoreTotals()
        for file in request.files.isEmpty ? ["-"] : request.files {
            let subject = file == "-" ? "standard input" : file
            let bytes = try readWholeFile(path: file, limit: sumInputLimit, standardInput: io.input)
            guard let text = String(validating: bytes, as: UTF8.self) else {
                throw ToolError(subject: subject, cause: "not UTF-8 text")
            }
            var number = 0
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
                number += 1
                if line.allSatisfy({ $0 == " " || $0 == "\t" || $0 == "\r" }) { continue }
                do {
                    if let t = try summaryRecord(String(line)) { total = total + t }
                } catch {
                    throw ToolError(subject: "\(subject): line \(number)", cause: error.cause)
                }
            }
        }
        try out.write((request.json ? scoreJSON(total, file: nil) : scoreLine(total, name: nil)) + "\n")
        try out.flush()
        return ExitStatus.success
    } catch {
        return exitStatus(program: program, after: error, closedPipeStatus: ExitStatus.success, fd: io.error)
    }
}
