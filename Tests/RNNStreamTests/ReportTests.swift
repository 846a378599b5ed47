import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing
import RNNTools

/// What a page's SVG circles and sample blocks say, read with an XML parser (the page is well-formed XHTML).
private final class ReportReader: NSObject, XMLParserDelegate {
    var points: [[String: String]] = []
    var samples: [String] = []
    var bestMarks = 0
    private var inSample = false
    private var text = ""

    func parser(_ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
                attributes: [String: String] = [:]) {
        if name == "circle", attributes["class"]?.hasSuffix(" point") == true { points.append(attributes) }
        if name == "circle", attributes["class"] == "best" { bestMarks += 1 }
        if name == "pre", attributes["class"] == "sample" { inSample = true; text = "" }
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        if inSample { text += string }
    }

    func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
        if name == "pre" && inSample { samples.append(text); inSample = false }
    }
}

private func readReport(_ path: String) throws -> ReportReader {
    let parser = XMLParser(data: try Data(contentsOf: URL(fileURLWithPath: path)))
    let reader = ReportReader()
    parser.delegate = reader
    #expect(parser.parse(), "the report is not well-formed: \(parser.parserError.map { "\($0)" } ?? "")")
    return reader
}

private func logLines(_ path: String) throws -> [[String: Any]] {
    try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n").map {
        try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
    }
}

/// The first-party renderer of the page: Debian's headless Chromium, installed by .ci/run. Locally the
/// rendering test runs where it is installed; under CI it must be.
private let chromium = ["/usr/bin/chromium-headless-shell", "/usr/bin/chromium"].first {
    FileManager.default.isExecutableFile(atPath: $0)
}
private let renderingRequired = ProcessInfo.processInfo.environment["CI"] == "true"

@Suite(.serialized)
struct ReportTests {
    /// A text with every character the page must escape, and control characters XML cannot hold (shown
    /// escaped, as `\u{1}`).
    private let hostile = String(repeating: "<b>Tom & \"Jerry\"</b> 'quoted' a<b c>d\u{1}\u{7}\t\r\n", count: 60)

    @Test func reportParsesMatchesTheLogAndEscapesEverything() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let report = directory.file("run.html"), log = directory.file("log.jsonl")
        let fit = try CLI.run("rnn-fit", ["--hidden", "16", "--layers", "1", "--batch", "4", "--seq", "16", "--steps", "60",
                                          "--eval-every", "640", "--report", report, "--log", log, "-q",
                                          "-o", directory.file("m.gz")],
                              stdin: .data(Data(hostile.utf8)))
        try #require(fit.status == 0, "\(fit)")
        let page = try readReport(report)
        let records = try logLines(log)
        try #require(records.count >= 3, "expected several validations")

        // the validation points of the bpc-against-characters chart are the log's records, in order
        let val = page.points.filter { $0["data-series"] == "val" }
        let perChart = val.count / 2  // the same points against characters and against time
        #expect(val.count == 2 * records.count && perChart == records.count, "\(val.count) points, \(records.count) records")
        for (p, r) in zip(val.prefix(perChart), records) {
            #expect(Int(p["data-chars"] ?? "") == (r["chars"] as? NSNumber)?.intValue)
            let logged = try #require((r["val_bpc"] as? NSNumber)?.doubleValue)
            let plotted = try #require(p["data-val-bpc"].flatMap(Double.init))
            #expect(abs(plotted - logged) <= 1e-5 * logged, "\(plotted) vs \(logged)")
            #expect(abs(Double(p["data-time"] ?? "")! - (r["time"] as! NSNumber).doubleValue) < 1e-3)
        }
        let train = page.points.filter { $0["data-series"] == "train" }
        #expect(train.count == 2 * records.count)
        #expect(page.bestMarks == 2, "the best validation is marked on both bpc charts")

