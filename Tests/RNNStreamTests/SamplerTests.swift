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

/// Issue 11: the sampler takes its coin (as llama2.c's `sample(probabilities, coin)`), so every case is exact.
struct SamplerTests {
    static let logits: [Float] = [0.3, -1.2, 2.0, 0.9, -0.4, 1.7, 0.0]
    /// The largest Double below 1: the highest coin `Random.nextDouble()` can return.
    static let topCoin = Double(1).nextDown

    static func sample(_ logits: [Float], _ options: SamplingOptions, coin: Double) -> Int {
        var sampler = Sampler(options: options)
        return Int(logits.withUnsafeBufferPointer { sampler.sample(logits: $0.baseAddress!, count: $0.count, coin: coin) })
    }

    /// softmax(l / T) in Double, the max subtracted.
    static func softmax(_ logits: [Float], temperature t: Double) -> [Double] {
        let m = Double(logits.max()!)
        let e = logits.map { exp((Double($0) - m) / t) }
        let total = e.reduce(0, +)
        return e.map { $0 / total }
    }

    /// How often each index comes out for N evenly spaced coins (i + ½)/N.
    static func counts(_ logits: [Float], _ options: SamplingOptions, draws n: Int) -> [Int] {
        var sampler = Sampler(options: options)
        var counts = [Int](repeating: 0, count: logits.count)
        logits.withUnsafeBufferPointer { l in
            for i in 0..<n { counts[Int(sampler.sample(logits: l.baseAddress!, count: l.count, coin: (Double(i) + 0.5) / Double(n)))] += 1 }
        }
        return counts
    }

    @Test func temperatureZeroIsTheArgmaxWhateverTheCoin() {
        for coin in [0, 0.25, 0.5, Self.topCoin] {
            #expect(Self.sample(Self.logits, SamplingOptions(temperature: 0), coin: coin) == 2)
            // equal logits: the lowest index
            #expect(Self.sample([1, 3, 3, 3], SamplingOptions(temperature: 0), coin: coin) == 1)
            #expect(Self.sample([5], SamplingOptions(temperature: 0), coin: coin) == 0)
        }
    }

    /// Evenly spaced coins fall into each character's interval of width p_j: N·p_j of them, give or take one
    /// (two allows for the rounding of an interval's ends). Exact, so it cannot flake.
    @Test(arguments: [1.0, 0.5, 2.0, 0.1])
    func evenlySpacedCoinsFollowTheSoftmaxAtTheTemperature(temperature: Double) {
        let n = 100_000
        let counts = Self.counts(Self.logits, SamplingOptions(temperature: temperature), draws: n)
        let p = Self.softmax(Self.logits, temperature: temperature)
        #expect(counts.reduce(0, +) == n)
        for j in 0..<p.count { #expect(abs(Double(counts[j]) - Double(n) * p[j]) <= 2, "index \(j)") }
    }

    @Test func temperatureScalesTheLogits() {
        // T = 2 on l is T = 1 on l / 2, coin by coin
        let halved = Self.logits.map { $0 / 2 }
        for i in 0..<1000 {
            let coin = (Double(i) + 0.5) / 1000
            #expect(Self.sample(Self.logits, SamplingOptions(temperature: 2), coin: coin)
                    == Self.sample(halved, SamplingOptions(temperature: 1), coin: coin))
        }
        // a low temperature concentrates on the argmax, a high one flattens towards uniform
        let cold = Self.counts(Self.logits, SamplingOptions(temperature: 0.05), draws: 10_000)
        #expect(cold[2] > 9_900)
        let hot = Self.counts(Self.logits, SamplingOptions(temperature: 1000), draws: 7_000)
        for c in hot { #expect(abs(c - 1000) <= 10) }
    }

    @Test func topKOfOneIsTheArgmax() {
        for i in 0..<100 {
            #expect(Self.sample(Self.logits, SamplingOptions(topK: 1), coin: Double(i) / 100) == 2)
            #expect(Self.sample([0, 2, 2], SamplingOptions(topK: 1), coin: Double(i) / 100) == 1)  // ties by index
        }
    }

    @Test func topKKeepsTheKMostLikelyRenormalised() {
        let n = 100_000
        let counts = Self.counts(Self.logits, SamplingOptions(topK: 3), draws: n)
        // the three largest logits: indices 2, 5, 3
        let p = Self.softmax(Self.logits, temperature: 1)
        let kept = p[2] + p[5] + p[3]
        for j in 0..<p.count {
            let expected = [2, 5, 3].contains(j) ? Double(n) * p[j] / kept : 0
            #expect(abs(Double(counts[j]) - expected) <= 2, "index \(j)")
        }
    }

    @Test(arguments: [7, 8, 1000])
    func topKOfTheVocabularyOrMoreChangesNothing(k: Int) {
        for i in 0..<1000 {
            let coin = (Double(i) + 0.5) / 1000
            #expect(Self.sample(Self.logits, SamplingOptions(topK: k), coin: coin)
                    == Self.sample(Self.logits, SamplingOptions(), coin: coin))
        }
    }

