import Foundation
import RNNTraining
import RNNModel
import RNNShell

/// `rnn-fit --report FILE.html`: one self-contained page about a training run (no network, no scripts, no
/// fonts to fetch), rewritten atomically at every validation and at the end, so a browser refresh shows the run
/// so far: bits per character against characters seen and against time (the best validation marked), the
/// learning rate and the speed, the samples in the order they were taken, and the model, options and
/// provenance.
///
/// The page is well-formed XHTML as well as HTML (every element closed, every attribute quoted, every text
/// escaped), so XML tools read it too; each plotted point carries its values in `data-` attributes.
public final class TrainingReport {
    /// One evaluation, as the `--log` line of the same moment has it.
    struct Point {
        var seconds: Double
        var characters: Int
        var trainBPC: Double
        var validationBPC: Double?
        var learningRate: Double
        var charactersPerSecond: Double
        var improved: Bool
    }

    /// A text sampled from the weights of the moment.
    struct Sample {
        var seconds: Double
        var characters: Int
        var validationBPC: Double?
        var text: String
    }

    let path: String
    private let title: String
    private var facts: [(String, String)]
    private var points: [Point] = []
    private var samples: [Sample] = []
    private var last: TrainingProgress?
    private var status = "running"
    /// The first failure to write the page; the run goes on without the page.
    public private(set) var failure: ToolError?

    /// `facts`: name/value rows for the model, options and provenance table, in order.
    public init(path: String, title: String, facts: [(String, String)]) {
        self.path = path
        self.title = title
        self.facts = facts
    }

    /// Adds a fact row (or replaces one of the same name), e.g. the sizes the trainer settled on.
    public func setFact(_ name: String, _ value: String) {
        if let i = facts.firstIndex(where: { $0.0 == name }) { facts[i].1 = value } else { facts.append((name, value)) }
    }

    /// Records what the trainer reports; an evaluation rewrites the page.
    public func observe(_ event: TrainingEvent) {
        switch event {
        case let .started(batch, seq, trainCharacters, validationCharacters, parameters):
            setFact("parameters", String(parameters))
            setFact("batch × seq", "\(batch) × \(seq)")
            setFact("training characters", String(trainCharacters))
            setFact("validation characters", String(validationCharacters))
        case .progress(let p):
            last = p
        case let .evaluated(p, improved):
            last = p
            points.append(Point(seconds: p.elapsed, characters: p.characters, trainBPC: p.trainBPC,
                                validationBPC: p.validationBPC, learningRate: p.learningRate,
                                charactersPerSecond: p.charactersPerSecond, improved: improved))
            write()
        case .notice:
            break
        case .sample(let text):
            samples.append(Sample(seconds: last?.elapsed ?? 0, characters: last?.characters ?? 0,
                                  validationBPC: last?.validationBPC, text: text))
        }
    }

    /// The run has ended (`status`: "finished: stopped by time", "interrupted", …); writes the last page.
    public func finish(status: String) {
        self.status = status
        write()
    }

    /// Rewrites the page atomically; a failure is kept in `failure` (reported once by the caller).
    public func write() {
        guard failure == nil else { return }
        do throws(ToolError) {
            try writeFileAtomically(path: path, bytes: Array(html().utf8))
        } catch {
            failure = error
        }
    }

    // MARK: - The page

