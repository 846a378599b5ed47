import RNNTraining

/// The toolkit's version, printed by `--version` and stored in every weights file.
public let rnnstreamVersion = "0.1.0"
