import RNNKernels

// Shape legend used across Model/ and Training/:
//   V  vocabulary size        H  hidden size        L  layers
//   T  unroll (seq) length    B  batch (streams)    G  gates per cell (1 rnn, 4 lstm, 3 gru)
//   In input width of a layer: V for layer 0 (one-hot), H above it.

/// The recurrent cell of every layer.
public enum CellKind: String, Sendable, CaseIterable {
    case rnn, lstm, gru

    /// How many H-wide pre-activation blocks one step computes.
    public var gates: Int {
        switch self {
        case .rnn: return 1
        case .lstm: return 4
        case .gru: return 3
        }
    }

    /// The gate order inside the G·H-wide pre-activation, as stored in the weights file (PyTorch's order).
    public var gateOrder: String {
        switch self {
        case .rnn: return "h"
        case .lstm: return "i,f,g,o"
        case .gru: return "r,z,n"
        }
    }
}

/// The sizes that fix a model's tensors.
public struct ModelConfig: Sendable, Equatable {
    public var cell: CellKind
    public var vocabSize: Int
    public var hiddenSize: Int
    public var layers: Int
    /// Layer normalisation of each gate's input and recurrent pre-activation (`LayerNorm`), with a gain per
    /// unit for each (`layers.k.gx`, `layers.k.gh`).
    public var layerNorm: Bool

    public init(cell: CellKind, vocabSize: Int, hiddenSize: Int, layers: Int, layerNorm: Bool = false) {
        self.cell = cell
        self.vocabSize = vocabSize
        self.hiddenSize = hiddenSize
        self.layers = layers
        self.layerNorm = layerNorm
    }

    /// Upper bounds accepted anywhere (options and files): keep every allocation bounded.
    public static let maxHidden = 8192
    public static let maxLayers = 16
    public static let maxVocab = 1 << 20

    /// Names and shapes of every tensor, in the fixed order used by the weights file and optimizers.
    ///
    /// - `layers.k.wx` (In, G·H) row-major: `z = x·wx + h·wh + b`; for layer 0 row v is the input for character v.
    /// - `layers.k.wh` (H, G·H) row-major.
    /// - `layers.k.b`  (G·H).
    /// - `layers.k.bhn` (H), GRU only: the bias inside `r ⊙ (h·whn + bhn)`.
    /// - `layers.k.gx`, `layers.k.gh` (G·H), with layer normalisation only: the gains of the normalised input
    ///   and recurrent parts, `z = LN(x·wx) ⊙ gx + LN(h·wh) ⊙ gh + b` (each H-block normalised on its own).
    /// - `head.w` (H, V) row-major: `logits = h·head.w + head.b`; `head.b` (V).
    public var tensorShapes: [(name: String, shape: [Int])] {
        let H = hiddenSize, G = cell.gates, V = vocabSize
        var out: [(String, [Int])] = []
        for k in 0..<layers {
            let inWidth = k == 0 ? V : H
            out.append(("layers.\(k).wx", [inWidth, G * H]))
            out.append(("layers.\(k).wh", [H, G * H]))
            out.append(("layers.\(k).b", [G * H]))
            if cell == .gru { out.append(("layers.\(k).bhn", [H])) }
            if layerNorm {
                out.append(("layers.\(k).gx", [G * H]))
                out.append(("layers.\(k).gh", [G * H]))
            }
        }
        out.append(("head.w", [H, V]))
        out.append(("head.b", [V]))
        return out
    }

    /// Number of tensors per layer: wx, wh, b, a GRU's bhn, and the two gains with layer normalisation.
    public var tensorsPerLayer: Int { (cell == .gru ? 4 : 3) + (layerNorm ? 2 : 0) }

    public var parameterCount: Int {
        tensorShapes.reduce(0) { $0 + $1.shape.reduce(1, *) }
    }
}
