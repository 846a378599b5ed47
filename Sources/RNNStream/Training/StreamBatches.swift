import Foundation
import RNNInference
import RNNFormat
import RNNModel
import RNNKernels
import RNNText

/// Minibatches read from a stream too large to hold (`rnn-fit --stream`), in bounded memory.
///
/// The stream is cut into blocks of B·K·T + 1 characters. Each block is split into B contiguous slices, one per
/// stream, and trained on for K steps of T characters with the state carried from step to step; every stream
/// starts each block from the fresh state. Every `reserveEvery`-th block is held out instead, into the
/// validation text, until that holds `validationLimit` characters. Characters outside the vocabulary are
/// skipped and counted. Memory: one block, the pending decoded input and the validation text.
public final class StreamBatches {
    /// K by default: 32 steps of state carried across a block before the streams start fresh, long enough for
    /// context to build up, short enough that a block (B·K·T + 1 characters) stays a few hundred KiB.
    public static let defaultStepsPerBlock = 32
    /// Every 20th block is held out by default: 5% of the stream for validation, like a small `--val-frac`.
    public static let defaultReserveEvery = 20
    /// The held-out text stops growing here by default: enough characters for a steady bits-per-character,
    /// few enough that a validation stays short and memory stays bounded.
    public static let defaultValidationLimit = 100_000

    public let vocabulary: Vocabulary
    public let batch: Int
    public let steps: Int
    /// Steps per block (K).
    public let stepsPerBlock: Int
    public let reserveEvery: Int
    public let validationLimit: Int
    /// Passes over the input; more than one needs a seekable input.
    public let passes: Int

    public private(set) var validation: [Int32] = []
    public private(set) var unknown = 0
    /// Characters taken from the stream (known ones, trained on or held out).
    public private(set) var consumed = 0
    public private(set) var pass = 0
    /// Size of the input in bytes when it is a regular file (for progress), else nil.
    public let inputBytes: Int?

    private let fd: Int32
    private var reader: UTF8Reader
    private var pending: [Unicode.Scalar]
    private var pendingAt = 0
    private var block: [Int32]
    private var blocks = 0
    private var stepInBlock: Int
    private var atEnd = false

    /// `prefix`: scalars already read from `fd` (to pick the vocabulary), trained on first.
    public init(fd: Int32, prefix: [Unicode.Scalar], vocabulary: Vocabulary, batch: Int, steps: Int,
                stepsPerBlock: Int = StreamBatches.defaultStepsPerBlock, reserveEvery: Int = StreamBatches.defaultReserveEvery,
                validationLimit: Int = StreamBatches.defaultValidationLimit, passes: Int = 1,
                continuing reader: UTF8Reader? = nil) {
        self.fd = fd
        self.vocabulary = vocabulary
        self.batch = batch
        self.steps = steps
        self.stepsPerBlock = stepsPerBlock
        self.reserveEvery = reserveEvery
        self.validationLimit = validationLimit
        self.passes = max(1, passes)
        self.reader = reader ?? UTF8Reader(fd: fd)
        pending = prefix
        block = [Int32](repeating: 0, count: batch * stepsPerBlock * steps + 1)
        stepInBlock = stepsPerBlock
        var st = stat()
        inputBytes = fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG ? Int(st.st_size) : nil
    }

    /// Bytes of the input read so far, over all passes.
    public var bytesRead: Int { (inputBytes ?? 0) * pass + reader.bytesConsumed }

    /// Fills one step (T·B, time-major) like `Batcher.next`; false when the input is used up.
    public func next(inputs: UnsafeMutablePointer<Int32>, targets: UnsafeMutablePointer<Int32>,
                     state: RecurrentState) throws(TextError) -> Bool {
        if stepInBlock == stepsPerBlock {
            guard try loadTrainingBlock() else { return false }
            stepInBlock = 0
            state.reset()
        }
        fillStep(text: block, streamLength: stepsPerBlock * steps, start: stepInBlock * steps, batch: batch,
                 steps: steps, inputs: inputs, targets: targets)
        stepInBlock += 1
        return true
    }

    /// Reads blocks until one is for training (held-out blocks go to `validation`).
    private func loadTrainingBlock() throws(TextError) -> Bool {
        while true {
            guard try fill() else { return false }
            blocks += 1
            if blocks % reserveEvery == 0 && validation.count < validationLimit {
                validation.append(contentsOf: block.prefix(validationLimit - validation.count))
                continue
            }
            return true
        }
    }

    /// Fills `block` with the next known characters; false at the end of the last pass.
    private func fill() throws(TextError) -> Bool {
        var n = 0
        while n < block.count {
            if pendingAt == pending.count {
                pendingAt = 0
                let more = atEnd ? false : try reader.next(into: &pending)
                if !more {
                    pending.removeAll()
                    guard rewind() else { return false }
                    continue
                }
            }
            let s = pending[pendingAt]
            pendingAt += 1
            if let i = vocabulary.index(of: s) {
                block[n] = i
                n += 1
                consumed += 1
            } else {
                unknown += 1
            }
        }
        return true
    }

    /// At the end of the input: starts the next pass when there is one and the input can seek.
    private func rewind() -> Bool {
        atEnd = true
        guard pass + 1 < passes, inputBytes != nil, lseek(fd, 0, SEEK_SET) == 0 else { return false }
        pass += 1
        reader = UTF8Reader(fd: fd)
        atEnd = false
        return true
    }
}
