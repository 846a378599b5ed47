// Layer normalisation of a cell's pre-activations (Ba, Kiros and Hinton 2016), as `--layer-norm` uses it:
// every H-wide block of a row (one gate's input part, or its recurrent part) is normalised on its own and
// scaled by a gain per unit; there is no shift, the cell's bias follows.
//
//     μ = mean(z)    σ² = mean((z - μ)²)    r = 1/√(σ² + ε)    ẑ = (z - μ)·r    y = g ⊙ ẑ
//
// Backward, for one block, given dy:
//
//     dg += dy ⊙ ẑ                  (summed over rows)
//     d = dy ⊙ g
//     dz = r·(d - mean(d) - ẑ·mean(d ⊙ ẑ))
//
// A block of zeros (the recurrent part from the fresh state) stays zeros. The loops run 8 lanes at a time
// over pieces of rows (`rowsPerPiece`) fixed by the shapes alone, spread over the threads, so the bits do not
// depend on the thread count. The Double twin in `ReferenceNetwork` checks them (GradientCheckTests).
package enum LayerNorm {
    /// Added to the variance before the square root (PyTorch's default).
    package static let epsilon: Float = 1e-5
    /// Rows per parallel piece: a piece of a few thousand floats is worth a thread's wake-up.
    static let rowsPerPiece = 8
    /// Columns per piece when the gain gradient's partial sums are added up.
    static let columnsPerPiece = 128

    /// out = g ⊙ ẑ (+ `bias`, cols floats) (+ out's own values when `accumulate`), where z (rows, blocks·width)
    /// becomes ẑ in place, every block of `width` normalised on its own; with `rstd`, each block's r is kept at
    /// `rstd[row·blocks + block]` for `backward`. g has one float per unit of every block. out may be z itself.
    /// A piece of rows is normalised and scaled while it is in cache.
    package static func forward(rows: Int, blocks: Int, width: Int, _ z: UnsafeMutablePointer<Float>,
                                rstd: UnsafeMutablePointer<Float>?, gain: UnsafePointer<Float>,
                                bias: UnsafePointer<Float>? = nil, into out: UnsafeMutablePointer<Float>,
                                accumulate: Bool) {
        let cols = blocks * width, whole = width & ~7
        inPieces(rows: rows, cols: cols) { first, end in
            // ẑ = (z - μ)·r, block by block
            for i in (first * blocks)..<(end * blocks) {
                let x = z + i * width
                var s8 = Float8(), s = Float(0)
                var j = 0
                while j < whole { s8 += load8(x + j, 8); j += 8 }
                while j < width { s += x[j]; j += 1 }
                let mean = (s8.sum() + s) / Float(width)
                var q8 = Float8(), q = Float(0)
                j = 0
                while j < whole { let d = load8(x + j, 8) - mean; q8 += d * d; j += 8 }
                while j < width { let d = x[j] - mean; q += d * d; j += 1 }
                let r = 1 / ((q8.sum() + q) / Float(width) + epsilon).squareRoot()
                j = 0
                while j < whole { store8((load8(x + j, 8) - mean) * r, x + j, 8); j += 8 }
                while j < width { x[j] = (x[j] - mean) * r; j += 1 }
                rstd?[i] = r
            }
            // out = g ⊙ ẑ (+ bias) (+ out)
            for row in first..<end {
                let x = z + row * cols, o = out + row * cols
                var j = 0
                while j < cols {
                    let n = cols - j
                    var y = load8(x + j, n) * load8(gain + j, n)
                    if let bias { y += load8(bias + j, n) }
                    if accumulate { y += load8(o + j, n) }
                    store8(y, o + j, n)
                    j += 8
                }
            }
        }
    }

    /// The gradients of `forward`: given dy (rows, blocks·width) at y = g ⊙ ẑ, adds Σ dy ⊙ ẑ into `dGain` and
    /// overwrites `xhat` (ẑ in) with dz, the gradient at the pre-normalisation z. One pass over the rows: each
    /// piece of rows adds its own rows' dy ⊙ ẑ into a partial sum of its own before ẑ is overwritten, and the
    /// partials are then added into dGain in piece order (by pieces of columns), whatever the thread count.
    /// `partials`: room for `partialsCount(rows:cols:)` floats, overwritten.
    package static func backward(rows: Int, blocks: Int, width: Int, dy: UnsafePointer<Float>,
                                 gain: UnsafePointer<Float>, rstd: UnsafePointer<Float>,
                                 xhatInDzOut xhat: UnsafeMutablePointer<Float>, dGain: UnsafeMutablePointer<Float>,
                                 partials: UnsafeMutablePointer<Float>) {
        let cols = blocks * width, whole = width & ~7
        let pieces = (rows + rowsPerPiece - 1) / rowsPerPiece
        inPieces(rows: rows, cols: cols) { first, end in
            // this piece's Σ dy ⊙ ẑ, in row order
            let dg = partials + (first / rowsPerPiece) * cols
            dg.update(repeating: 0, count: cols)
            for row in first..<end {
                let d = dy + row * cols, x = xhat + row * cols
                var j = 0
                while j < cols {
                    let n = cols - j
                    store8(load8(dg + j, n) + load8(d + j, n) * load8(x + j, n), dg + j, n)
                    j += 8
                }
            }
            // dz = r·(d - mean(d) - ẑ·mean(d ⊙ ẑ)), d = dy ⊙ g, in place of ẑ
            for row in first..<end {
                for block in 0..<blocks {
                    let at = row * cols + block * width
                    let d = dy + at, x = xhat + at, g = gain + block * width
                    var m1v = Float8(), m2v = Float8(), m1 = Float(0), m2 = Float(0)
                    var j = 0
                    while j < whole {
                        let dj = load8(d + j, 8) * load8(g + j, 8)
                        m1v += dj
                        m2v += dj * load8(x + j, 8)
                        j += 8
                    }
                    while j < width { let dj = d[j] * g[j]; m1 += dj; m2 += dj * x[j]; j += 1 }
                    m1 = (m1v.sum() + m1) / Float(width)
                    m2 = (m2v.sum() + m2) / Float(width)
                    let r = rstd[row * blocks + block]
                    j = 0
                    while j < whole {
                        let dj = load8(d + j, 8) * load8(g + j, 8)
                        store8(r * (dj - m1 - load8(x + j, 8) * m2), x + j, 8)
                        j += 8
                    }
                    while j < width { x[j] = r * (d[j] * g[j] - m1 - x[j] * m2); j += 1 }
                }
            }
        }
        // dg += the partials, piece after piece
        let columnPieces = (cols + columnsPerPiece - 1) / columnsPerPiece
        func sum(_ piece: Int) {
            let first = piece * columnsPerPiece, count = min(columnsPerPiece, cols - first)
            let dg = dGain + first
            for p in 0..<pieces {
                let s = partials + p * cols + first
                var j = 0
                while j < count {
                    let n = count - j
                    store8(load8(dg + j, n) + load8(s + j, n), dg + j, n)
                    j += 8
                }
            }
        }
        if pieces * cols >= parallelThreshold { parallelFor(columnPieces, sum) } else { for p in 0..<columnPieces { sum(p) } }
    }

    /// The floats `backward` needs for its partial gain gradients over `rows` rows of `cols`: one row per piece.
    package static func partialsCount(rows: Int, cols: Int) -> Int {
        (rows + rowsPerPiece - 1) / rowsPerPiece * cols
    }

    /// Below this many floats a loop runs on the calling thread.
    static let parallelThreshold = 16_384

    /// Runs `body(first, end)` over pieces of `rowsPerPiece` rows of `cols` floats, on the threads when the
    /// work is large enough. Each piece touches only its own rows.
    private static func inPieces(rows: Int, cols: Int, _ body: (Int, Int) -> Void) {
        let pieces = (rows + rowsPerPiece - 1) / rowsPerPiece
        func run(_ piece: Int) { body(piece * rowsPerPiece, min(rows, (piece + 1) * rowsPerPiece)) }
        if pieces > 1 && rows * cols >= parallelThreshold { parallelFor(pieces, run) } else { for p in 0..<pieces { run(p) } }
    }
}
