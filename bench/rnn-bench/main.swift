// rnn-bench: throughput of the kernels.
// Usage: rnn-bench [seconds-per-measurement] [--model-shapes] [--json]
//        (--json: one JSON object on stdout instead of the table, for bench/bench.py)
//        rnn-bench --shape PRODUCT M N K THREADS [seconds] [--bf16]
//        (PRODUCT: matmul, matmulBT, matmulAT, vecmat, packedVecmat, packed)
import Foundation
import RNNKernels

let arguments = Array(CommandLine.arguments.dropFirst())

if let i = arguments.firstIndex(of: "--shape"), arguments.count >= i + 6,
   let product = BenchProduct(rawValue: arguments[i + 1]),
   let m = Int(arguments[i + 2]), let n = Int(arguments[i + 3]), let k = Int(arguments[i + 4]),
   let threads = Int(arguments[i + 5]) {
    let secs = arguments.count > i + 6 ? Double(arguments[i + 6]) ?? 1 : 1
    let precision: Precision = arguments.contains("--bf16") ? .bf16 : .fp32
    if !precision.isSupported { FileHandle.standardError.write("rnn-bench: this CPU has no AVX512_BF16\n".data(using: .utf8)!); exit(1) }
    let g = benchProduct(product, m: m, n: n, k: k, threads: threads, seconds: secs, precision: precision)
    print("\(product.rawValue) \(precision) \(m)×\(n)×\(k) threads \(threads): \(String(format: "%.1f", g)) GFLOP/s")
    exit(0)
}

let seconds = arguments.compactMap(Double.init).first ?? 1.0

func fmt(_ x: Double, _ width: Int = 7) -> String {
    let s = String(format: "%.1f", x)
    return String(repeating: " ", count: max(0, width - s.count)) + s
}

let gemmShapes = [(50, 2048, 1024), (50, 512, 512), (512, 512, 512), (1, 2048, 1024)]

if arguments.contains("--json") {
    // Same measurements as the table, machine-readable: the peaks (fp32 at 8 and 16 lanes, bf16) and matmul
    // GFLOP/s on 1 and 2 threads, fp32 and (where the CPU has it) bf16.
    func num(_ x: Double) -> String { String(format: "%.2f", x) }
    let p1 = measureFMAPeak(threads: 1, seconds: seconds)
    let p2 = measureFMAPeak(threads: 2, seconds: seconds)
    let wide2 = measurePeak(.fp32x16, threads: 2, seconds: seconds)
    let bf2 = measurePeak(.bf16x32, threads: 2, seconds: seconds)
    var rows: [String] = []
    let precisions = Precision.allCases.filter(\.isSupported)
    for (m, n, k) in gemmShapes {
        for threads in [1, 2] {
            for precision in precisions where m > 1 || precision == .fp32 {
                let g = benchGEMM(m: m, n: n, k: k, threads: threads, seconds: seconds, precision: precision)
                rows.append("{\"m\":\(m),\"n\":\(n),\"k\":\(k),\"threads\":\(threads),\"precision\":\"\(precision)\","
                    + "\"gflops_median\":\(num(g))}")
            }
        }
    }
    print("{\"seconds\":\(seconds),\"cpu\":\"\(CPU.level)\",\"fma_peak_gflops_1t\":\(num(p1)),\"fma_peak_gflops_2t\":\(num(p2)),"
        + "\"fma16_peak_gflops_2t\":\(num(wide2)),\"bf16_peak_gflops_2t\":\(num(bf2)),"
        + "\"gemm\":[\(rows.joined(separator: ","))]}")
    exit(0)
}

print("== matrix kernels (GFLOP/s, median of repeated calls, \(seconds) s each) ==")
let peak1 = measureFMAPeak(threads: 1, seconds: seconds)
let peak2 = measureFMAPeak(threads: 2, seconds: seconds)
print("CPU kernels: \(CPU.level)")
print("FMA peak (\(PeakVector.scalarCount)-wide)  1 thread: \(fmt(peak1))   2 threads: \(fmt(peak2))")
var peakOf: [Precision: Double] = [.fp32: peak2]
for kind in [PeakKind.fp32x16, .bf16x32] where kind.runs {
    let p1 = measurePeak(kind, threads: 1, seconds: seconds), p2 = measurePeak(kind, threads: 2, seconds: seconds)
    print("\(kind.rawValue) peak  1 thread: \(fmt(p1))   2 threads: \(fmt(p2))")
    if kind == .fp32x16 { peakOf[.fp32] = p2 } else { peakOf[.bf16] = p2 }
}
print("matmul M×N×K          1 thr   2 thr   of 2-thread peak of its precision")
for (m, n, k) in gemmShapes {
    for precision in Precision.allCases where precision.isSupported && (m > 1 || precision == .fp32) {
        let g1 = benchGEMM(m: m, n: n, k: k, threads: 1, seconds: seconds, precision: precision)
        let g2 = benchGEMM(m: m, n: n, k: k, threads: 2, seconds: seconds, precision: precision)
        let name = "\(m)×\(n)×\(k) \(precision)".padding(toLength: 20, withPad: " ", startingAt: 0)
        print("\(name) \(fmt(g1)) \(fmt(g2))   \(fmt(100 * g2 / peakOf[precision]!, 5))%")
    }
}

if arguments.contains("--model-shapes") {
    print("model shapes (2 threads)")
    let shapes: [(BenchProduct, Int, Int, Int)] = [
        (.matmul, 50, 2048, 512), (.matmul, 2500, 2048, 512), (.matmul, 2500, 65, 512),
        (.matmulBT, 50, 512, 2048), (.matmulBT, 2500, 512, 2048),
        (.matmulAT, 512, 2048, 2500), (.matmulAT, 512, 65, 2500),
        (.vecmat, 1, 2048, 512), (.vecmat, 1, 65, 512),
    ]
    for (p, m, n, k) in shapes {
        let g = benchProduct(p, m: m, n: n, k: k, threads: 2, seconds: seconds)
        let name = "\(p.rawValue) \(m)×\(n)×\(k)".padding(toLength: 28, withPad: " ", startingAt: 0)
        print("\(name) \(fmt(g))")
    }
}
