// libFuzzer entry point for the weights-file loader, compiled together with the library sources by `make fuzz`
// (swiftc -sanitize=fuzzer,address). Any input must give a model or a WeightsFileError: never a crash, a hang
// or an allocation beyond the documented budget (ASan's default limit catches those).
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    // the whole file (gzip layer included) and the safetensors layer directly, so mutations reach both
    _ = try? Model.load(weightsFile: bytes)
    _ = try? Model.load(safeTensors: bytes)
    if let raw = try? Gzip.decompress(bytes, maxOutput: 1 << 24) { _ = try? Model.load(safeTensors: raw) }
    return 0
}
