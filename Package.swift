// swift-tools-version:6.0
import PackageDescription
import Foundation

// Release flags, in two kinds.
// - `kernels` (the RNNKernels target only: matrix products, activations, the cell, softmax, optimizer and
//   element loops over floats the program made itself): no bounds checks (-Ounchecked) and the CPU's vector
//   features turned on per architecture (8-wide FMA on x86_64; NEON is the baseline on arm64).
//   -fno-math-errno lets Float.squareRoot() (a C shim imported through clang) be a plain sqrt instruction that
//   the vectoriser can widen; with errno semantics every lane calls sqrtf on the slow path.
// - everything else (the loader, the parsers, every reader of untrusted bytes, the tools): Swift's default
//   release mode, -O with all its checks, so a missed bound is a trap and not a silent overwrite.
var kernelFlags: [String] = ["-Ounchecked", "-wmo", "-Xcc", "-fno-math-errno"]
#if arch(x86_64)
kernelFlags += ["-Xcc", "-mavx2", "-Xcc", "-mfma", "-Xcc", "-mf16c"]
#endif
var kernels: [SwiftSetting] = []
// AVX-512: when the building machine has it (Linux x86_64, read from /proc/cpuinfo), the kernels are compiled
// for it and the 16-wide paths are the default (the RNNSTREAM_AVX512 condition). Both widths are always
// compiled and compute every element with the same operations in the same order, so both give the same bits
// (a test compares them); RNNSTREAM_VECTOR_WIDTH=8 picks the 8-wide ones at run time. RNNSTREAM_NO_AVX512=1
// opts out at build time (a binary for machines without AVX-512).
#if arch(x86_64) && os(Linux)
if ProcessInfo.processInfo.environment["RNNSTREAM_NO_AVX512"] == nil,
   let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
   let flags = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
   Set(flags.split(separator: " ")).isSuperset(of: ["avx512f", "avx512vl", "avx512bw", "avx512dq"]) {
    kernelFlags += ["-Xcc", "-mavx512f", "-Xcc", "-mavx512vl", "-Xcc", "-mavx512bw", "-Xcc", "-mavx512dq"]
    kernels.append(.define("RNNSTREAM_AVX512", .when(configuration: .release)))
}
#endif
kernels.append(.unsafeFlags(kernelFlags, .when(configuration: .release)))

// One target per layer; each may import only the layers named in its dependencies (ARCHITECTURE.md).
let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")

// Fuzzing (make fuzz): RNNSTREAM_FUZZ=1 swift build -c release --sanitize=fuzzer --sanitize=address
// -Xswiftc -sanitize=fuzzer --scratch-path .build-fuzz --product rnn-fuzz. The RNNSTREAM_FUZZ condition leaves
// rnn-fuzz without a main (libFuzzer's); without it rnn-fuzz replays files through an entry point. Every other
// module keeps exactly its settings above.
let fuzzing = ProcessInfo.processInfo.environment["RNNSTREAM_FUZZ"] == "1"

let package = Package(
    name: "rnnstream",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "RNNStream", targets: [
            "RNNKernels", "RNNText", "RNNModel", "RNNFormat", "RNNInference", "RNNTraining", "RNNShell", "RNNTools",
        ]),
        .executable(name: "rnn-fit", targets: ["rnn-fit"]),
        .executable(name: "rnn-gen", targets: ["rnn-gen"]),
        .executable(name: "rnn-score", targets: ["rnn-score"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"]), .brew(["zlib"])]
        ),
        .target(name: "RNNKernels", path: "Sources/RNNStream/Kernels", swiftSettings: kernels),
        .target(name: "RNNText", path: "Sources/RNNStream/Text"),
        .target(name: "RNNModel", dependencies: ["RNNKernels", "RNNText"], path: "Sources/RNNStream/Model"),
        .target(name: "RNNFormat", dependencies: ["RNNModel", "RNNKernels", "RNNText", "CZlib"],
                path: "Sources/RNNStream/Format"),
        .target(name: "RNNInference", dependencies: ["RNNModel", "RNNKernels", "RNNText"],
                path: "Sources/RNNStream/Inference"),
        .target(name: "RNNTraining", dependencies: ["RNNInference", "RNNFormat", "RNNModel", "RNNKernels", "RNNText"],
                path: "Sources/RNNStream/Training"),
        .target(name: "RNNShell", dependencies: ["RNNText"], path: "Sources/RNNStream/Shell"),
        .target(name: "RNNTools",
                dependencies: ["RNNTraining", "RNNInference", "RNNFormat", "RNNModel", "RNNKernels", "RNNText", "RNNShell"],
                path: "Sources/RNNStream/Tools"),
        .target(name: "RNNStreamCLI", dependencies: ["RNNShell", argumentParser]),
        .executableTarget(name: "rnn-fit", dependencies: ["RNNTools", "RNNTraining", "RNNModel", "RNNKernels", "RNNShell", "RNNStreamCLI", argumentParser]),
        .executableTarget(name: "rnn-gen", dependencies: ["RNNTools", "RNNInference", "RNNKernels", "RNNShell", "RNNStreamCLI", argumentParser]),
        .executableTarget(name: "rnn-score", dependencies: ["RNNTools", "RNNInference", "RNNKernels", "RNNShell", "RNNStreamCLI", argumentParser]),
        .executableTarget(
            name: "rnn-bench",
            dependencies: ["RNNKernels"],
            path: "bench/rnn-bench",
            swiftSettings: kernels
        ),
        .executableTarget(
            name: "rnn-fuzz",
            dependencies: ["RNNTools", "RNNTraining", "RNNFormat", "RNNModel", "RNNText", "RNNShell"],
            path: "fuzz/rnn-fuzz",
            swiftSettings: fuzzing ? [.define("RNNSTREAM_FUZZ")] : []
        ),
        .testTarget(name: "RNNStreamTests", dependencies: [
            "RNNKernels", "RNNText", "RNNModel", "RNNFormat", "RNNInference", "RNNTraining", "RNNShell", "RNNTools",
        ]),
    ],
    // Kernels hand raw pointers to the worker team over disjoint ranges; Swift 5 mode lets them do so
    // without wrapping every pointer in an @unchecked Sendable box.
    swiftLanguageModes: [.v5]
)
