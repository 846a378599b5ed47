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
