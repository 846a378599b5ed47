// swift-tools-version:6.0
import PackageDescription
import Foundation

// Release builds are the fast builds: no bounds checks, whole-module optimisation, and the CPU's vector
// features turned on per architecture (8-wide FMA on x86_64; NEON is the baseline on arm64).
// -fno-math-errno lets Float.squareRoot() (a C shim imported through clang) be a plain sqrt instruction that
// the vectoriser can widen; with errno semantics every lane calls sqrtf on the slow path.
var fastFlags: [String] = ["-Ounchecked", "-wmo", "-Xcc", "-fno-math-errno"]
#if arch(x86_64)
fastFlags += ["-Xcc", "-mavx2", "-Xcc", "-mfma", "-Xcc", "-mf16c"]
#endif
var fast: [SwiftSetting] = []
// AVX-512: when the building machine has it (Linux x86_64, read from /proc/cpuinfo), release builds also get
// 16-wide kernels (the RNNSTREAM_AVX512 condition). They compute every element with the same operations in
// the same order as the 8-wide ones, so both builds give the same bits. RNNSTREAM_NO_AVX512=1 opts out
// (a binary for machines without AVX-512).
#if arch(x86_64) && os(Linux)
if ProcessInfo.processInfo.environment["RNNSTREAM_NO_AVX512"] == nil,
   let cpuinfo = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
   let flags = cpuinfo.split(separator: "\n").first(where: { $0.hasPrefix("flags") }),
   Set(flags.split(separator: " ")).isSuperset(of: ["avx512f", "avx512vl", "avx512bw", "avx512dq"]) {
    fastFlags += ["-Xcc", "-mavx512f", "-Xcc", "-mavx512vl", "-Xcc", "-mavx512bw", "-Xcc", "-mavx512dq"]
    fast.append(.define("RNNSTREAM_AVX512", .when(configuration: .release)))
}
#endif
fast.append(.unsafeFlags(fastFlags, .when(configuration: .release)))

// Fuzzing (make fuzz): RNNSTREAM_FUZZ=1 swift build -c release --sanitize=fuzzer --sanitize=address
// -Xswiftc -sanitize=fuzzer --scratch-path .build-fuzz --product rnn-fuzz. The RNNSTREAM_FUZZ condition leaves
// rnn-fuzz without a main (libFuzzer's); without it rnn-fuzz replays files through an entry point. Every other
// module keeps exactly its settings above.
let fuzzing = ProcessInfo.processInfo.environment["RNNSTREAM_FUZZ"] == "1"

let package = Package(
    name: "rnnstream",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "RNNStream", targets: ["RNNStream"]),
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
        .target(name: "RNNStream", dependencies: ["CZlib"], swiftSettings: fast),
        .target(
            name: "RNNStreamCLI",
            dependencies: ["RNNStream", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "rnn-fit",
            dependencies: ["RNNStream", "RNNStreamCLI", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: fast
        ),
        .executableTarget(
            name: "rnn-gen",
            dependencies: ["RNNStream", "RNNStreamCLI", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: fast
        ),
        .executableTarget(
            name: "rnn-score",
            dependencies: ["RNNStream", "RNNStreamCLI", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: fast
        ),
        .executableTarget(
            name: "rnn-bench",
            dependencies: ["RNNStream"],
            path: "bench/rnn-bench",
            swiftSettings: fast
        ),
        .executableTarget(
            name: "rnn-fuzz",
            dependencies: ["RNNStream"],
            path: "fuzz/rnn-fuzz",
            swiftSettings: fast + (fuzzing ? [.define("RNNSTREAM_FUZZ")] : [])
        ),
        .testTarget(name: "RNNStreamTests", dependencies: ["RNNStream"]),
    ],
    // Kernels hand raw pointers to Dispatch workers over disjoint ranges; Swift 5 mode lets them do so
    // without wrapping every pointer in an @unchecked Sendable box.
    swiftLanguageModes: [.v5]
)