        // one sample per validation, each the generator's text with the forbidden controls as pictures
        #expect(page.samples.count == records.count)
        for s in page.samples {
            #expect(!s.unicodeScalars.contains { $0.value < 0x20 && $0 != "\n" && $0 != "\t" }, "a raw control character")
        }
        let raw = try String(contentsOfFile: report, encoding: .utf8)
        #expect(!raw.contains("<b>"), "unescaped markup from the text")
        #expect(!raw.contains("<script"), "the page needs no script")
        #expect(!raw.contains("http://") || !raw.replacingOccurrences(of: "http://www.w3.org/", with: "").contains("http://"),
                "the page fetches nothing")
        #expect(!raw.contains("http-equiv=\"refresh\""), "a finished run's page does not reload itself")
    }

    @Test func escapeKeepsTextAndWellFormedness() throws {
        var all = ""
        for v in 0..<0x100 { all.unicodeScalars.append(Unicode.Scalar(v)!) }
        all += "\u{FFFE}\u{FFFF}\u{1F600}é"
        let escaped = escapeXML(all)
        let parser = XMLParser(data: Data("<p>\(escaped)</p>".utf8))
        final class Text: NSObject, XMLParserDelegate {
            var text = ""
            func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }
        }
        let t = Text()
        parser.delegate = t
        #expect(parser.parse())
        // every printable character comes back as itself, newline, tab and space too; the rest escaped (\u{1})
        var expected = ""
        for c in all.unicodeScalars {
            if c == "\n" || c == "\t" || c == " " || isPlainPrintable(c) {
                expected.unicodeScalars.append(c)
            } else {
                expected += escapedCharacter(c)
            }
        }
        #expect(t.text == expected)
    }

    @Test func interruptedRunStillWritesTheReport() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let report = directory.file("run.html"), log = directory.file("log.jsonl")
        let text = try directory.write("text.txt", englishText(scalars: 20_000))
        let fit = try CLI.start("rnn-fit", ["--hidden", "16", "--layers", "1", "--time", "120s", "--epochs", "1000000",
                                            "--eval-every", "400", "--patience", "0", "--report", report, "--log", log,
                                            "-o", directory.file("m.gz"), "-q"], stdin: .file(text))
        try waitUntil("rnn-fit has validated once") {
            !((try? String(contentsOfFile: log, encoding: .utf8)) ?? "").isEmpty
        }
        kill(fit.process.processIdentifier, SIGINT)
        let run = try fit.wait(timeout: 60)
        #expect(run.status == 130, "\(run)")
        let raw = try String(contentsOfFile: report, encoding: .utf8)
        #expect(raw.contains("Interrupted"), "the last page says how the run ended")
        _ = try readReport(report)
    }

    @Test func unwritableReportFailsBeforeTraining() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let fit = try CLI.run("rnn-fit", CLI.tinyFit + ["--report", "/nonexistent-dir/r.html", "-o", directory.file("m.gz")],
                              stdin: .data(Data(englishText(scalars: 2000).utf8)))
        #expect(fit.status == 1 && fit.errLines.count == 1 && fit.err.hasPrefix("rnn-fit: /nonexistent-dir/r.html: "), "\(fit)")
    }

    /// Chromium renders the report and the heatmap without a console message, to a page that is not blank.
    @Test(.enabled(if: chromium != nil || renderingRequired))
    func chromiumRendersTheReportAndTheHeatmap() throws {
        let browser = try #require(chromium, "CI=true but no headless Chromium (install chromium-headless-shell)")
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let report = directory.file("run.html"), model = directory.file("m.gz")
        let text = englishText(scalars: 6000)
        let fit = try CLI.run("rnn-fit", ["--hidden", "32", "--layers", "1", "--batch", "8", "--seq", "32", "--steps", "80",
                                          "--eval-every", "2000", "--report", report, "-q", "-o", model],
                              stdin: .data(Data(text.utf8)))
        try #require(fit.status == 0, "\(fit)")
        let heat = try CLI.run("rnn-score", ["--html", model, try directory.write("t.txt", String(text.prefix(800)))])
        try #require(heat.status == 0, "\(heat)")
        let heatmap = try directory.write("heat.html", heat.stdout)
        let blank = try directory.write("blank.html", "<!DOCTYPE html><html><body></body></html>")
        func render(_ page: String) throws -> (png: Data, log: String) {
            let png = page + ".png"
            let run = try CLI.run(browser, ["--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=900,1200",
                                            "--enable-logging=stderr", "--v=0", "--screenshot=\(png)",
                                            "file://" + page], timeout: 120)
            #expect(run.status == 0, "\(run)")
            return (try Data(contentsOf: URL(fileURLWithPath: png)), run.err)
        }
        let empty = try render(blank).png
        for page in [report, heatmap] {
            let (png, log) = try render(page)
            #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47]), "\(page): not a PNG")
            let console = log.split(separator: "\n").filter { $0.contains("CONSOLE") }
            #expect(console.isEmpty, "\(page): console messages: \(console)")
            // a blank page compresses to almost nothing; a drawn one does not
            #expect(png.count > 8 * empty.count, "\(page): \(png.count) bytes against \(empty.count) for a blank page")
        }
    }
}
