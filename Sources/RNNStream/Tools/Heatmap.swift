import Foundation
import RNNTraining
import RNNInference
import RNNFormat
import RNNModel
import RNNKernels
import RNNText
import RNNShell

/// A character written so that it is one whitespace-free field and safe on a terminal: `\n`, `\t`, `\r`, `\\`
/// for those four, `\u{X}` (hex code point, as in Swift) for spaces, other whitespace, control, format,
/// private-use and unassigned code points, and the character itself otherwise (as UTF-8).
public func escapedCharacter(_ s: Unicode.Scalar) -> String {
    switch s {
    case "\n": return "\\n"
    case "\t": return "\\t"
    case "\r": return "\\r"
    case "\\": return "\\\\"
    default:
        if isPlainPrintable(s) { return String(Character(s)) }
        return "\\u{" + String(s.value, radix: 16, uppercase: true) + "}"
    }
}

/// Printable and not whitespace: shown as itself.
package func isPlainPrintable(_ s: Unicode.Scalar) -> Bool {
    if s.properties.isWhitespace { return false }
    switch s.properties.generalCategory {
    case .control, .format, .surrogate, .privateUse, .unassigned, .lineSeparator, .paragraphSeparator, .spaceSeparator:
        return false
    default:
        return true
    }
}

/// The surprisal ramp shared by `--color` and `--html`: level i holds characters of i to i+1 bits, the last
/// level everything from 7 bits up; unknown characters have a colour of their own.
public enum Heat {
    public static let levels = 8
    /// 256-colour palette entries for the background, pale green (cheap) through yellow to red (surprising).
    public static let ansi: [Int] = [194, 193, 229, 228, 222, 216, 210, 203]
    /// The same colours for HTML.
    public static let css: [String] = ["#d7ffd7", "#d7ffaf", "#ffffaf", "#ffff87", "#ffd787", "#ffaf87", "#ff8787", "#ff5f5f"]
    /// Unknown characters: magenta.
    public static let unknownANSI = 201
    public static let unknownCSS = "#ff00ff"

    /// The level of a character, or nil when it is unknown.
    public static func level(_ c: ScoredCharacter) -> Int? {
        guard c.known else { return nil }
        return max(0, min(levels - 1, Int(c.bits.rounded(.down))))
    }

    /// `--unit`: a unit's activation (in -1…1 for every cell's h) in 8 even steps, blue (-1) through white to
    /// red (+1), for the background behind black text.
    public static let unitANSI: [Int] = [74, 111, 153, 195, 224, 217, 210, 203]
    public static let unitCSS: [String] = ["#6baed6", "#9ecae1", "#c6dbef", "#eef3fa", "#fdeee6", "#fcbba1", "#fc9272", "#fb6a4a"]

    /// The level of an activation: level i holds -1 + i/4 … -1 + (i+1)/4.
    public static func unitLevel(_ v: Float) -> Int {
        guard v.isFinite else { return 0 }
        return max(0, min(levels - 1, Int(((v + 1) * 4).rounded(.down))))
    }

    /// The colour level of a character in the chosen view (nil: unknown, in the surprisal view).
    static func level(_ c: ScoredCharacter, byUnit: Bool) -> Int? {
        byUnit ? unitLevel(c.unit ?? 0) : level(c)
    }
}

/// Echoes scored characters with a 256-colour background per character (black text), or plainly when
/// `colored` is false. Newlines and tabs pass through (a newline after resetting the colour, so that it does
/// not bleed into the next line); other control characters are shown escaped (`\u{1B}`), never sent raw.
public struct ColorEcho {
    public let colored: Bool
    /// Shade by `ScoredCharacter.unit` (`--unit`) instead of the bits.
    public let byUnit: Bool
    private var current: Int? = -1
    private var bytes: [UInt8] = []

    public init(colored: Bool, byUnit: Bool = false) {
        self.colored = colored
        self.byUnit = byUnit
    }

    /// The bytes for one character.
    public mutating func render(_ c: ScoredCharacter) -> [UInt8] {
        bytes.removeAll(keepingCapacity: true)
        let s = c.scalar
        if s == "\n" {
            if colored && current != -1 { bytes += Array("\u{1B}[0m".utf8); current = -1 }
            bytes.append(0x0A)
            return bytes
        }
        if colored {
            let want = Heat.level(c, byUnit: byUnit)
            if want != current || current == -1 {
                let bg = want.map { byUnit ? Heat.unitANSI[$0] : Heat.ansi[$0] } ?? Heat.unknownANSI
                bytes += Array("\u{1B}[38;5;16;48;5;\(bg)m".utf8)
                current = want
            }
        }
        if s == "\t" || isPlainPrintable(s) || s == " " {
            appendUTF8(s, to: &bytes)
        } else {
            bytes += Array(escapedCharacter(s).utf8)
        }
        return bytes
    }

    /// What ends the output: a colour reset if one is active.
    public mutating func finish() -> [UInt8] {
        defer { current = -1 }
        return colored && current != -1 ? Array("\u{1B}[0m".utf8) : []
    }
}

