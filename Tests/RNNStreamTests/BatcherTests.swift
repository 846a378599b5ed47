import Foundation
import Testing
import RNNKernels
import RNNText
import RNNModel
import RNNFormat
import RNNInference
import RNNTraining
import RNNShell
import RNNTools

/// Issue 11: char-rnn batches: contiguous streams, targets one character on, time-major rows, staggered resets.
struct BatcherTests {
    /// A text whose index at each position is the position, so every row names where it came from.
    static func text(_ n: Int) -> [Int32] { (0..<n).map { Int32($0) } }

    static func state(batch: Int) -> RecurrentState {
        RecurrentState(config: ModelConfig(cell: .lstm, vocabSize: 3, hiddenSize: 2, layers: 2), batch: batch)
    }

    /// Marks every stream's state, so that a reset shows as zeros.
    static func mark(_ s: RecurrentState) {
        for buffer in s.h + s.c { buffer.pointer.update(repeating: 1, count: buffer.count) }
    }

    /// The streams whose state (every layer, h and c) was zeroed.
    static func resetStreams(_ s: RecurrentState) -> [Int] {
        (0..<s.batch).filter { b in
            (s.h + s.c).allSatisfy { buffer in (0..<s.hidden).allSatisfy { buffer[b * s.hidden + $0] == 0 } }
        }
    }

    @Test func sizes() {
        let b = Batcher(textCount: 101, batch: 4, steps: 5, resetEvery: 0)
        #expect(b.streamLength == 25)
        #expect(b.stepsPerEpoch == 5)
        #expect(b.position == 0 && b.epoch == 0)
    }

    @Test func fitShrinksOnlyWhatItMust() {
        #expect(Batcher.fit(textCount: 0, batch: 4, steps: 5) == nil)
        #expect(Batcher.fit(textCount: 1, batch: 4, steps: 5) == nil)
        #expect(Batcher.fit(textCount: 21, batch: 4, steps: 5)! == (4, 5))
        #expect(Batcher.fit(textCount: 1000, batch: 4, steps: 5)! == (4, 5))
        #expect(Batcher.fit(textCount: 11, batch: 4, steps: 5)! == (2, 5))
        #expect(Batcher.fit(textCount: 4, batch: 4, steps: 5)! == (1, 3))
        #expect(Batcher.fit(textCount: 2, batch: 4, steps: 5)! == (1, 1))
    }

    @Test(arguments: [(1, 1), (1, 7), (3, 4), (4, 5), (5, 3)])
    func rowsAreTimeMajorContiguousStreamsWithTargetsOneOn(batch: Int, steps: Int) {
        let n = 7 * batch * steps + 3
        let text = Self.text(n)
        var b = Batcher(textCount: n, batch: batch, steps: steps, resetEvery: 0)
        let state = Self.state(batch: batch)
        var inputs = [Int32](repeating: -1, count: batch * steps), targets = inputs
        var streams = [[Int32]](repeating: [], count: batch)
        for position in 0..<b.stepsPerEpoch {
            let newEpoch = b.next(text: text, inputs: &inputs, targets: &targets, state: state)
            #expect(newEpoch == false)
            for t in 0..<steps {
                for s in 0..<batch {
                    // row t·B + b holds stream b's character t of this step
                    let at = s * b.streamLength + position * steps + t
                    #expect(inputs[t * batch + s] == Int32(at))
                    #expect(targets[t * batch + s] == Int32(at + 1))
                    streams[s].append(inputs[t * batch + s])
                }
            }
        }
        // each stream read a contiguous run from its start, and none overlaps the next
        for s in 0..<batch {
            let start = s * b.streamLength
            #expect(streams[s] == Array(Int32(start)..<Int32(start + b.stepsPerEpoch * steps)))
            #expect(start + b.stepsPerEpoch * steps <= (s + 1) * b.streamLength)
        }
        // the step after the last wraps to the start: a new epoch
        let newEpoch = b.next(text: text, inputs: &inputs, targets: &targets, state: state)
        #expect(newEpoch)
        #expect(b.epoch == 1 && b.position == 1)
        #expect(inputs[0] == 0)
    }

    @Test func everyEpochStartsFromTheFreshState() {
        let text = Self.text(41)
        var b = Batcher(textCount: 41, batch: 2, steps: 5, resetEvery: 0)
        let state = Self.state(batch: 2)
        var inputs = [Int32](repeating: 0, count: 10), targets = inputs
        for epoch in 0..<3 {
            for position in 0..<b.stepsPerEpoch {
                Self.mark(state)
                b.next(text: text, inputs: &inputs, targets: &targets, state: state)
                // resetEvery 0: only the epoch's first step resets, and then every stream
                #expect(Self.resetStreams(state) == (position == 0 ? [0, 1] : []), "epoch \(epoch) step \(position)")
            }
        }
    }

    @Test func resetsAreStaggeredAcrossStreams() {
        let batch = 4, resetEvery = 6
        let n = 40 * batch * 2 + 1
        let text = Self.text(n)
        var b = Batcher(textCount: n, batch: batch, steps: 2, resetEvery: resetEvery)
        let state = Self.state(batch: batch)
        var inputs = [Int32](repeating: 0, count: batch * 2), targets = inputs
        var lastReset = [Int](repeating: 0, count: batch)
        for position in 0..<b.stepsPerEpoch {
            Self.mark(state)
            b.next(text: text, inputs: &inputs, targets: &targets, state: state)
            let reset = Self.resetStreams(state)
            if position == 0 {
                #expect(reset == Array(0..<batch))
                continue
            }
            // stream s resets when (position + s·R/B) is a multiple of R: its own phase
            #expect(reset == (0..<batch).filter { (position + $0 * resetEvery / batch) % resetEvery == 0 })
            // only a few at once
            #expect(reset.count <= 1)
            for s in reset {
                // R steps after its previous reset (the first comes sooner, by its phase)
                if lastReset[s] > 0 { #expect(position - lastReset[s] == resetEvery) }
                lastReset[s] = position
            }
        }
        // every stream did reset within the epoch
        #expect(lastReset.allSatisfy { $0 > 0 })
    }

    @Test func seekRestoresThePosition() {
        let text = Self.text(101)
        var a = Batcher(textCount: 101, batch: 4, steps: 5, resetEvery: 3)
        let state = Self.state(batch: 4)
        var inputs = [Int32](repeating: 0, count: 20), targets = inputs
        for _ in 0..<3 { a.next(text: text, inputs: &inputs, targets: &targets, state: state) }
        var b = Batcher(textCount: 101, batch: 4, steps: 5, resetEvery: 3)
        b.seek(position: a.position, epoch: a.epoch)
        var inputs2 = inputs, targets2 = targets
        a.next(text: text, inputs: &inputs, targets: &targets, state: state)
        b.next(text: text, inputs: &inputs2, targets: &targets2, state: state)
        #expect(inputs == inputs2 && targets == targets2)
        #expect(a.position == b.position && a.epoch == b.epoch)
    }
}
