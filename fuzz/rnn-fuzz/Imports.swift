// The only imports of rnn-fuzz: every other file of the module sees these (re-exported module-wide).
@_exported import RNNTraining
@_exported import RNNFormat
@_exported import RNNModel
@_exported import RNNText
@_exported import RNNShell
@_exported import RNNTools
#if canImport(Glibc)
@_exported import Glibc
#elseif canImport(Darwin)
@_exported import Darwin
#endif
