// Element and row loops over a chunk's rows, for the layers above (Model, Inference), which keep Swift's
// checks: each is a plain loop, so it is its own reference. A row is `cols` contiguous floats; row r starts
// at r·cols.

/// Every row of out (rows, cols) = v (cols): the bias before a product accumulates into it.
package func broadcastRows(rows: Int, cols: Int, _ v: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
    for r in 0..<rows { (out + r * cols).update(from: v, count: cols) }
}

/// out[r, :] += table[indices[r], :]: a one-hot input times a weight matrix is the row it selects.
package func gatherAddRows(rows: Int, cols: Int, table: UnsafePointer<Float>, indices: UnsafePointer<Int32>,
                           into out: UnsafeMutablePointer<Float>) {
    for r in 0..<rows {
        addInPlace(out + r * cols, table + Int(indices[r]) * cols, count: cols)
    }
}

/// table[indices[r], :] += src[r, :]: the gradient of `gatherAddRows` with respect to the table.
/// Rows are added in order r = 0, 1, …, so repeated indices sum the same way every run.
package func scatterAddRows(rows: Int, cols: Int, _ src: UnsafePointer<Float>, indices: UnsafePointer<Int32>,
                            into table: UnsafeMutablePointer<Float>) {
    for r in 0..<rows {
        addInPlace(table + Int(indices[r]) * cols, src + r * cols, count: cols)
    }
}

/// y += x over `count` floats.
package func addInPlace(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
    var j = 0
    while j < count {
        let n = count - j
        store8(load8(y + j, n) + load8(x + j, n), y + j, n)
        j += 8
    }
}

/// y ⊙= x over `count` floats.
package func multiplyInPlace(_ y: UnsafeMutablePointer<Float>, _ x: UnsafePointer<Float>, count: Int) {
    for i in 0..<count { y[i] *= x[i] }
}

/// out[j] += Σ_r m[r, j] for the first `cols` columns of rows `ld` floats apart (ld ≥ cols; a bias gradient).
package func columnSum(rows: Int, cols: Int, _ m: UnsafePointer<Float>, ld: Int? = nil,
                       into out: UnsafeMutablePointer<Float>) {
    let ld = ld ?? cols
    for r in 0..<rows { addInPlace(out, m + r * ld, count: cols) }
}

/// Inverted dropout of `count` floats: mask[i] = 1/keep with probability keep, else 0 (one draw of `rng` per
/// element, in order); out = src ⊙ mask.
package func dropout(count: Int, keep: Float, rng: inout Random, mask: UnsafeMutablePointer<Float>,
                     src: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>) {
    let scale = 1 / keep
    for i in 0..<count {
        mask[i] = rng.nextFloat() < keep ? scale : 0
        out[i] = src[i] * mask[i]
    }
}
