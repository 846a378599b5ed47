import Foundation
import RNNStream
// temporary driver
let data = FileHandle.standardInput.readDataToEndOfFile()
let text = String(decoding: data, as: UTF8.self)
let vocab = Vocabulary(text: text.unicodeScalars)
let idx = text.unicodeScalars.map { vocab.index(of: $0)! }
var o = TrainingOptions()
let args = CommandLine.arguments
func arg(_ n: String) -> String? { args.firstIndex(of: n).map { args[$0 + 1] } }
if let v = arg("--cell") { o.cell = CellKind(rawValue: v)! }
if let v = arg("--hidden") { o.hiddenSize = Int(v)! }
if let v = arg("--layers") { o.layers = Int(v)! }
if let v = arg("--batch") { o.batch = Int(v)! }
if let v = arg("--seq") { o.seq = Int(v)! }
if let v = arg("--opt") { o.optimizer = OptimizerKind(rawValue: v)! }
if let v = arg("--lr") { o.learningRate = Double(v)! }
if let v = arg("--time") { o.timeLimit = Double(v)! }
if let v = arg("--steps") { o.maxSteps = Int(v)! }
if let v = arg("--eval") { o.evalEvery = Int(v)! }
let t = try! Trainer(text: idx, vocabulary: vocab, options: o)
let r = t.run { e in
    switch e {
    case .evaluated(let p, let imp): FileHandle.standardError.write("eval t=\(Int(p.elapsed)) step \(p.step) chars/s \(Int(p.charactersPerSecond)) train \(p.trainBPC) val \(p.validationBPC!) \(imp)\n".data(using: .utf8)!)
    case .notice(let s): FileHandle.standardError.write((s + "\n").data(using: .utf8)!)
    default: break
    }
}
print(r.validationBPC ?? -1, r.steps, r.characters, r.seconds)
let g = Generator(model: r.model, options: SamplingOptions(), seed: 1)
var s = ""
for _ in 0..<300 { s.unicodeScalars.append(g.nextCharacter()) }
print(s)
