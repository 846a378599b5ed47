import ArgumentParser
import Foundation
import RNNShell

extension ParsableCommand {
    /// Parses the command line and runs the command, like `main()`, except that a bad command line is reported
    /// as one line, `program: subject: cause`, with status 64 (the tools' convention) instead of the parser's
    /// multi-line usage text. `--help` and `--version` still print to stdout and exit 0.
    public static func mainReportingErrors(program: String) -> Never {
        do {
            var command = try parseAsRoot()
            try command.run()
            Foundation.exit(ExitStatus.success)
        } catch let code as ExitCode {
            Foundation.exit(code.rawValue)
        } catch {
            let status = exitCode(for: error)
            if status == .success { exit(withError: error) }
            var message = message(for: error).split(separator: "\n").first.map(String.init) ?? "invalid command line"
            if message.hasPrefix("Error: ") { message.removeFirst("Error: ".count) }
            // our own checks say "--option: cause"; the parser's messages name no subject
            if message.hasPrefix("-"), let colon = message.range(of: ": ") {
                reportError(program: program, subject: String(message[..<colon.lowerBound]),
                            cause: String(message[colon.upperBound...]) + " (see \(program) --help)")
            } else {
                reportError(program: program, subject: "command line", cause: message + " (see \(program) --help)")
            }
            Foundation.exit(status.rawValue == 0 ? ExitStatus.usage : status.rawValue)
        }
    }
}
