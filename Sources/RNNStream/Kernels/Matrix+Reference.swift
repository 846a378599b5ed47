// Plain, obviously-correct twins of the fast kernels in Matrix+Multiply.swift and Matrix+Vector.swift.
// All matrices are row-major with an explicit leading dimension (the distance between rows).
// `accumulate: false` overwrites C; `true` adds the product to it.

/// C[M×N] (+)= A[M×K] · B[K×N]
public func matmulReference(
    m: Int, n: Int, k: Int,
    a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int,
    accumulate: Bool
) {
    for i in 0..<m {
        for j in 0..<n {
            var sum: Float = 0
            for p in 0..<k { sum += a[i * lda + p] * b[p * ldb + j] }
            c[i * ldc + j] = accumulate ? c[i * ldc + j] + sum : sum
        }
    }
}

/// C[M×N] (+)= A[M×K] · B[N×K]ᵀ
public func matmulBTReference(
    m: Int, n: Int, k: Int,
    a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int,
    accumulate: Bool
) {
    for i in 0..<m {
        for j in 0..<n {
            var sum: Float = 0
            for p in 0..<k { sum += a[i * lda + p] * b[j * ldb + p] }
            c[i * ldc + j] = accumulate ? c[i * ldc + j] + sum : sum
        }
    }
}

/// C[M×N] (+)= A[K×M]ᵀ · B[K×N]
public func matmulATReference(
    m: Int, n: Int, k: Int,
    a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int,
    accumulate: Bool
) {
    for i in 0..<m {
        for j in 0..<n {
            var sum: Float = 0
            for p in 0..<k { sum += a[p * lda + i] * b[p * ldb + j] }
            c[i * ldc + j] = accumulate ? c[i * ldc + j] + sum : sum
        }
    }
}

/// y[N] (+)= x[K] · W[K×N]   (a row vector times a row-major matrix: the batch-1 step)
public func vecmatReference(
    n: Int, k: Int,
    x: UnsafePointer<Float>,
    w: UnsafePointer<Float>, ldw: Int,
    y: UnsafeMutablePointer<Float>,
    accumulate: Bool
) {
    for j in 0..<n {
        var sum: Float = 0
        for p in 0..<k { sum += x[p] * w[p * ldw + j] }
        y[j] = accumulate ? y[j] + sum : sum
    }
}

// MARK: - bf16

/// x rounded to bfloat16 (to nearest, ties to even) and back: the value a bf16 product multiplies by.
public func bf16Rounded(_ x: Float) -> Float {
    if x.isNaN { return x }
    var bits = x.bitPattern
    bits = bits &+ 0x7fff &+ ((bits >> 16) & 1)
    return Float(bitPattern: bits & 0xffff_0000)
}

/// C[M×N] (+)= bf16(A)[M×K] · bf16(B)[K×N]: the twin of `matmul(…, precision: .bf16)`. Every input rounded
/// to bf16 as the packing does, then multiplied and summed in fp32 (a product of two bf16 values is exact in
/// fp32, so only the order of the sums differs from the kernel's).
public func matmulBF16Reference(
    m: Int, n: Int, k: Int,
    a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int,
    c: UnsafeMutablePointer<Float>, ldc: Int,
    accumulate: Bool
) {
    for i in 0..<m {
        for j in 0..<n {
            var sum: Float = 0
            for p in 0..<k { sum += bf16Rounded(a[i * lda + p]) * bf16Rounded(b[p * ldb + j]) }
            c[i * ldc + j] = accumulate ? c[i * ldc + j] + sum : sum
        }
    }
}
