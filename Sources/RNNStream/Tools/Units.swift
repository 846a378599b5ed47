import Foundation
import RNNInference
import RNNModel
import RNNText
import RNNShell

/// How many units `rnn-score --unit top` lists, and how many get a section of the `--html` page.
public let unitsListed = 10
public let unitsShown = 4
/// The largest text `--unit top` holds in memory (it reads the text twice: once to find the units, once to
/// shade by them).
public let unitTextLimit = 64 << 20

/// `rnn-score --unit`: the text shaded by a hidden unit's activation (`L:K`), or the units that vary most
/// with it (`top`), as a list, as an `--html` page with a section per unit, or shaded on the terminal by the
/// first. Exact stream scoring from the fresh state, as without `--unit`.
func scoreUnits(_ choice: UnitChoice, request: ScoreRequest, model: Model, parameters: Parameters, files: [String],
                colored: Bool, out: CheckedOutput, io: ToolStreams) throws -> Int32 {
    let config = model.config
    let scorer = StreamScorer(parameters: parameters, vocabulary: model.vocabulary)
    if request.mode == .html { scorer.candidates = heatmapCandidates }

    // the units and their spread (known only when they were searched for)
    var units: [(unit: HiddenUnit, deviation: Double?)]
    var texts: [[Unicode.Scalar]] = []
    switch choice {
    case .unit(let u):
        guard u.layer < config.layers, u.index < config.hiddenSize else {
            throw ToolError(subject: "--unit", cause: "\(u) is not a unit of this model (layers 0...\(config.layers - 1), "
                            + "units 0...\(config.hiddenSize - 1))", status: ExitStatus.usage)
        }
        units = [(u, nil)]
    case .top:
        for file in files {
            let bytes = try readWholeFile(path: file, limit: unitTextLimit, standardInput: io.input)
            do { texts.append(try UTF8Reader.decode(bytes)) } catch {
                throw ToolError(subject: file == "-" ? "standard input" : file, cause: error.description)
            }
        }
        scorer.collectUnitStatistics()
        for text in texts {
            scorer.reset()
            scorer.feed(text)
            scorer.flush()
        }
        let stats = scorer.unitStatistics!
        let count = request.mode == .html ? unitsShown : request.mode == .color ? 1 : unitsListed
        units = stats.mostVarying(min(count, config.layers * config.hiddenSize)).map { ($0, stats.deviation($0)) }
        if request.mode == .summary {
            // fields: rank, layer:unit, spread (standard deviation), mean; `sort -k3 -n -r` keeps the order
            try out.write("  rank     unit   spread     mean\n")
            for (i, u) in units.enumerated() {
                let name = u.unit.description
                try out.write(String(format: "%6d ", i + 1) + String(repeating: " ", count: max(0, 8 - name.count)) + name
                              + String(format: " %8.4f %8.4f\n", u.deviation!, stats.mean(u.unit)))
            }
            try out.flush()
            return ExitStatus.success
        }
    }

    let writer = RecordWriter(out: out, mode: request.mode, json: false, colored: colored, byUnit: true)
    scorer.onCharacter = { writer.character($0) }
    if request.mode == .html { try out.write(HeatmapPage.header(model: request.modelPath, units: units)) }
    var status = ExitStatus.success
    for u in units {
        scorer.unit = u.unit
        if request.mode == .html && units.count > 1 { try out.write(HeatmapPage.unitHeading(u.unit, deviation: u.deviation)) }
        for (i, file) in files.enumerated() {
            do {
                writer.startFile(file, label: nil)
                let before = scorer.totals
                if texts.isEmpty {
                    _ = try scoreStream(path: file, standardInput: io.input, scorer: scorer, resetEachLine: request.resetEachLine, flushLines: true) {
                        if let failure = writer.failure { throw failure }
                        try out.flush()
                        return Interrupt.requested
                    }
                } else {
                    scorer.reset()
                    scorer.feed(texts[i])
                    scorer.flush()
                    if let failure = writer.failure { throw failure }
                }
                try writer.endFile(scorer.totals - before, name: file)
                try out.flush()
                if Interrupt.requested { return Interrupt.exitStatus }
            } catch let error as ToolError {
                writer.abortFile()
                reportError(program: "rnn-score", error, fd: io.error)
                status = ExitStatus.failure
            }
        }
    }
    if request.mode == .html { try out.write(HeatmapPage.footer) }
    try out.flush()
    return status
}
