import RNNInference
import RNNFormat
import RNNModel
import RNNKernels
import RNNText

/// char-rnn's minibatches: the training text cut into B contiguous streams of equal length; each step feeds the
/// next T characters of every stream, and the state carries from one step to the next. At the end of an epoch
/// all streams wrap to their start with a fresh state.
///
/// So that the model also learns to start from the fresh state (as rnn-score and validation do), each stream's
/// state is also reset every `resetEvery` steps, staggered across streams so only a few reset at once.
public struct Batcher: Sendable {
    public let batch: Int
    public let steps: Int
    public let streamLength: Int
    public let stepsPerEpoch: Int
    public let resetEvery: Int
    /// Steps taken in the current epoch.
    public private(set) var position = 0
    public private(set) var epoch = 0

    /// - Precondition: `textCount - 1 >= batch * steps` (see `Batcher.fit`).
    public init(textCount: Int, batch: Int, steps: Int, resetEvery: Int) {
        precondition(batch >= 1 && steps >= 1 && textCount - 1 >= batch * steps)
        self.batch = batch
        self.steps = steps
        self.resetEvery = resetEvery
        streamLength = (textCount - 1) / batch
        stepsPerEpoch = streamLength / steps
    }

    /// The largest batch and seq not above the requested ones that fit `textCount` characters
    /// (at least one step of one stream), or nil when the text is too short to train on at all.
    public static func fit(textCount: Int, batch: Int, steps: Int) -> (batch: Int, steps: Int)? {
        let pairs = textCount - 1
        guard pairs >= 1 else { return nil }
        if pairs >= batch * steps { return (batch, steps) }
        let b = max(1, pairs / steps)
        return (b, min(steps, pairs / b))
    }

    /// Restores a position (checkpoints).
    public mutating func seek(position: Int, epoch: Int) {
        self.position = min(position, stepsPerEpoch)
        self.epoch = epoch
    }

    /// Fills `inputs` and `targets` (T·B, time-major) for the next step and resets the state of streams that
    /// start fresh. Returns true when this step began a new epoch.
    @discardableResult
    public mutating func next(text: UnsafePointer<Int32>, inputs: UnsafeMutablePointer<Int32>,
                              targets: UnsafeMutablePointer<Int32>, state: RecurrentState) -> Bool {
        var newEpoch = false
        if position == stepsPerEpoch {
            position = 0
            epoch += 1
            newEpoch = true
        }
        if position == 0 {
            state.reset()
        } else if resetEvery > 0 {
            for b in 0..<batch where (position + b * resetEvery / batch) % resetEvery == 0 { state.reset(stream: b) }
        }
        fillStep(text: text, streamLength: streamLength, start: position * steps, batch: batch, steps: steps,
                 inputs: inputs, targets: targets)
        position += 1
        return newEpoch
    }
}

/// One step of B streams laid side by side in `text` (stream b starts at b·streamLength): the T characters from
/// `start` of each stream as inputs and the characters after them as targets, time-major (row t·B + b).
func fillStep(text: UnsafePointer<Int32>, streamLength: Int, start: Int, batch: Int, steps: Int,
              inputs: UnsafeMutablePointer<Int32>, targets: UnsafeMutablePointer<Int32>) {
    for t in 0..<steps {
        for b in 0..<batch {
            let at = b * streamLength + start + t
            inputs[t * batch + b] = text[at]
            targets[t * batch + b] = text[at + 1]
        }
    }
}
