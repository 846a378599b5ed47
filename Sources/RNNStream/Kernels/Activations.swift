import Foundation

// Vectorised nonlinearities on SIMD8<Float>, with scalar reference twins in Double-free plain Swift.
// exp8 follows Cephes' expf: x = n·ln2 + r, |r| ≤ ln2/2, e^r by a degree-6 polynomial, 2^n by exponent bits.
// Relative error about 2e-7 over the clamped range; sigmoid and tanh are built on it.

public typealias Float8 = SIMD8<Float>

@inline(__always)
public func exp8(_ v: Float8) -> Float8 {
    // keep n + 127 inside the normal exponent range
    // (compare-and-blend: `clamped` goes through an out-of-line pointwiseMin/Max)
    var x = v.replacing(with: -87.0, where: v .< -87.0)
    x.replace(with: 88.0, where: x .> 88.0)
    let fx = (x * 1.442_695_04).rounded(.toNearestOrEven)
    // r = x - n·ln2, with ln2 split in two parts for precision
    x = x - fx * 0.693_359_375
    x = x + fx * 2.121_944_4e-4
    var y = Float8(repeating: 1.987_569_15e-4)
    y = y * x + 1.398_199_95e-3
    y = y * x + 8.333_451_9e-3
    y = y * x + 4.166_579_59e-2
    y = y * x + 1.666_666_55e-1
    y = y * x + 5.000_000_12e-1
    y = y * (x * x) + x + 1
    // 2^n from the exponent bits: adding 1.5·2^23 puts the integer n in the low mantissa bits
    let magic = unsafeBitCast(fx + 12_582_912.0, to: SIMD8<Int32>.self) &- 0x4B40_0000
    let scale = unsafeBitCast((magic &+ 127) &<< 23, to: Float8.self)
    return y * scale
}

/// σ(x) = 1 / (1 + e^-x)
@inline(__always)
public func sigmoid8(_ x: Float8) -> Float8 { 1 / (1 + exp8(-x)) }

/// tanh(x) = 2σ(2x) - 1
@inline(__always)
public func tanh8(_ x: Float8) -> Float8 { 2 / (1 + exp8(-2 * x)) - 1 }

/// Reference twins.
@inline(__always) public func sigmoidReference(_ x: Float) -> Float { 1 / (1 + Foundation.exp(-x)) }
@inline(__always) public func tanhReference(_ x: Float) -> Float { Foundation.tanh(x) }

/// Loads min(n, 8) floats, zero-padding the rest; lets one SIMD body handle a row's tail too.
@inline(__always)
public func load8(_ p: UnsafePointer<Float>, _ n: Int) -> Float8 {
    if n >= 8 { return UnsafeRawPointer(p).loadUnaligned(as: Float8.self) }
    var v = Float8()
    for i in 0..<n { v[i] = p[i] }
    return v
}

/// Stores the first min(n, 8) lanes.
@inline(__always)
public func store8(_ v: Float8, _ p: UnsafeMutablePointer<Float>, _ n: Int) {
    if n >= 8 {
        UnsafeMutableRawPointer(p).storeBytes(of: v, as: Float8.self)
        return
    }
    for i in 0..<n { p[i] = v[i] }
}
