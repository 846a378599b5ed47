// swift-tools-version:6.0
import PackageDescription
import Foundation

// Release flags, in two kinds.
// - `kernels` (the RNNKernels and RNNKernels16 targets only: matrix products, activations, the cell, softmax,
//   optimizer and element loops over floats the program made itself): no bounds checks (-Ounchecked) and the
//   vector features of the baseline CPU turned on (AVX2, FMA and F16C on x86_64; NEON is the baseline on
//   arm64). -fno-math-errno lets Float.squareRoot() (a C shim imported through clang) be a plain sqrt
//   instruction that the vectoriser can widen; with errno semantics every lane calls sqrtf on the slow path.
// - everything else (the loader, the parsers, every reader of untrusted bytes, the tools): Swift's default
//   release mode, -O with all its checks, so a missed bound is a trap and not a silent overwrite.
// The binary is the same whatever machine builds it: AVX-512 code lives only in RNNKernels16 (compiled for
// AVX-512 on x86_64) and in CKernels' functions with their own target attributes (the bf16 kernels), and
// RNNKernels calls either only after cpuid has said the CPU runs them (CPU.swift).
var kernelFlags: [String] = ["-Ounchecked", "-wmo", "-Xcc", "-fno-math-errno"]
#if arch(x86_64)
kernelFlags += ["-Xcc", "-mavx2", "-Xcc", "-mfma", "-Xcc", "-mf16c"]
#endif
var wideFlags = kernelFlags
#if arch(x86_64)
wideFlags += ["-Xcc", "-mavx512f", "-Xcc", "-mavx512vl", "-Xcc", "-mavx512bw", "-Xcc", "-mavx512dq"]
#endif
let kernels: [SwiftSetting] = [.unsafeFlags(kernelFlags, .when(configuration: .release))]
let wideKernels: [SwiftSetting] = [.unsafeFlags(wideFlags, .when(configuration: .release))]

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
            "RNNKernels16", "RNNKernels", "RNNText", "RNNModel", "RNNFormat", "RNNInference", "RNNTraining", "RNNShell",
            "RNNTools",
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
        .target(name: "CKernels", path: "Sources/CKernels"),
        .target(name: "RNNKernels16", path: "Sources/RNNStream/Kernels16", swiftSettings: wideKernels),
        .target(name: "RNNKernels", dependencies: ["RNNKernels16", "CKernels"], path: "Sources/RNNStream/Kernels",
                swiftSettings: kernels),
        .target(name: "RNNText", path: "Sources/RNNStream/Text"),
        .target(name: "RNNModel", dependencies: ["RNNKernels", "RNNText"], path: "Sources/RNNStream/Model"),
        .target(name: "RNNFormat", dependencies: ["RNNModel", "RNNKernels", "RNNText", "CZlib"],
                path: "Sources/RNNStream/Format"),
        .target(name: "RNNInference", dependencies: ["RNNModel", "RNNKernels", "RNNText"],
                path: "Sources/RNNStream/Inference"),
        .target(name: "RNNTraining", dependencies: ["RNNInference", "RNNFormat", "RNNModel", "RNNKernels", "RNNText"],
                path: "Sources/RNNStream/Training"),
        .target(name: "RNNShell", dependencies: ["RNNKernels", "RNNText"], path: "Sources/RNNStream/Shell"),
        .target(name: "RNNTools",
                dependencies: ["RNNTraining", "RNNInference", "RNNFormat", "RNNModel", "RNNKernels", "RNNText", "RNNShell"],
                path: "Sources/RNNStream/Tools"),
        .target(name: "RNNStreamCLI", dependencies: ["RNNShell", argumentParser]),
        .executableTarget(name: "rnn-fit", dependencies: ["RNNTools", "RNNTraining", "RNNModel", "RNNKernels", "RNNShell", "RNNStreamCLI", argumentParser]),
        .executableTarget(name: "rnn-gen", dependencies: ["RNNTools", "RNNInference", "RNNKernels", "RNNShell", "RNNStreamCLI", argumentParser]),
        .executableTarget(name: "rnn-score", dependencies: ["RNNTools", "RNNInference", "RNNKernels", "RNNShell", "RNNStreamCLI", argumentParser]),
        .executableTarget(
            name: "rnn-bench",
            dependencies: ["RNNKernels", "CKernels"],
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
            "CKernels", "RNNKernels", "RNNText", "RNNModel", "RNNFormat", "RNNInference", "RNNTraining", "RNNShell", "RNNTools",
        ]),
    ],
    // Kernels hand raw pointers to the worker team over disjoint ranges; Swift 5 mode lets them do so
    // without wrapping every pointer in an @unchecked Sendable box.
    swiftLanguageModes: [.v5]
)