    @Test func aTinyTopPIsTheArgmax() {
        for p in [1e-12, 0.01, 0.2] {
            for i in 0..<100 { #expect(Self.sample(Self.logits, SamplingOptions(topP: p), coin: Double(i) / 100) == 2) }
        }
    }

    @Test func topPOfOneIsTheFullDistribution() {
        for i in 0..<1000 {
            let coin = (Double(i) + 0.5) / 1000
            #expect(Self.sample(Self.logits, SamplingOptions(topP: 1), coin: coin)
                    == Self.sample(Self.logits, SamplingOptions(), coin: coin))
        }
    }

    @Test func topPKeepsTheSmallestSetReachingP() {
        let p = Self.softmax(Self.logits, temperature: 1)
        // ranks: 2, 5, 3, 0, 6, 4, 1; P just above the top two's share needs a third
        let two = p[2] + p[5]
        let n = 100_000
        let counts = Self.counts(Self.logits, SamplingOptions(topP: two + 1e-9), draws: n)
        let kept = two + p[3]
        for j in 0..<p.count {
            let expected = [2, 5, 3].contains(j) ? Double(n) * p[j] / kept : 0
            #expect(abs(Double(counts[j]) - expected) <= 2, "index \(j)")
        }
        // exactly the top two's share (a little under, for rounding) keeps two
        let exact = Self.counts(Self.logits, SamplingOptions(topP: two * (1 - 1e-12)), draws: 1000)
        #expect(exact[2] + exact[5] == 1000)
    }

    @Test func topPTiesAreBrokenByIndex() {
        // p = (e, e, 1) / (2e + 1): the first of the tied pair already covers 0.4
        for i in 0..<100 {
            #expect(Self.sample([1, 1, 0], SamplingOptions(topP: 0.4), coin: Double(i) / 100) == 0)
            #expect(Self.sample([0, 1, 1], SamplingOptions(topP: 0.4), coin: Double(i) / 100) == 1)
        }
        // 0.5 needs both of them, in equal shares
        let counts = Self.counts([1, 1, 0], SamplingOptions(topP: 0.5), draws: 1000)
        #expect(counts == [500, 500, 0])
    }

    @Test func coinZeroIsTheFirstKeptCharacter() {
        #expect(Self.sample(Self.logits, SamplingOptions(), coin: 0) == 0)
        // top-k 2 keeps indices 2 and 5
        #expect(Self.sample(Self.logits, SamplingOptions(topK: 2), coin: 0) == 2)
        #expect(Self.sample(Self.logits, SamplingOptions(topP: 0.5), coin: 0) == 2)
    }

    @Test func aCoinJustBelowOneIsTheLastKeptCharacter() {
        #expect(Self.sample(Self.logits, SamplingOptions(), coin: Self.topCoin) == 6)
        #expect(Self.sample(Self.logits, SamplingOptions(topK: 2), coin: Self.topCoin) == 5)
        #expect(Self.sample(Self.logits, SamplingOptions(topK: 3), coin: Self.topCoin) == 5)
        // a last probability below the coin's resolution has no interval to catch it
        #expect(Self.sample([10, -60], SamplingOptions(), coin: Self.topCoin) == 0)
        #expect(Self.sample([-60, 10], SamplingOptions(), coin: Self.topCoin) == 1)
        #expect(Self.sample([1, 1, 1, 1], SamplingOptions(), coin: Self.topCoin) == 3)
    }

    /// The generator's coins are the seeded `Random`'s doubles, one per character.
    @Test func seededCoinsMatchTheSoftmax() {
        var rng = Random(seed: 11)
        var sampler = Sampler(options: SamplingOptions())
        var counts = [Int](repeating: 0, count: Self.logits.count)
        let n = 200_000
        Self.logits.withUnsafeBufferPointer { l in
            for _ in 0..<n { counts[Int(sampler.sample(logits: l.baseAddress!, count: l.count, coin: rng.nextDouble()))] += 1 }
        }
        // a fixed seed: the same counts every run; the bound is ~6 standard deviations of each count
        let p = Self.softmax(Self.logits, temperature: 1)
        for j in 0..<p.count {
            let sd = (Double(n) * p[j] * (1 - p[j])).squareRoot()
            #expect(abs(Double(counts[j]) - Double(n) * p[j]) <= 6 * sd, "index \(j)")
        }
    }
}
