import Foundation
import RNNTraining
import RNNInference
import RNNFormat
import RNNModel
import RNNKernels
import RNNText
import RNNShell

/// `--info` of rnn-gen and rnn-score: the model's metadata as one JSON object on one line.
///
/// `{"model":PATH,"cell":"lstm","vocab_size":65,"hidden_size":256,"layers":2,"layer_norm":false,"parameters":N,
/// "gate_order":"i,f,g,o","vocabulary":"\n !…","unknown_bits":6.04,"info":{every training info field, as
/// stored (strings)},"val_bpc":1.52}`. `val_bpc` is the stored validation bits per character as a number, or
/// null when the model does not record one (it is looked up under `val_bpc`, `best_val_bpc` and
/// `validation_bpc`).
public func modelInfoJSON(_ model: Model, path: String) -> String {
    let c = model.config
    var out = "{\"model\":" + jsonString(path)
    out += ",\"cell\":" + jsonString(c.cell.rawValue)
    out += ",\"vocab_size\":\(c.vocabSize),\"hidden_size\":\(c.hiddenSize),\"layers\":\(c.layers)"
    out += ",\"layer_norm\":\(c.layerNorm)"
    out += ",\"parameters\":\(c.parameterCount)"
    out += ",\"gate_order\":" + jsonString(c.cell.gateOrder)
    out += ",\"vocabulary\":" + jsonString(model.vocabulary.string)
    out += ",\"unknown_bits\":" + jsonNumber(unknownCharacterBits(vocabularySize: c.vocabSize))
    out += ",\"info\":{"
    out += model.info.keys.sorted().map { jsonString($0) + ":" + jsonString(model.info[$0]!) }.joined(separator: ",")
    out += "}"
    let val = ["val_bpc", "best_val_bpc", "validation_bpc"].lazy.compactMap { model.info[$0].flatMap(Double.init) }.first
    out += ",\"val_bpc\":" + (val.map(jsonNumber) ?? "null")
    return out + "}"
}

/// `--info` on either tool: the metadata as one JSON line on `out`.
/// `precision`: the format the tool would hold the weights in, added as `"precision"` (with `"cpu"`, the
/// kernels this CPU runs).
func writeModelInfo(_ model: Model, path: String, precision: WeightFormat, to out: CheckedOutput) throws(OutputError) -> Int32 {
    var info = modelInfoJSON(model, path: path)
    info.removeLast()
    info += ",\"precision\":" + jsonString(precision.rawValue) + ",\"cpu\":" + jsonString(CPU.level.description) + "}"
    try out.write(info + "\n")
    try out.flush()
    return ExitStatus.success
}