    func html() -> String {
        var h = """
            <!DOCTYPE html>
            <html xmlns="http://www.w3.org/1999/xhtml" lang="en">
            <head>
            <meta charset="utf-8"/>
            <title>\(escapeXML(title))</title>

            """
        if status == "running" { h += "<meta http-equiv=\"refresh\" content=\"30\"/>\n" }
        h += """
            <style>
            body { font: 14px/1.4 sans-serif; margin: 1.5em; color: #222; max-width: 70em; }
            h1 { font-size: 1.3em; } h2 { font-size: 1.1em; margin-top: 1.6em; }
            table.facts td { padding: 0.1em 0.8em 0.1em 0; vertical-align: top; }
            table.facts td.name { color: #666; }
            .charts { display: flex; flex-wrap: wrap; gap: 1em; }
            svg text { font: 11px sans-serif; fill: #444; }
            svg .axis { stroke: #888; stroke-width: 1; }
            svg .grid { stroke: #eee; stroke-width: 1; }
            svg .train { stroke: #d62728; fill: #d62728; }
            svg .val { stroke: #1f77b4; fill: #1f77b4; }
            svg .lr { stroke: #2ca02c; fill: #2ca02c; }
            svg .speed { stroke: #9467bd; fill: #9467bd; }
            svg polyline { fill: none !important; stroke-width: 1.5; }
            svg circle.best { fill: none; stroke: #000; stroke-width: 2; }
            pre.sample { white-space: pre-wrap; background: #f6f6f6; padding: 0.6em; border-left: 3px solid #1f77b4; }
            .status { color: #666; }
            </style>
            </head>
            <body>

            """
        h += "<h1>\(escapeXML(title))</h1>\n"
        h += "<p class=\"status\" id=\"status\">\(escapeXML(statusLine()))</p>\n"
        h += "<h2>Bits per character</h2>\n<div class=\"charts\">\n"
        let trainByChars = points.map { ChartPoint(x: Double($0.characters), y: $0.trainBPC, point: $0) }
        let valByChars = points.compactMap { p in p.validationBPC.map { ChartPoint(x: Double(p.characters), y: $0, point: p) } }
        let best = bestPoint()
        h += chart(id: "bpc-chars", xLabel: "characters seen", yLabel: "bits per character",
                   series: [("train", "train", trainByChars), ("validation", "val", valByChars)],
                   best: best.map { ChartPoint(x: Double($0.characters), y: $0.validationBPC!, point: $0) })
        let trainByTime = points.map { ChartPoint(x: $0.seconds, y: $0.trainBPC, point: $0) }
        let valByTime = points.compactMap { p in p.validationBPC.map { ChartPoint(x: p.seconds, y: $0, point: p) } }
        h += chart(id: "bpc-time", xLabel: "seconds", yLabel: "bits per character",
                   series: [("train", "train", trainByTime), ("validation", "val", valByTime)],
                   best: best.map { ChartPoint(x: $0.seconds, y: $0.validationBPC!, point: $0) })
        h += "</div>\n<h2>Learning rate and speed</h2>\n<div class=\"charts\">\n"
        h += chart(id: "lr", xLabel: "characters seen", yLabel: "learning rate",
                   series: [("learning rate", "lr", points.map { ChartPoint(x: Double($0.characters), y: $0.learningRate, point: $0) })],
                   best: nil)
        h += chart(id: "speed", xLabel: "characters seen", yLabel: "training characters per second",
                   series: [("speed", "speed", points.map { ChartPoint(x: Double($0.characters), y: $0.charactersPerSecond, point: $0) })],
                   best: nil)
        h += "</div>\n<h2>Samples</h2>\n"
        if samples.isEmpty { h += "<p>No samples yet.</p>\n" }
        for (i, s) in samples.enumerated() {
            let val = s.validationBPC.map { String(format: ", validation %.3f bpc", $0) } ?? ""
            h += "<h3 id=\"sample-\(i + 1)\">after \(s.characters) characters, \(escapeXML(formatDuration(s.seconds)))\(val)</h3>\n"
            h += "<pre class=\"sample\">\(escapeXML(s.text))</pre>\n"
        }
        h += "<h2>Model, options and provenance</h2>\n<table class=\"facts\">\n"
        for (name, value) in facts {
            h += "<tr><td class=\"name\">\(escapeXML(name))</td><td>\(escapeXML(value))</td></tr>\n"
        }
        h += "</table>\n</body>\n</html>\n"
        return h
    }

