import RNNStream
print(rnnstreamVersion)
