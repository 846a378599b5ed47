/// Appends the UTF-8 encoding of `s` to `bytes` (1 to 4 bytes).
@inlinable
public func appendUTF8(_ s: Unicode.Scalar, to bytes: inout [UInt8]) {
    let v = s.value
    if v < 0x80 {
        bytes.append(UInt8(truncatingIfNeeded: v))
    } else if v < 0x800 {
        bytes.append(0xC0 | UInt8(truncatingIfNeeded: v >> 6))
        bytes.append(0x80 | UInt8(truncatingIfNeeded: v & 0x3F))
    } else if v < 0x1_0000 {
        bytes.append(0xE0 | UInt8(truncatingIfNeeded: v >> 12))
        bytes.append(0x80 | UInt8(truncatingIfNeeded: (v >> 6) & 0x3F))
        bytes.append(0x80 | UInt8(truncatingIfNeeded: v & 0x3F))
    } else {
        bytes.append(0xF0 | UInt8(truncatingIfNeeded: v >> 18))
        bytes.append(0x80 | UInt8(truncatingIfNeeded: (v >> 12) & 0x3F))
        bytes.append(0x80 | UInt8(truncatingIfNeeded: (v >> 6) & 0x3F))
        bytes.append(0x80 | UInt8(truncatingIfNeeded: v & 0x3F))
    }
}

/// Appends the UTF-8 encoding of every scalar in `scalars` to `bytes`.
@inlinable
public func appendUTF8<S: Sequence>(contentsOf scalars: S, to bytes: inout [UInt8]) where S.Element == Unicode.Scalar {
    bytes.reserveCapacity(bytes.count + scalars.underestimatedCount)
    for s in scalars { appendUTF8(s, to: &bytes) }
}