    private func statusLine() -> String {
        var s = status == "running" ? "Running (this page is rewritten at every validation)" : status.prefix(1).uppercased() + status.dropFirst()
        if let p = last {
            s += String(format: "; %d steps, %d characters in %@, %.0f chars/s", p.step, p.characters,
                        formatDuration(p.elapsed), p.charactersPerSecond)
        }
        if let b = bestPoint(), let v = b.validationBPC {
            s += String(format: "; best validation %.4f bpc after %d characters", v, b.characters)
        }
        return s + "."
    }

    private func bestPoint() -> Point? {
        points.filter { $0.validationBPC?.isFinite == true }.min { $0.validationBPC! < $1.validationBPC! }
    }
}

/// A plotted point and the evaluation it came from (for its data- attributes and hover title).
private struct ChartPoint {
    var x: Double
    var y: Double
    var point: TrainingReport.Point
}

/// One SVG line chart: axes with ticks and labels, a polyline and circles per series, an optional ring on
/// the best point. Non-finite values are left out.
private func chart(id: String, xLabel: String, yLabel: String, series: [(String, String, [ChartPoint])],
                   best: ChartPoint?) -> String {
    let width = 440.0, height = 260.0, left = 60.0, right = 16.0, top = 28.0, bottom = 44.0
    let all = series.flatMap(\.2).filter { $0.x.isFinite && $0.y.isFinite }
    var s = "<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"\(id)\" width=\"\(Int(width))\" height=\"\(Int(height))\" "
        + "viewBox=\"0 0 \(Int(width)) \(Int(height))\" role=\"img\" aria-label=\"\(escapeXML(yLabel)) against \(escapeXML(xLabel))\">\n"
    guard !all.isEmpty else {
        return s + "<text x=\"\(Int(left))\" y=\"\(Int(height / 2))\">no evaluations yet</text>\n</svg>\n"
    }
    let (x0, x1) = paddedRange(all.map(\.x), fromZero: true)
    let (y0, y1) = paddedRange(all.map(\.y), fromZero: false)
    func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * (width - left - right) }
    func py(_ y: Double) -> Double { height - bottom - (y - y0) / (y1 - y0) * (height - top - bottom) }
    func f(_ v: Double) -> String { String(format: "%.1f", v) }
    // grid, ticks and labels
    for t in niceTicks(x0, x1) {
        s += "<line class=\"grid\" x1=\"\(f(px(t)))\" y1=\"\(f(top))\" x2=\"\(f(px(t)))\" y2=\"\(f(height - bottom))\"/>"
        s += "<text x=\"\(f(px(t)))\" y=\"\(f(height - bottom + 14))\" text-anchor=\"middle\">\(tickLabel(t))</text>\n"
    }
    for t in niceTicks(y0, y1) {
        s += "<line class=\"grid\" x1=\"\(f(left))\" y1=\"\(f(py(t)))\" x2=\"\(f(width - right))\" y2=\"\(f(py(t)))\"/>"
        s += "<text x=\"\(f(left - 6))\" y=\"\(f(py(t) + 4))\" text-anchor=\"end\">\(tickLabel(t))</text>\n"
    }
    s += "<line class=\"axis\" x1=\"\(f(left))\" y1=\"\(f(height - bottom))\" x2=\"\(f(width - right))\" y2=\"\(f(height - bottom))\"/>\n"
    s += "<line class=\"axis\" x1=\"\(f(left))\" y1=\"\(f(top))\" x2=\"\(f(left))\" y2=\"\(f(height - bottom))\"/>\n"
    s += "<text x=\"\(f((left + width - right) / 2))\" y=\"\(f(height - 8))\" text-anchor=\"middle\">\(escapeXML(xLabel))</text>\n"
    s += "<text transform=\"translate(14 \(f((top + height - bottom) / 2))) rotate(-90)\" text-anchor=\"middle\">\(escapeXML(yLabel))</text>\n"
    // legend
    var lx = left
    for (name, cls, _) in series {
        s += "<rect class=\"\(cls)\" x=\"\(f(lx))\" y=\"8\" width=\"10\" height=\"10\"/>"
        s += "<text x=\"\(f(lx + 14))\" y=\"17\">\(escapeXML(name))</text>\n"
        lx += 14 + 7 * Double(name.count) + 16
    }
    for (name, cls, points) in series {
        let live = points.filter { $0.x.isFinite && $0.y.isFinite }
        if live.count > 1 {
            s += "<polyline class=\"\(cls)\" points=\"" + live.map { "\(f(px($0.x))),\(f(py($0.y)))" }.joined(separator: " ") + "\"/>\n"
        }
        for p in live {
            let e = p.point
            let val = e.validationBPC.map { String(format: "%.6g", $0) } ?? "null"
            s += "<circle class=\"\(cls) point\" cx=\"\(f(px(p.x)))\" cy=\"\(f(py(p.y)))\" r=\"2.5\" "
                + "data-series=\"\(cls)\" data-chars=\"\(e.characters)\" data-time=\"\(String(format: "%.6g", e.seconds))\" "
                + "data-train-bpc=\"\(String(format: "%.6g", e.trainBPC))\" data-val-bpc=\"\(val)\" "
                + "data-lr=\"\(String(format: "%.6g", e.learningRate))\" data-y=\"\(String(format: "%.6g", p.y))\">"
                + "<title>\(escapeXML(name)) \(String(format: "%.4g", p.y)) after \(e.characters) characters, "
                + "\(escapeXML(formatDuration(e.seconds)))</title></circle>\n"
        }
    }
    if let b = best, b.x.isFinite, b.y.isFinite {
        s += "<circle class=\"best\" id=\"\(id)-best\" cx=\"\(f(px(b.x)))\" cy=\"\(f(py(b.y)))\" r=\"6\">"
            + "<title>best validation \(String(format: "%.4f", b.y)) bpc</title></circle>\n"
        s += "<text x=\"\(f(px(b.x)))\" y=\"\(f(py(b.y) - 10))\" text-anchor=\"middle\">best \(String(format: "%.3f", b.y))</text>\n"
    }
    return s + "</svg>\n"
}

