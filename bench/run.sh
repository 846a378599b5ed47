#!/usr/bin/env bash
# make bench: bash bench/run.sh [--quick] [--only gemm,train,infer] [--seconds S] [--quality] ...
# Thin wrapper: runs the orchestrator bench/bench.py (Python 3, standard library only) from the repository root.
# Peer rows use PEER_PYTHON (default ~/peer-venv/bin/python); data BENCH_DATA (default ../shared/data/tinyshakespeare.txt).
# Results: .build/bench/latest.json (quality: .build/bench/quality.json), child logs in .build/bench/logs/.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if ! command -v python3 >/dev/null 2>&1; then
    echo "bench: python3 is required" >&2
    exit 2
fi
exec python3 bench/bench.py "$@"