/// A self-contained XHTML page (it parses as XML) of the same heatmap: one `<span>` per character, its
/// class giving the colour and its `title` the bits, inside a `<pre>` per file, with a legend.
public enum HeatmapPage {
    /// `units`: the page shades by these units' activations (`--unit`), one section per unit and file, with
    /// each unit's spread; nil: by surprisal.
    public static func header(model: String, units: [(unit: HiddenUnit, deviation: Double?)]? = nil) -> String {
        var css = ""
        for (i, c) in Heat.css.enumerated() { css += "span.h\(i){background:\(c)}\n" }
        for (i, c) in Heat.unitCSS.enumerated() { css += "span.u\(i){background:\(c)}\n" }
        css += "span.hu{background:\(Heat.unknownCSS)}\n"
        var legend = ""
        let heading: String, explanation: String
        if let units {
            for i in 0..<Heat.levels {
                legend += "<td style=\"background:\(Heat.unitCSS[i])\">" + String(format: "%+.2f", -1 + Double(i) / 4 + 0.125) + "</td>"
            }
            legend = "<tr><td>activation:</td>\(legend)</tr>"
            let names = units.map { u in "unit " + u.unit.description + (u.deviation.map { String(format: " (spread %.3f)", $0) } ?? "") }
            heading = "Hidden units under \(escapeXML(model))"
            explanation = "Each character's background shows the activation of \(escapeXML(names.joined(separator: ", "))) "
                + "(layer:unit, from 0) after the model has read it, from −1 (blue) to +1 (red); hover for the value, "
                + "the bits and the model's five likeliest characters there."
        } else {
            for i in 0..<Heat.levels {
                let range = i == Heat.levels - 1 ? "≥\(i)" : "\(i)–\(i + 1)"
                legend += "<td style=\"background:\(Heat.css[i])\">\(range)</td>"
            }
            legend += "<td style=\"background:\(Heat.unknownCSS)\">unknown</td>"
            legend = "<tr><td>bits:</td>\(legend)</tr>"
            heading = "Surprisal under \(escapeXML(model))"
            explanation = "Each character's background shows the bits it cost (−log₂ of the probability the model gave it); "
                + "hover for the value and the model's five likeliest characters there."
        }
        return """
        <?xml version="1.0" encoding="UTF-8"?>
        <!DOCTYPE html>
        <html xmlns="http://www.w3.org/1999/xhtml" lang="en">
        <head>
        <meta charset="utf-8"/>
        <title>rnn-score: \(escapeXML(model))</title>
        <style>
        body{font-family:sans-serif;margin:1em}
        pre{font-family:monospace;white-space:pre-wrap;line-height:1.35}
        pre span{color:#000}
        table.legend td{padding:0 .6em;font-family:monospace;color:#000}
        \(css)</style>
        </head>
        <body>
        <h1>\(heading)</h1>
        <p>\(explanation)</p>
        <table class="legend">\(legend)</table>

        """
    }

    /// A heading for the sections of one unit (`--unit top` shows several).
    public static func unitHeading(_ unit: HiddenUnit, deviation: Double?) -> String {
        "<h2 class=\"unit\" id=\"unit-\(unit.layer)-\(unit.index)\">Unit \(unit)"
            + (deviation.map { String(format: ", spread %.3f", $0) } ?? "") + "</h2>\n"
    }

    public static func sectionStart(file: String) -> String {
        "<h2>\(escapeXML(file))</h2>\n<pre>"
    }

    /// One character: its colour class, and a title (shown on hover) with the bits, the unit's activation
    /// when shading by a unit, and the candidates the model gave for this position.
    public static func span(_ c: ScoredCharacter, byUnit: Bool = false) -> String {
        let cls = Heat.level(c, byUnit: byUnit).map { (byUnit ? "u" : "h") + "\($0)" } ?? "hu"
        var title = String(format: "%.2f bits", c.bits) + (c.known ? "" : ", unknown")
        if let u = c.unit { title += String(format: "; activation %+.3f", u) }
        if !c.candidates.isEmpty {
            title += "; likeliest: " + c.candidates.map {
                ($0.scalar == " " ? "␣" : escapedCharacter($0.scalar)) + String(format: " %.0f%%", 100 * $0.probability)
            }.joined(separator: ", ")
        }
        title = escapeXML(title)
        let s = c.scalar
        let text = s == "\n" || s == "\t" || s == " " || isPlainPrintable(s) ? escapeXML(String(Character(s))) : escapeXML(escapedCharacter(s))
        return "<span class=\"\(cls)\" title=\"\(title)\">\(text)</span>"
    }

    public static func sectionEnd(_ t: ScoreTotals) -> String {
        "</pre>\n<p>" + String(format: "%d chars, %.3f bpc, %.2f perplexity, %.1f bits, %d unknown", t.allCharacters,
                                   t.bitsPerCharacter, t.perplexity, t.totalBits, t.unknown) + "</p>\n"
    }

    public static let footer = "</body>\n</html>\n"
}

/// Text or attribute content for the XHTML pages (the heatmap, the training report): `& < > "` as entities,
/// newline, tab and space as themselves, and every other character that is not plainly printable shown
/// escaped (`\u{1}`, `\r`), since XML forbids most control characters even as references.
public func escapeXML(_ s: String) -> String {
    var out = ""
    for ch in s.unicodeScalars {
        switch ch {
        case "&": out += "&amp;"
        case "<": out += "&lt;"
        case ">": out += "&gt;"
        case "\"": out += "&quot;"
        case "\n", "\t", " ": out.unicodeScalars.append(ch)
        default:
            if isPlainPrintable(ch) { out.unicodeScalars.append(ch) } else { out += escapedCharacter(ch) }
        }
    }
    return out
}

