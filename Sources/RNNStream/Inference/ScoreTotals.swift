import Foundation
import RNNModel
import RNNKernels

/// Totals of a scoring pass.
///
/// Unknown characters (ones the model never saw) are skipped by the model (the state does not see them) and
/// each costs a fixed `unknownCharacterBits(vocabularySize:)` = log2(V + 1) bits: the price of naming one of
/// V + 1 symbols, the vocabulary plus an escape. They are counted in `unknown` and included in
/// `allCharacters`, `totalBits`, bits per character and perplexity, so a text is never made cheaper by
/// characters the model cannot predict. With no unknown characters the two views agree.
public struct ScoreTotals: Sendable, Equatable {
    /// Known characters scored by the model.
    public var characters = 0
    /// Their summed loss.
    public var nats = 0.0
    /// Characters not in the vocabulary.
    public var unknown = 0
    /// Their summed fixed cost.
    public var unknownBits = 0.0

    public init() {}

    /// The model's bits over the known characters.
    public var bits: Double { nats / M_LN2 }
    /// Every character, known or not.
    public var allCharacters: Int { characters + unknown }
    /// The model's bits plus the unknown characters' cost.
    public var totalBits: Double { bits + unknownBits }
    /// `totalBits / allCharacters` (0 for an empty text).
    public var bitsPerCharacter: Double { allCharacters > 0 ? totalBits / Double(allCharacters) : 0 }
    /// Per-character perplexity, 2^bpc.
    public var perplexity: Double { pow(2, bitsPerCharacter) }

    public static func + (a: ScoreTotals, b: ScoreTotals) -> ScoreTotals {
        var s = a
        s.characters += b.characters; s.nats += b.nats; s.unknown += b.unknown; s.unknownBits += b.unknownBits
        return s
    }

    public static func - (a: ScoreTotals, b: ScoreTotals) -> ScoreTotals {
        var s = a
        s.characters -= b.characters; s.nats -= b.nats; s.unknown -= b.unknown; s.unknownBits -= b.unknownBits
        return s
    }
}

/// The fixed cost of one character outside a vocabulary of `V` characters: log2(V + 1) bits.
public func unknownCharacterBits(vocabularySize V: Int) -> Double { log2(Double(V + 1)) }