/// The values' range with 5% room on each side (from 0 when asked and all values are positive); never empty.
private func paddedRange(_ v: [Double], fromZero: Bool) -> (Double, Double) {
    var lo = v.min()!, hi = v.max()!
    if fromZero && lo >= 0 { lo = 0 }
    if hi - lo < 1e-12 * max(1, abs(hi)) { lo -= 0.5 * max(abs(lo), 1e-3); hi += 0.5 * max(abs(hi), 1e-3) }
    let pad = (hi - lo) * 0.05
    return (fromZero && lo == 0 ? 0 : lo - pad, hi + pad)
}

/// About five round tick values inside lo…hi (steps of 1, 2 or 5 times a power of ten).
private func niceTicks(_ lo: Double, _ hi: Double) -> [Double] {
    let raw = (hi - lo) / 5
    let magnitude = pow(10, floor(log10(raw)))
    let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? 10 * magnitude
    var t = ceil(lo / step) * step
    var ticks: [Double] = []
    while t <= hi + step * 1e-9 && ticks.count < 12 {
        ticks.append(abs(t) < step * 1e-9 ? 0 : t)
        t += step
    }
    return ticks
}

/// 1.5, 200, 12k, 3.4M, 0.0015: short enough for an axis.
private func tickLabel(_ v: Double) -> String {
    let a = abs(v)
    if a == 0 { return "0" }
    if a >= 1e6 { return String(format: "%gM", v / 1e6) }
    if a >= 1e4 { return String(format: "%gk", v / 1e3) }
    if a < 0.01 { return String(format: "%.3g", v) }
    return String(format: "%g", (v * 1e4).rounded() / 1e4)
}
