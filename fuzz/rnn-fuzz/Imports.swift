// The only imports of rnn-fuzz: every other file of the module sees these (re-exported module-wide).
// When the library is split into several modules, list them here.
@_exported import RNNStream
#if canImport(Glibc)
@_exported import Glibc
#elseif canImport(Darwin)
@_exported import Darwin
#endif
