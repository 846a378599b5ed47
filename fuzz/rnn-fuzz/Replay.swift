// Without RNNSTREAM_FUZZ (the ordinary `swift build`), rnn-fuzz is a crash reproducer: it runs each file given
// as an argument through the RNN_FUZZ_TARGET entry point, as libFuzzer would. `rnn-fuzz --write-seeds DIR`
// writes the generated seed files (the checkpoint by the real writer) into DIR. Under RNNSTREAM_FUZZ libFuzzer
// provides main.
#if !RNNSTREAM_FUZZ
@main
struct Replay {
    static func main() {
        let args = Array(CommandLine.arguments.dropFirst())
        if args.first == "--write-seeds", args.count == 2 {
            writeSeeds(args[1])
            return
        }
        if args.isEmpty || args.first?.hasPrefix("-") == true {
            fputs("usage: RNN_FUZZ_TARGET=weights|checkpoint|utf8|vocab|json rnn-fuzz FILE...\n"
                  + "       rnn-fuzz --write-seeds DIR\n", stderr)
            exit(64)
        }
        let target = FuzzTarget.selected
        for path in args {
            let bytes: [UInt8]
            do { bytes = try readWholeFile(path: path, limit: 1 << 30) } catch {
                fputs("rnn-fuzz: \(path): \(error)\n", stderr)
                exit(1)
            }
            target.run(bytes)
            print("rnn-fuzz: \(target.rawValue): \(path): \(bytes.count) bytes, no crash\(outcome(target, bytes))")
        }
    }
}

/// What the reader made of the file, for the targets whose reader can say (a seed should be accepted).
func outcome(_ target: FuzzTarget, _ bytes: [UInt8]) -> String {
    switch target {
    case .weights:
        do { _ = try Model.load(weightsFile: bytes); return "; loads" } catch { return "; rejected: \(error)" }
    case .checkpoint:
        do { _ = try Checkpoint.decode(bytes, trainer: CheckpointFixture.trainer, textSHA256: CheckpointFixture.sha); return "; decodes" }
        catch { return "; rejected: \(error)" }
    case .json:
        do { _ = try JSON.parse(bytes); return "; parses" } catch { return "; rejected: \(error)" }
    case .utf8, .vocab:
        return ""
    }
}
#endif
