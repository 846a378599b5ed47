// Fast batch-1 products. PLACEHOLDER: forwards to the reference twin until the SIMD kernel lands.

/// y[N] (+)= x[K] · W[K×N]
public func vecmat(
    n: Int, k: Int,
    x: UnsafePointer<Float>,
    w: UnsafePointer<Float>, ldw: Int,
    y: UnsafeMutablePointer<Float>,
    accumulate: Bool
) {
    vecmatReference(n: n, k: k, x: x, w: w, ldw: ldw, y: y, accumulate: accumulate)
}
