#!/usr/bin/env python3
"""rnnstream benchmark harness (`make bench` = `bash bench/run.sh`): ours against the peers, same machine, same run.

Builds the release binaries (`swift build -c release`), then runs every measurement SEQUENTIALLY (never two
measured things at once) and prints one table at the end, also written as JSON to .build/bench/latest.json
(kept out of git; the children's stdout/stderr go to .build/bench/logs/).

Groups (select with --only gemm,train,infer; default all):
  gemm   rnn-bench --json (FMA peak + matmul GFLOP/s), shared fma_peak.c (reference peak), and numpy/OpenBLAS
         (shared gemm_bench.py --threads 2, run with OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset).
  train  training chars/s of five configurations, rnn-fit vs min_char_rnn_bench.py / torch_charrnn.py, and a
         sixth, GRU 2x512 with --layer-norm (PyTorch's GRU has none: against the plain GRU's peer, with its cost
         against our plain GRU in the note). Each row trains what it names, with no dropout: plain cells
         (--no-layer-norm) unless it says --layer-norm, as rnn-fit --time would otherwise size them (fit_args).
  infer  on the LSTM 2x512 model trained in `train` (trained here if only `infer` is selected): rnn-score
         chars/s on the validation text, rnn-gen chars/s, time to the first generated character, peak RSS.
  precision  bf16 against fp32: rnn-fit --precision bf16 for LSTM 2x512, LSTM 2x256, GRU 2x512 and the seed
         RNN (where the CPU has AVX512_BF16; the fp32 rows come from `train`, run here when it is not selected),
         PyTorch LSTM 2x512 under torch.autocast(bfloat16) (bench/torch_autocast.py) as a second peer; then
         rnn-score on the validation text with fp32, fp16 and bf16 weights (chars/s, bpc and its difference).
  stream rnn-fit --stream: 1 GiB (256 MiB with --quick) of repeated tiny-shakespeare through a small RNN, then a
         2x512 LSTM on an endless pipe for the training budget: chars/s and peak RSS (target <= 256 MiB).
  bigfile issue 10's "one 100 MB line under a 2x256 RNN in under a minute": a 2x256 RNN trained for 20 s, then
         rnn-score of one 100,000,000-byte line (tiny-shakespeare with its newlines as spaces, repeated) at its
         defaults (64 segments for a file this size) and with --batch-precision bf16: seconds and peak RSS.

Budgets: default 300 s per training run (11 runs: ours + peer for 5 configurations, ours with layer norm), 2 s per GEMM
measurement: about 65-70 minutes in all (the peers also score the validation text twice and generate after
their budget; the 2x512 ones take ~1-2 min each for that).  --quick: 20 s per training run, 0.3 s per GEMM
measurement: about 8-10 minutes on an idle machine (more when it is shared); in --quick mode the peers other
than LSTM 2x512 are stopped right after their training line (their batch-1 scoring and generation are not
used; --full-peers keeps them).  --seconds S overrides the training budget.

--quality (`make quality`, issue 12): on tiny-shakespeare, one after the other, the PyTorch recipe
(torch_best.py: LSTM 2x512, dropout 0.2, Adam 2e-3, warm-up + cosine, global-norm clip 5, staggered resets, best
weights kept; 15 minutes) and rnn-fit with default options for 15, 5 and 60 minutes; each model scored exact
(fp32, one continuous stream from a zero state) and with rnn-score --adapt on the validation text (last 10%);
ours15fp32 is ours15 with --precision fp32, the bf16 default checked against fp32.  About 115 minutes.
--quality-runs peer15,ours15,ours15fp32,ours5,ours60 picks which to make now; each run's record stays in
.build/bench/quality/RUN.json and the table shows every kept run with its commit and date.
--quality-seconds S scales the budgets (S for the 15-minute ones).  QUALITY_FIT_ARGS="--hidden 384 ..." adds
rnn-fit options to the ours runs, for trying a change before making it a default (the row says so).
--quality-unseen FILE... scores every kept model (ours and the peer's, saved by bench/peer_unseen.py) on texts
none of them saw, with the characters outside tiny-shakespeare's vocabulary dropped first (the same filtered
file for both); --quality-runs "" with it only scores.

Environment: PEER_PYTHON (default ~/peer-venv/bin/python; peer rows say "peer not installed" without it),
BENCH_DATA (default ../shared/data/tinyshakespeare.txt from the repository root), BENCH_PEERS (default
../shared/bench).  Standard library only.
"""
import argparse
import json
import math
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
OUT = os.path.join(ROOT, ".build", "bench")
LOGS = os.path.join(OUT, "logs")
BIN = os.path.join(ROOT, ".build", "release")
PEERS = os.environ.get("BENCH_PEERS") or os.path.normpath(os.path.join(ROOT, "..", "shared", "bench"))
DATA = os.environ.get("BENCH_DATA") or os.path.normpath(os.path.join(ROOT, "..", "shared", "data",
                                                                     "tinyshakespeare.txt"))
PEER_PYTHON = os.environ.get("PEER_PYTHON") or os.path.expanduser("~/peer-venv/bin/python")

# ---------------------------------------------------------------------------------------------- contention
# The shared contention.Probe (what the peers use) when present; the same arithmetic otherwise.
try:
    sys.path.insert(0, PEERS)
    from contention import Probe  # noqa: E402
except Exception:  # pragma: no cover - fallback when ../shared/bench is missing
    import resource

    class Probe:
        def __init__(self):
            self.t0 = time.perf_counter()
            self.busy0 = self._busy()
            self.own0 = self._own()

        @staticmethod
        def _busy():
            with open("/proc/stat") as f:
                v = [int(x) for x in f.readline().split()[1:]]
            return (v[0] + v[1] + v[2] + v[5] + v[6]) / os.sysconf("SC_CLK_TCK")

        @staticmethod
        def _own():
            r, c = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
            return r.ru_utime + r.ru_stime + c.ru_utime + c.ru_stime

        def stop(self):
            wall = time.perf_counter() - self.t0
            foreign = max(0.0, (self._busy() - self.busy0) - (self._own() - self.own0))
            return {"wall_s": round(wall, 2), "foreign_cpu_s": round(foreign, 2),
                    "foreign_frac": round(foreign / max(1e-9, wall * os.cpu_count()), 4)}


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return f.read().split()[:3]
    except OSError:
        return ["?", "?", "?"]


# --------------------------------------------------------------------------------------------------- utils
def say(msg):
    print(msg, file=sys.stderr, flush=True)


class Child:
    """One finished child process: exit code, wall seconds, peak RSS (MiB, its own ru_maxrss via wait4),
    contention during it, and its stdout (from a file) when captured."""

    def __init__(self, rc, wall, rss_mib, contention, stdout, err_path):
        self.rc, self.wall, self.rss_mib, self.contention = rc, wall, rss_mib, contention
        self.stdout, self.err_path = stdout, err_path

    @property
    def ok(self):
        return self.rc == 0

    def err_tail(self, n=8):
        try:
            with open(self.err_path, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""


def run(name, argv, stdin_path=None, capture=True, cwd=ROOT, stop_on=None):
    """Runs argv alone, waiting with os.wait4 so the child's own rusage (ru_maxrss) is known.
    stop_on: a regex; the child is terminated (SIGTERM) as soon as a line of its stderr matches it, and the
    match is kept in Child.stop_match (used to skip the peers' evaluation when only their training rate counts)."""
    os.makedirs(LOGS, exist_ok=True)
    out_path = os.path.join(LOGS, name + ".out")
    err_path = os.path.join(LOGS, name + ".err")
    stdin = open(stdin_path, "rb") if stdin_path else subprocess.DEVNULL
    stdout = open(out_path, "wb") if capture else subprocess.DEVNULL
    stop_match = None
    settle()
    with open(err_path, "wb") as stderr:
        probe = Probe()
        t0 = time.perf_counter()
        try:
            p = subprocess.Popen(argv, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE if stop_on else stderr,
                                 cwd=cwd)
        except OSError as e:
            stderr.write(f"cannot start {argv[0]}: {e}\n".encode())
            return Child(127, 0.0, None, probe.stop(), "", err_path)
        if stop_on:
            pattern = re.compile(stop_on)
            for line in p.stderr:
                stderr.write(line)
                m = pattern.search(line.decode(errors="replace"))
                if m:
                    stop_match = m
                    stderr.write(b"[bench] stopped here: only the training rate is needed\n")
                    p.terminate()
                    break
            p.stderr.close()
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        cont = probe.stop()
    if stdin_path:
        stdin.close()
    text = ""
    if capture:
        stdout.close()
        with open(out_path, errors="replace") as f:
            text = f.read()
    child = Child(p.returncode, wall, ru.ru_maxrss / 1024.0, cont, text, err_path)
    child.stop_match = stop_match
    return child


WAIT_IDLE_S = 0.0  # --wait-idle: before each measurement, wait up to this long for the machine to go idle


def settle():
    if WAIT_IDLE_S <= 0:
        return
    try:
        from contention import wait_idle
    except Exception:
        return
    w = wait_idle(max_wait_s=WAIT_IDLE_S, window_s=2.0, threshold=0.10)
    if w < 0:
        say(f"  machine still busy after {WAIT_IDLE_S:g} s: measuring anyway")


NOISY = 0.10  # rows where other processes took more than this share of the machine are marked "!"


def last_json(text):
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                return json.loads(line)
            except ValueError:
                pass
    return None


def peer_available():
    if not os.path.isfile(os.path.join(PEERS, "torch_charrnn.py")):
        return False, f"peer scripts not found in {PEERS}"
    if not (os.path.isfile(PEER_PYTHON) and os.access(PEER_PYTHON, os.X_OK)):
        return False, f"{PEER_PYTHON} not found (set PEER_PYTHON)"
    r = subprocess.run([PEER_PYTHON, "-c", "import numpy, torch, threadpoolctl; print(torch.__version__)"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        return False, f"{PEER_PYTHON} lacks numpy/torch/threadpoolctl"
    return True, r.stdout.strip()


# ----------------------------------------------------------------------------------------------- the table
class Table:
    def __init__(self):
        self.rows = []

    def add(self, group, metric, ours, peer=None, *, unit="", lower_better=False, target=None, note="",
            ours_busy=None, peer_busy=None, peer_missing=False, peer_name=""):
        """target: ("ratio", x) = ratio >= x; ("max", x) = ours <= x; None = reference only."""
        ratio = None
        if ours is not None and peer is not None and ours > 0 and peer > 0:
            ratio = peer / ours if lower_better else ours / peer
        result = "-"
        if target is not None:
            kind, want = target
            if ours is None:
                result = "FAIL"
            elif kind == "ratio":
                result = "n/a" if ratio is None else ("PASS" if ratio >= want else "MISS")
            elif kind == "max":
                result = "PASS" if ours <= want else "MISS"
        self.rows.append({"group": group, "metric": metric, "unit": unit, "ours": ours, "peer": peer,
                          "peer_name": peer_name, "peer_missing": peer_missing, "ratio": ratio,
                          "ratio_kind": "peer/ours" if lower_better else "ours/peer",
                          "target": target_text(target, lower_better), "result": result, "note": note,
                          "busy_ours": ours_busy, "busy_peer": peer_busy})

    def render(self):
        def num(v, unit=""):
            if v is None:
                return "-"
            if unit == "bpc":
                return f"{v:.3f}"
            if abs(v) >= 1000:
                return f"{v:,.0f}"
            if abs(v) >= 100:
                return f"{v:.0f}"
            if abs(v) >= 10:
                return f"{v:.1f}"
            return f"{v:.2f}"

        def busy(r):
            if r["busy_ours"] is None and r["busy_peer"] is None:
                return "-"
            a = "-" if r["busy_ours"] is None else f"{100 * r['busy_ours']:.0f}%"
            b = "-" if r["busy_peer"] is None else f"{100 * r['busy_peer']:.0f}%"
            return f"{a}/{b}" + (" !" if noisy(r) else "")

        head = ["group", "metric", "unit", "ours", "peer", "ratio", "target", "result", "busy o/p", "note"]
        body = []
        for r in self.rows:
            peer = "peer not installed" if r["peer_missing"] else num(r["peer"], r["unit"])
            ratio = "-" if r["ratio"] is None else f"{r['ratio']:.{3 if r['unit'] == 'bpc' else 2}f}x"
            body.append([r["group"], r["metric"], r["unit"], num(r["ours"], r["unit"]), peer, ratio, r["target"],
                         r["result"], busy(r), r["note"]])
        widths = [max(len(str(x[i])) for x in [head] + body) for i in range(len(head))]
        right = {3, 4, 5}
        lines = []
        for i, row in enumerate([head] + body):
            cells = [str(c).rjust(widths[j]) if j in right else str(c).ljust(widths[j]) for j, c in enumerate(row)]
            lines.append("  ".join(cells).rstrip())
            if i == 0:
                lines.append("  ".join("-" * w for w in widths))
        return "\n".join(lines)


def noisy(r):
    return any(x is not None and x > NOISY for x in (r["busy_ours"], r["busy_peer"]))


def target_text(target, lower_better):
    if target is None:
        return "-"
    kind, want = target
    if kind == "ratio":
        return f">= {want:g}x" + (" (peer/ours)" if lower_better else "")
    return f"<= {want:g}"


def busy_of(child):
    return None if child is None else child.contention.get("foreign_frac")


# ------------------------------------------------------------------------------------------------- groups
GEMM_SHAPES = [(50, 2048, 1024), (50, 512, 512), (512, 512, 512), (1, 2048, 1024)]
# "ours >= OpenBLAS on the LSTM shapes": the batch-50 training step and the batch-1 inference step;
# 512x512x512 is the square reference shape.
GEMM_TARGET = {(50, 2048, 1024), (50, 512, 512), (1, 2048, 1024)}


def bench_gemm(ctx, table):
    secs = ctx.gemm_seconds
    say(f"[gemm] rnn-bench --json ({secs} s per measurement)")
    ours = run("rnn-bench", [os.path.join(BIN, "rnn-bench"), str(secs), "--json"])
    oj = last_json(ours.stdout) if ours.ok else None
    if oj is None:
        say(f"  rnn-bench failed (rc {ours.rc}):\n{ours.err_tail()}")

    ref = None
    fma_bin = os.path.join(OUT, "fma_peak")
    src = os.path.join(PEERS, "fma_peak.c")
    if os.path.isfile(src) and shutil.which("gcc"):
        say("[gemm] fma_peak.c (gcc -O2 -mavx2 -mfma -pthread)")
        b = subprocess.run(["gcc", "-O2", "-mavx2", "-mfma", "-pthread", src, "-o", fma_bin],
                           capture_output=True, text=True)
        if b.returncode == 0:
            f = run("fma_peak", [fma_bin, "2"])
            ref = last_json(f.stdout) if f.ok else None
        else:
            say("  fma_peak.c did not compile: " + b.stderr.strip()[:300])
    ctx.results["fma_peak_c"] = ref

    # This CPU may have AVX-512 (Zen 4/5, family 25/26), which OpenBLAS uses (its SkylakeX kernels once
    # OPENBLAS_CORETYPE is unset) while fma_peak.c and rnn-bench measure the 256-bit (AVX2) peak: measure the
    # 512-bit peak too, with the same program mechanically widened to __m512.
    ref512 = None
    if ref is not None and "avx512f" in cpu_flags():
        with open(src) as f:
            code = f.read()
        wide = (code.replace("_mm256", "_mm512").replace("__m256", "__m512").replace("out[8]", "out[16]")
                .replace("12.0 * 8.0", "12.0 * 16.0"))
        wsrc = os.path.join(OUT, "fma_peak512.c")
        with open(wsrc, "w") as f:
            f.write(wide)
        say("[gemm] fma_peak.c widened to AVX-512 (this CPU has avx512f)")
        b = subprocess.run(["gcc", "-O2", "-mavx2", "-mfma", "-mavx512f", "-pthread", wsrc, "-o", fma_bin + "512"],
                           capture_output=True, text=True)
        if b.returncode == 0:
            f = run("fma_peak512", [fma_bin + "512", "2"])
            ref512 = last_json(f.stdout) if f.ok else None
    ctx.results["fma_peak512_c"] = ref512

    peer = None
    if ctx.peer_ok:
        say(f"[gemm] numpy/OpenBLAS gemm_bench.py --threads 2 --min-seconds {secs}")
        p = run("gemm_bench", ["/usr/bin/env", "-u", "OPENBLAS_CORETYPE", "-u", "OPENBLAS_L2_SIZE", PEER_PYTHON,
                               os.path.join(PEERS, "gemm_bench.py"), "--threads", "2", "--min-seconds", str(secs)])
        peer = last_json(p.stdout) if p.ok else None
        if peer is None:
            say(f"  gemm_bench.py failed (rc {p.rc}):\n{p.err_tail()}")
        ctx.results["gemm_bench_py"] = peer
        ctx.results["contention"]["gemm_peer"] = p.contention
    ctx.results["rnn_bench"] = oj
    ctx.results["contention"]["gemm_ours"] = ours.contention

    peak2 = oj["fma_peak_gflops_2t"] if oj else None
    ref2 = ref.get("fma_f32_gflops_2t") if ref else None
    table.add("gemm", "FMA peak (our widest vector), 2 threads", peak2, ref2, unit="GFLOP/s", peer_name="fma_peak.c",
              note="peer column: shared fma_peak.c" + (f"; clock {ref['clock_ghz_dep_add']:.2f} GHz"
                                                       if ref and "clock_ghz_dep_add" in ref else ""),
              ours_busy=busy_of(ours))
    wide2, bf2 = (oj.get("fma16_peak_gflops_2t"), oj.get("bf16_peak_gflops_2t")) if oj else (None, None)
    if wide2:
        table.add("gemm", "  fp32 16-lane FMA peak (rnn-bench), 2 threads", wide2, unit="GFLOP/s",
                  note=f"cpu kernels {oj.get('cpu')}", ours_busy=busy_of(ours))
    if bf2:
        table.add("gemm", "  bf16 vdpbf16ps peak (rnn-bench), 2 threads", bf2, unit="GFLOP/s",
                  note=f"{bf2 / wide2:.2f}x the fp32 16-lane peak" if wide2 else "", ours_busy=busy_of(ours))
    ref512_2 = ref512.get("fma_f32_gflops_2t") if ref512 else None
    if ref512:
        table.add("gemm", "  FMA peak AVX-512, 2 threads", None, ref512_2, unit="GFLOP/s",
                  note="reference: fma_peak.c widened to __m512 (OpenBLAS and our AVX-512 build use 512-bit FMA here)")
    for (m, n, k) in GEMM_SHAPES:
        g = None
        if oj:
            g = next((r["gflops_median"] for r in oj["gemm"]
                      if (r["m"], r["n"], r["k"], r["threads"]) == (m, n, k, 2) and r.get("precision", "fp32") == "fp32"),
                     None)
            gb = next((r["gflops_median"] for r in oj["gemm"]
                       if (r["m"], r["n"], r["k"], r["threads"], r.get("precision")) == (m, n, k, 2, "bf16")), None)
            if gb is not None:
                table.add("gemm", f"  bf16 gemm {m}x{n}x{k} 2thr", gb, unit="GFLOP/s",
                          note=(f"{100 * gb / bf2:.0f}% of bf16 peak" if bf2 else "")
                          + (f"; {gb / g:.2f}x our fp32" if g else ""), ours_busy=busy_of(ours))
        key = f"{m}x{n}x{k}"
        pg = peer["numpy_openblas"][key]["gflops_median"] if peer else None
        mkl = peer.get("torch_mm", {}).get(key, {}).get("gflops_median") if peer else None
        notes = []
        if g is not None and peak2:
            notes.append(f"{100 * g / peak2:.0f}% of peak")
        if g is not None and ref2:
            notes.append(f"{100 * g / ref2:.0f}% of fma_peak.c")
        if g is not None and ref512_2:
            notes.append(f"{100 * g / ref512_2:.0f}% of AVX-512")
        if mkl is not None:
            notes.append(f"torch.mm {mkl:.1f}")
        table.add("gemm", f"sgemm {m}x{n}x{k} 2thr", g, pg, unit="GFLOP/s",
                  target=("ratio", 1.0) if (m, n, k) in GEMM_TARGET else None, note="; ".join(notes),
                  ours_busy=busy_of(ours), peer_busy=(ctx.results["contention"].get("gemm_peer") or {})
                  .get("foreign_frac"), peer_missing=not ctx.peer_ok, peer_name="numpy/OpenBLAS")


TRAIN = [
    {"key": "rnn_seed", "label": "RNN 1x100 B1 T25 Adagrad (seed)",
     "ours": ["--cell", "rnn", "--layers", "1", "--hidden", "100", "--seq", "25", "--batch", "1",
              "--optimizer", "adagrad", "--lr", "0.1"],
     "peer": "minchar", "target": 20.0, "peer_name": "numpy min-char-rnn"},
    {"key": "rnn_512", "label": "RNN 1x512 B50 T50",
     "ours": ["--cell", "rnn", "--layers", "1", "--hidden", "512"],
     "peer": ["--model", "rnn", "--layers", "1", "--hidden", "512"], "target": None},
    {"key": "lstm_2x128", "label": "LSTM 2x128 B50 T50",
     "ours": ["--cell", "lstm", "--layers", "2", "--hidden", "128"],
     "peer": ["--model", "lstm", "--layers", "2", "--hidden", "128"], "target": None},
    {"key": "lstm_2x512", "label": "LSTM 2x512 B50 T50",
     "ours": ["--cell", "lstm", "--layers", "2", "--hidden", "512"],
     "peer": ["--model", "lstm", "--layers", "2", "--hidden", "512"], "target": 1.5},
    {"key": "gru_2x512", "label": "GRU 2x512 B50 T50",
     "ours": ["--cell", "gru", "--layers", "2", "--hidden", "512"],
     "peer": ["--model", "gru", "--layers", "2", "--hidden", "512"], "target": 1.5},
    # PyTorch's nn.GRU has no layer normalisation: this row's peer is the plain GRU's (run once, above), and the
    # note gives its cost against our plain GRU
    {"key": "gru_2x512_ln", "label": "GRU 2x512 B50 T50, --layer-norm",
     "ours": ["--cell", "gru", "--layers", "2", "--hidden", "512", "--layer-norm"],
     "peer": None, "peer_of": "gru_2x512", "target": None},
]
ADAM_B50_T50 = ["--batch", "50", "--seq", "50", "--optimizer", "adam", "--lr", "0.002"]
# rnn-fit --time sizes what is not given (layer normalisation, dropout, weight drop: rnn-fit(1), "Model size"); the
# peers train plain cells without dropout, so every row says what it trains: plain, or with --layer-norm when the
# row names it, and no dropout either way.
PLAIN = ["--no-layer-norm"]
NO_DROPOUT = ["--dropout", "0", "--weight-drop", "0"]


def fit_args(cfg, precision):
    """rnn-fit's options for a TRAIN row (without --time and the outputs)."""
    shape = ([] if "--layer-norm" in cfg["ours"] else PLAIN) + NO_DROPOUT
    return cfg["ours"] + shape + ([] if cfg["peer"] == "minchar" else ADAM_B50_T50) + ["--precision", precision]


def train_one(ctx, cfg):
    """Runs ours then the peer for one configuration; returns (ours_child, ours_log, peer_child, peer_json)."""
    S = ctx.train_seconds
    key = cfg["key"]
    model = os.path.join(OUT, f"{key}.gz")
    logf = os.path.join(OUT, f"{key}.log.jsonl")
    if os.path.exists(logf):
        os.unlink(logf)
    # fp32 always: the precision group adds the bf16 rows (rnn-fit's default is bf16 on some CPUs)
    args = fit_args(cfg, "fp32")
    say(f"[train] ours  {cfg['label']}: rnn-fit --time {S:g}s --precision fp32")
    o = run(f"fit_{key}", [os.path.join(BIN, "rnn-fit"), *args, "--time", f"{S:g}s",
                           "--eval-every", "1000000000", "--log", logf, "-o", model, "-q"], stdin_path=DATA)
    olog = None
    if o.ok and os.path.exists(logf):
        with open(logf) as f:
            olog = last_json(f.read())
    if olog is None:
        say(f"  rnn-fit failed (rc {o.rc}):\n{o.err_tail()}")
    pj, p = None, None
    if ctx.peer_ok and cfg["peer"] is not None:
        if cfg["peer"] == "minchar":
            argv = [PEER_PYTHON, os.path.join(PEERS, "min_char_rnn_bench.py"), "--data", DATA, "--seconds", f"{S:g}"]
            say(f"[train] peer  {cfg['label']}: min_char_rnn_bench.py --seconds {S:g}")
        else:
            argv = [PEER_PYTHON, os.path.join(PEERS, "torch_charrnn.py"), "--data", DATA, *cfg["peer"],
                    "--seq", "50", "--batch", "50", "--optimizer", "adam", "--lr", "2e-3",
                    "--threads", "2", "--seconds", f"{S:g}", "--eval-batch", "64"]
            say(f"[train] peer  {cfg['label']}: torch_charrnn.py --seconds {S:g}")
        # --quick: stop the peer after its training line unless its evaluation figures are used (LSTM 2x512);
        # its scoring and generation at batch 1 take minutes on a busy machine.
        early = ctx.quick and not ctx.full_peers and key != "lstm_2x512"
        p = run(f"peer_{key}", argv,
                stop_on=r"^trained (\d+) (?:steps|iters), (\d+) chars in ([\d.]+)s" if early else None)
        pj = last_json(p.stdout) if p.ok else None
        if p.stop_match:
            chars, secs = int(p.stop_match.group(2)), float(p.stop_match.group(3))
            pj = {"train_chars": chars, "train_seconds": secs, "train_chars_per_s": round(chars / secs, 1),
                  "stopped_after_training": True, "peak_rss_mib": None}
        if pj is None:
            say(f"  peer failed (rc {p.rc}):\n{p.err_tail()}")
    ctx.results["train"][key] = {
        "ours": {"argv_options": args, "log_last": olog, "rc": o.rc, "wall_s": round(o.wall, 2),
                 "peak_rss_mib": o.rss_mib, "contention": o.contention},
        "peer": pj and {k: v for k, v in pj.items() if k != "sample_head"},
        "peer_wait4_peak_rss_mib": p.rss_mib if p else None,
        "peer_contention": p.contention if p else None,
    }
    return o, olog, p, pj, model


def default_training_precision(ctx):
    """The precision rnn-fit trains in without --precision on this CPU (fp32 or bf16), from a 1-step run."""
    if getattr(ctx, "training_default", None) is None:
        text = os.path.join(OUT, "precision_probe.txt")
        with open(text, "w") as f:
            f.write("the quick brown fox jumps over the lazy dog\n" * 20)
        model = os.path.join(OUT, "precision_probe.gz")
        c = run("precision_probe", [os.path.join(BIN, "rnn-fit"), "--hidden", "8", "--layers", "1", "--steps", "1",
                                    "--val-frac", "0", "-q", "-o", model], stdin_path=text)
        info = subprocess.run([os.path.join(BIN, "rnn-score"), "--info", model], capture_output=True, text=True)
        j = last_json(info.stdout) if c.ok else None
        ctx.training_default = ((j or {}).get("info") or {}).get("precision", "fp32")
    return ctx.training_default


def bench_train(ctx, table, keys):
    out = {}
    bf16_default = default_training_precision(ctx) == "bf16"
    for cfg in TRAIN:
        if cfg["key"] not in keys:
            continue
        o, olog, p, pj, model = train_one(ctx, cfg)
        out[cfg["key"]] = (o, olog, p, pj, model)
        ours = olog.get("chars_per_s") if olog else None
        peer = pj.get("train_chars_per_s") if pj else None
        notes = []
        if cfg.get("peer_of") in out:
            # the peer of another row (run before this one), and our rate on that row
            _, plain_log, p, pj, _ = out[cfg["peer_of"]]
            peer = pj.get("train_chars_per_s") if pj else None
            plain = plain_log.get("chars_per_s") if plain_log else None
            if ours and plain:
                notes.append(f"{ours / plain:.2f}x our plain row's rate")
        if olog and olog.get("val_bpc") is not None:
            notes.append(f"val bpc {olog['val_bpc']:.2f}")
        if pj and pj.get("val_bpc") is not None:
            notes.append(f"peer {pj['val_bpc']:.2f}")
        notes.append(f"RSS {o.rss_mib:.0f}" + (f"/{p.rss_mib:.0f}" if p and p.rss_mib else "") + " MiB")
        # the targets are on the default precision's rows: these (fp32), or the precision group's bf16 ones
        if bf16_default and cfg["key"] in ISSUE10_TARGETS:
            notes.append("fp32; bf16 is the default here (its row carries the target)")
        table.add("train", cfg["label"], ours, peer, unit="chars/s",
                  target=("ratio", cfg["target"]) if cfg["target"] and not (bf16_default and cfg["key"] in ISSUE10_TARGETS)
                  else None, note=", ".join(notes),
                  ours_busy=busy_of(o), peer_busy=busy_of(p), peer_missing=not ctx.peer_ok,
                  peer_name=cfg.get("peer_name", "PyTorch"))
        if cfg["key"] == "lstm_2x512":
            table.add("train", "peak RSS rnn-fit, LSTM 2x512", o.rss_mib if o.ok else None,
                      pj.get("peak_rss_mib") if pj else None, unit="MiB", lower_better=True,
                      target=("ratio", 4.0), note="peer: whole torch_charrnn.py process",
                      ours_busy=busy_of(o), peer_busy=busy_of(p), peer_missing=not ctx.peer_ok)
    return out


def write_val_text():
    with open(DATA, encoding="utf-8") as f:
        text = f.read()
    val = text[int(len(text) * 0.9):]
    path = os.path.join(OUT, "val.txt")
    with open(path, "w", encoding="utf-8") as f:
        f.write(val)
    return path, len(val)


def first_char_ms(model):
    """Milliseconds from spawning rnn-gen (stdout a pipe) to its first byte."""
    t0 = time.perf_counter()
    p = subprocess.Popen([os.path.join(BIN, "rnn-gen"), "--length", "1000", model],
                         stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    b = os.read(p.stdout.fileno(), 1)
    dt = time.perf_counter() - t0
    p.stdout.close()  # rnn-gen ends normally on the closed pipe
    p.wait()
    return dt * 1000.0 if b else None


def bench_infer(ctx, table, trained):
    if "lstm_2x512" not in trained:
        say("[infer] training the LSTM 2x512 model first (ours and peer: the peer's eval/gen figures come from it)")
        trained.update(bench_train(ctx, table, {"lstm_2x512"}))
    o, olog, p, pj, model = trained["lstm_2x512"]
    if not (o.ok and os.path.exists(model)):
        say("[infer] no LSTM 2x512 model: skipped")
        return
    val, nval = write_val_text()
    res = ctx.results["infer"] = {"model": model, "val_chars": nval}
    reps = 1 if ctx.quick else 3

    say(f"[infer] rnn-score on the validation text ({nval} chars) x{reps}")
    scores = [run(f"score_{i}", [os.path.join(BIN, "rnn-score"), model, val]) for i in range(reps)]
    good = [s for s in scores if s.ok]
    m = re.search(r"(\d+) chars\s+([\d.]+) bpc", good[0].stdout) if good else None
    wall = statistics.median(s.wall for s in good) if good else None
    score_rate = nval / wall if wall else None
    res["score"] = {"walls_s": [round(s.wall, 3) for s in scores], "stdout": good[0].stdout.strip() if good else None,
                    "peak_rss_mib": max(s.rss_mib for s in good) if good else None,
                    "contention": [s.contention for s in scores]}
    sb = max(busy_of(s) for s in scores)
    table.add("infer", "rnn-score chars/s, batch 1 (LSTM 2x512)", score_rate,
              pj.get("eval_chars_per_s") if pj else None, unit="chars/s", target=("ratio", 1.5),
              note=(f"bpc {m.group(2)}" if m else "") + (f", peer {pj['val_bpc']:.3f}" if pj else "")
              + "; ours = whole process (load + score)",
              ours_busy=sb, peer_busy=busy_of(p), peer_missing=not ctx.peer_ok)
    eb = (pj or {}).get("eval_batched") or {}
    table.add("infer", "  PyTorch chunked scoring (64 streams)", None, eb.get("chars_per_s"), unit="chars/s",
              note=f"reference only; bpc {eb['val_bpc']:.3f} (cold starts)" if eb else "reference only",
              peer_busy=busy_of(p), peer_missing=not ctx.peer_ok)

    n = 20000
    say(f"[infer] rnn-gen --length {n} x{reps}")
    gens = [run(f"gen_{i}", [os.path.join(BIN, "rnn-gen"), "--length", str(n), model], capture=False)
            for i in range(reps)]
    good = [g for g in gens if g.ok]
    gwall = statistics.median(g.wall for g in good) if good else None
    res["gen"] = {"chars": n, "walls_s": [round(g.wall, 3) for g in gens],
                  "peak_rss_mib": max(g.rss_mib for g in good) if good else None,
                  "contention": [g.contention for g in gens]}
    table.add("infer", "rnn-gen chars/s (LSTM 2x512)", n / gwall if gwall else None,
              pj.get("gen_chars_per_s") if pj else None, unit="chars/s", target=("ratio", 10.0),
              note="ours = whole process, 20,000 chars", ours_busy=max(busy_of(g) for g in gens),
              peer_busy=busy_of(p), peer_missing=not ctx.peer_ok)

    say("[infer] time to the first generated character, median of 5")
    probe = Probe()
    lat = [first_char_ms(model) for _ in range(5)]
    cont = probe.stop()
    okl = [x for x in lat if x is not None]
    res["first_char_ms"] = {"samples": [round(x, 2) if x else None for x in lat], "contention": cont}
    table.add("infer", "rnn-gen start to first char (LSTM 2x512)", statistics.median(okl) if okl else None,
              unit="ms", target=("max", 60.0), note="samples " + " ".join(f"{x:.0f}" for x in okl),
              ours_busy=cont.get("foreign_frac"))

    table.add("infer", "peak RSS rnn-score", res["score"]["peak_rss_mib"], unit="MiB", ours_busy=sb)
    table.add("infer", "peak RSS rnn-gen", res["gen"]["peak_rss_mib"], unit="MiB",
              ours_busy=max(busy_of(g) for g in gens))


# --quality's runs and their budgets, in units of --quality-seconds (the 15-minute budget)
QUALITY_BUDGETS = {"peer15": 1, "ours15": 1, "ours15fp32": 1, "ours5": 1 / 3, "ours60": 4}
# Options a run adds to the defaults: ours15fp32 is ours15 in fp32 products, for the bf16 default's "no worse
# than fp32" (issue 10; on a CPU whose default is fp32 it repeats ours15).
QUALITY_RUN_ARGS = {"ours15fp32": ["--precision", "fp32"]}
QUALITY_RUNS = tuple(QUALITY_BUDGETS)


def quality_dir():
    d = os.path.join(OUT, "quality")
    os.makedirs(d, exist_ok=True)
    return d


def score_json(model, text, *extra):
    """rnn-score --json [extra] MODEL TEXT -> its record (None if it failed): the fp32 fresh-state score."""
    c = run("quality_score" + "".join(e.strip("-") for e in extra),
            [os.path.join(BIN, "rnn-score"), "--json", "--precision", "fp32", *extra, model, text])
    return last_json(c.stdout) if c.ok else None


def quality_ours(name, seconds, val):
    """rnn-fit --time SECONDS with default options (plus QUALITY_FIT_ARGS, for trying a change), then the exact
    validation score and the --adapt one."""
    model = os.path.join(quality_dir(), name + ".gz")
    logf = os.path.join(quality_dir(), name + ".log.jsonl")
    extra = QUALITY_RUN_ARGS.get(name, []) + os.environ.get("QUALITY_FIT_ARGS", "").split()
    say(f"[quality] {name}: rnn-fit --time {seconds:g}s {' '.join(extra) or '(default options)'}")
    o = run("quality_" + name, [os.path.join(BIN, "rnn-fit"), "--time", f"{seconds:g}s", *extra, "--log", logf,
                                "-o", model, "-q"], stdin_path=DATA)
    rec = {"run": name, "impl": "rnnstream", "seconds": seconds, "fit_args": extra, "rc": o.rc,
           "busy": busy_of(o)}
    if not o.ok:
        say(f"  rnn-fit failed (rc {o.rc}):\n{o.err_tail()}")
        return rec
    with open(logf) as f:
        last = last_json(f.read()) or {}
    info = subprocess.run([os.path.join(BIN, "rnn-score"), "--info", model], capture_output=True, text=True)
    rec["model_info"] = last_json(info.stdout)
    exact = score_json(model, val)
    adapt = score_json(model, val, "--adapt")
    rec.update({"val_bpc": exact and exact["bpc"], "adapt_bpc": adapt and adapt["bpc"],
                "chars": last.get("chars"), "train_chars_per_s": last.get("chars_per_s"), "log_last": last})
    return rec


def quality_peer(ctx, seconds):
    rec = {"run": "peer15", "impl": "pytorch", "seconds": seconds}
    if not ctx.peer_ok:
        rec["missing"] = True
        return rec
    # torch_best.py unchanged, run by peer_unseen.py so that its best model is kept for --quality-unseen
    argv = [PEER_PYTHON, os.path.join(ROOT, "bench", "peer_unseen.py"), "--save", peer_model_path(), "--",
            "--data", DATA, "--model", "lstm", "--hidden", "512",
            "--layers", "2", "--dropout", "0.2", "--threads", "2", "--seconds", f"{seconds:g}"]
    say("[quality] peer15: torch_best.py " + " ".join(os.path.basename(a) for a in argv[5:]))
    p = run("quality_peer15", argv)
    pj = last_json(p.stdout) if p.ok else None
    if pj is None:
        say(f"  peer failed (rc {p.rc}):\n{p.err_tail()}")
        return rec
    rec.update({"val_bpc": pj.get("val_bpc"), "chars": pj.get("chars"),
                "train_chars_per_s": pj.get("train_chars_per_s"), "busy": busy_of(p), "peer": pj})
    return rec


def peer_model_path():
    return os.path.join(quality_dir(), "peer15.pt")


def filtered_unseen(path):
    """The text at path without the characters outside tiny-shakespeare's vocabulary, in quality/unseen/."""
    with open(DATA, encoding="utf-8") as f:
        vocab = set(f.read())
    with open(path, encoding="utf-8") as f:
        text = f.read()
    kept = "".join(c for c in text if c in vocab)
    d = os.path.join(quality_dir(), "unseen")
    os.makedirs(d, exist_ok=True)
    out = os.path.join(d, os.path.basename(path))
    with open(out, "w", encoding="utf-8") as f:
        f.write(kept)
    return out, len(text), len(kept)


def quality_unseen(ctx, recs):
    """Each kept model's exact bpc on each --quality-unseen text, into its record (rec["unseen"][name])."""
    for src in ctx.quality_unseen:
        text, total, kept = filtered_unseen(src)
        name = os.path.basename(src)
        say(f"[quality] unseen {name}: {kept} of {total} characters kept")
        for run_name, rec in recs.items():
            bpc = None
            if rec.get("impl") == "pytorch":
                if ctx.peer_ok and os.path.exists(peer_model_path()):
                    c = run("quality_unseen_peer", [PEER_PYTHON, os.path.join(ROOT, "bench", "peer_unseen.py"),
                                                    "--load", peer_model_path(), "--score", text])
                    j = last_json(c.stdout) if c.ok else None
                    bpc = j and j["bpc"]
            else:
                model = os.path.join(quality_dir(), run_name + ".gz")
                if os.path.exists(model):
                    j = score_json(model, text)
                    bpc = j and j["bpc"]
            rec.setdefault("unseen", {})[name] = {"bpc": bpc, "chars": kept, "dropped": total - kept,
                                                  "date": time.strftime("%Y-%m-%d %H:%M")}
            with open(os.path.join(quality_dir(), run_name + ".json"), "w") as f:
                json.dump(rec, f, indent=1)


def bench_quality(ctx, table):
    """make quality: each run's record goes to .build/bench/quality/RUN.json as soon as it ends, so that runs made
    one at a time (--quality-runs) meet in one table; every row says its commit and date."""
    S = ctx.quality_seconds
    val, _ = write_val_text()
    for name in ctx.quality_runs:
        seconds = QUALITY_BUDGETS[name] * S
        rec = quality_peer(ctx, seconds) if name == "peer15" else quality_ours(name, seconds, val)
        rec.update({"commit": ctx.results["commit"], "date": time.strftime("%Y-%m-%d %H:%M")})
        with open(os.path.join(quality_dir(), name + ".json"), "w") as f:
            json.dump(rec, f, indent=1)
    recs = {}
    for name in QUALITY_RUNS:
        path = os.path.join(quality_dir(), name + ".json")
        if os.path.exists(path):
            with open(path) as f:
                recs[name] = json.load(f)
    quality_unseen(ctx, recs)
    ctx.results["quality"] = recs
    peer = recs.get("peer15", {}).get("val_bpc")
    goals = {"ours15": None, "ours15fp32": None, "ours5": 2.30, "ours60": 2.00}
    for name in ("ours15", "ours15fp32", "ours5", "ours60"):
        r = recs.get(name)
        if not r:
            continue
        size = r.get("model_info") or {}
        what = (f"{size.get('cell', '?')} {size.get('layers', '?')}x{size.get('hidden_size', '?')}, dropout "
                f"{size.get('info', {}).get('dropout', '?')}, {size.get('info', {}).get('precision', 'fp32')}"
                if size else "?")
        when = f"{r['commit']} {r['date']}" + (f"; {' '.join(r['fit_args'])}" if r.get("fit_args") else "")
        target = ("ratio", 1.0) if goals[name] is None else ("max", goals[name])
        table.add("quality", f"val bpc, rnn-fit --time {r['seconds']:g}s ({what})", r.get("val_bpc"),
                  peer if name.startswith("ours15") else None, unit="bpc", lower_better=True, target=target,
                  note=when, ours_busy=r.get("busy"), peer_missing=not ctx.peer_ok,
                  peer_name="PyTorch LSTM 2x512 recipe")
        table.add("quality", f"  same model, rnn-score --adapt", r.get("adapt_bpc"), unit="bpc",
                  lower_better=True, note=when)
        table.add("quality", f"  training chars/s", r.get("train_chars_per_s"),
                  recs.get("peer15", {}).get("train_chars_per_s") if name.startswith("ours15") else None,
                  unit="chars/s", note=when)
    texts = sorted({t for r in recs.values() for t in r.get("unseen", {})})
    for t in texts:
        pu = recs.get("peer15", {}).get("unseen", {}).get(t, {}).get("bpc")
        for name in ("ours15", "ours15fp32", "ours5", "ours60"):
            u = recs.get(name, {}).get("unseen", {}).get(t)
            if u:
                table.add("quality", f"unseen {t} ({u['chars']} chars), {name}", u.get("bpc"),
                          pu if name == "ours15" else None, unit="bpc", lower_better=True,
                          target=("ratio", 1.0) if name == "ours15" else None, note=u.get("date"),
                          peer_missing=not ctx.peer_ok, peer_name="PyTorch LSTM 2x512 recipe")
    if "peer15" in recs:
        r = recs["peer15"]
        table.add("quality", f"val bpc, PyTorch LSTM 2x512 recipe, {r['seconds']:g}s", r.get("val_bpc"), unit="bpc",
                  lower_better=True, note=f"torch_best.py; {r['commit']} {r['date']}", ours_busy=r.get("busy"))
    o15 = recs.get("ours15", {}).get("val_bpc")
    if o15 is not None and peer is not None:
        lower = "rnnstream" if o15 < peer else ("PyTorch" if peer < o15 else "tie")
        ctx.quality_verdict = (f"validation bpc in {S:g} s: rnnstream defaults {o15:.3f}, PyTorch LSTM 2x512 recipe "
                               f"{peer:.3f} -> lower: {lower}")


# --------------------------------------------------------------------------------------------------- main
class Ctx:
    pass


def bench_stream(ctx, table):
    """Issue 7: rnn-fit --stream on more text than it keeps. 1 GiB (256 MiB with --quick) of tiny-shakespeare
    repeated, piped through a small model, then a 2x512 LSTM on the same endless pipe for the training budget:
    characters per second and peak resident memory (which must not grow with the input)."""
    rows = []
    for key, nbytes, flags, seconds in (
            ("stream_1gib", (256 << 20) if ctx.quick else (1 << 30),
             ["--cell", "rnn", "--layers", "1", "--hidden", "16", "--batch", "100", "--seq", "100"], None),
            ("stream_lstm512", None, ["--cell", "lstm", "--layers", "2", "--hidden", "512"] + PLAIN + NO_DROPOUT + ADAM_B50_T50,
             ctx.train_seconds)):
        logf = os.path.join(OUT, key + ".log.jsonl")
        # the text again and again until the reader goes away (cat then dies of SIGPIPE and the loop ends)
        feeder = 'data=$1; shift; while cat "$data"; do :; done' + (f" | head -c {nbytes}" if nbytes else "")
        argv = ["/bin/sh", "-c", feeder + ' | exec "$0" --stream "$@"', os.path.join(BIN, "rnn-fit"), DATA] + flags + \
            ["--eval-every", "50000000", "--patience", "0", "-q", "--log", logf, "-o", os.path.join(OUT, key + ".gz")]
        if seconds:  # the second pipe has no end: --time ends it
            argv += ["--time", f"{seconds:g}s"]
        say(f"[stream] {key}: {'%.2f GiB' % (nbytes / (1 << 30)) if nbytes else 'endless pipe'} through rnn-fit --stream {' '.join(flags)}")
        c = run(key, argv)
        rec = None
        try:
            with open(logf) as f:
                lines = [json.loads(l) for l in f if l.strip()]
            rec = lines[-1] if lines else None
        except OSError:
            pass
        cps = rec.get("chars_per_s") if rec else None
        ctx.results.setdefault("stream", {})[key] = {"rc": c.rc, "wall_s": c.wall, "peak_rss_mib": c.rss_mib, "last_log": rec}
        rows.append((key, c, cps, rec))
    (k1, c1, cps1, rec1), (k2, c2, cps2, _) = rows
    table.add("stream", f"rnn-fit --stream, {'256 MiB' if ctx.quick else '1 GiB'} (RNN 1x16)", cps1, unit="chars/s",
              note=f"{rec1['chars'] if rec1 else '?'} chars trained in {c1.wall:.0f} s", ours_busy=busy_of(c1))
    table.add("stream", f"  peak RSS over {'256 MiB' if ctx.quick else '1 GiB'}", c1.rss_mib, unit="MiB", lower_better=True,
              ours_busy=busy_of(c1))
    table.add("stream", "rnn-fit --stream LSTM 2x512 B50 T50", cps2, unit="chars/s",
              note="compare with the in-memory train row (target: within 10%)", ours_busy=busy_of(c2))
    table.add("stream", "  peak RSS --stream LSTM 2x512", c2.rss_mib, unit="MiB", lower_better=True,
              target=("max", 256), ours_busy=busy_of(c2))


PRECISION_TRAIN = [("lstm_2x512", True), ("lstm_2x256", False), ("gru_2x512", False), ("rnn_seed", False)]
# issue 10's training targets (ratio to the peer, at rnn-fit's default precision)
ISSUE10_TARGETS = {"lstm_2x512": 1.5, "gru_2x512": 2.0, "rnn_seed": 20.0}
LSTM_2X256 = {"key": "lstm_2x256", "label": "LSTM 2x256 B50 T50",
              "ours": ["--cell", "lstm", "--layers", "2", "--hidden", "256"],
              "peer": ["--model", "lstm", "--layers", "2", "--hidden", "256"], "target": None}


def big_line_text(nbytes=100_000_000):
    """One line of nbytes bytes: tiny-shakespeare (ASCII) with its newlines as spaces, repeated."""
    path = os.path.join(OUT, "big-line.txt")
    if os.path.exists(path) and os.path.getsize(path) == nbytes:
        return path
    with open(DATA, "rb") as f:
        unit = f.read().replace(b"\n", b" ")
    with open(path, "wb") as f:
        left = nbytes - 1
        while left > 0:
            piece = unit[:left]
            f.write(piece)
            left -= len(piece)
        f.write(b"\n")
    return path


def bench_bigfile(ctx, table):
    """Issue 10: one 100 MB line scored by a 2x256 RNN in under a minute."""
    model = os.path.join(OUT, "rnn_2x256.gz")
    say("[bigfile] ours  RNN 2x256: rnn-fit --time 20s")
    f = run("fit_rnn_2x256", [os.path.join(BIN, "rnn-fit"), "--cell", "rnn", "--layers", "2", "--hidden", "256",
                              *PLAIN, *NO_DROPOUT, "--time", "20s", "-q", "-o", model], stdin_path=DATA)
    if not f.ok:
        table.add("bigfile", "rnn-score of one 100 MB line (RNN 2x256)", None, unit="s", note="rnn-fit failed")
        return
    big = big_line_text()
    has_bf16 = "avx512_bf16" in cpu_flags()
    fp32_bpc = None
    for extra in [[]] + ([["--batch-precision", "bf16"]] if has_bf16 else []):
        label = " ".join(extra) or "defaults"
        say(f"[bigfile] rnn-score --json {' '.join(extra)} on one 100 MB line")
        r = run("score_big" + ("_bf16" if extra else ""), [os.path.join(BIN, "rnn-score"), "--json", *extra, model, big])
        rec = last_json(r.stdout) if r.ok else None
        note = ""
        if rec:
            note = f"bpc {rec['bpc']:.6f}" + (f" ({rec['bpc'] - fp32_bpc:+.6f} vs fp32 products)" if fp32_bpc is not None else "")
            if not extra:
                fp32_bpc = rec["bpc"]
            note += f"; {rec['chars'] / r.wall:,.0f} chars/s; peak RSS {r.rss_mib:.0f} MiB" if r.wall else ""
        table.add("bigfile", f"rnn-score, one 100 MB line, RNN 2x256, {label}", r.wall if r.ok else None, unit="s",
                  lower_better=True, target=("max", 60), note=note, ours_busy=busy_of(r))
        ctx.results.setdefault("bigfile", {})[label] = {"wall_s": r.wall, "peak_rss_mib": r.rss_mib, "record": rec}


def bench_precision(ctx, table, trained):
    """bf16 training against fp32 (ours, and PyTorch with autocast), and rnn-score per weight precision."""
    S = ctx.train_seconds
    has_bf16 = "avx512_bf16" in cpu_flags()
    bf16_default = default_training_precision(ctx) == "bf16"
    configs = {c["key"]: c for c in TRAIN + [LSTM_2X256]}
    for key, with_autocast in PRECISION_TRAIN:
        cfg = configs[key]
        if key not in trained:
            trained[key] = train_one(ctx, cfg)  # the fp32 row (and its peer), when `train` did not run it
        o, olog, p, pj, _ = trained[key]
        fp32 = olog.get("chars_per_s") if olog else None
        if not has_bf16:
            table.add("precision", f"{cfg['label']} bf16", None, unit="chars/s", note="no AVX512_BF16 on this CPU")
            continue
        args = fit_args(cfg, "bf16")
        logf = os.path.join(OUT, f"{key}_bf16.log.jsonl")
        if os.path.exists(logf):
            os.unlink(logf)
        say(f"[precision] ours  {cfg['label']} --precision bf16: rnn-fit --time {S:g}s")
        b = run(f"fit_{key}_bf16", [os.path.join(BIN, "rnn-fit"), *args, "--time", f"{S:g}s", "--eval-every",
                                    "1000000000", "--log", logf, "-o", os.path.join(OUT, f"{key}_bf16.gz"), "-q"],
                stdin_path=DATA)
        blog = None
        if b.ok and os.path.exists(logf):
            with open(logf) as f:
                blog = last_json(f.read())
        bf16 = blog.get("chars_per_s") if blog else None
        peer = pj.get("train_chars_per_s") if pj else None
        target = ISSUE10_TARGETS.get(key) if bf16_default else None
        table.add("precision", f"{cfg['label']} bf16 (vs peer fp32)", bf16, peer, unit="chars/s",
                  target=("ratio", target) if target else None,
                  note=("bf16 is the default here; " if bf16_default else "") + (f"{bf16 / fp32:.2f}x our fp32" if bf16 and fp32 else "")
                  + (f"; val bpc {blog['val_bpc']:.2f} (fp32 {olog['val_bpc']:.2f})"
                     if blog and olog and blog.get("val_bpc") is not None and olog.get("val_bpc") is not None else ""),
                  ours_busy=busy_of(b), peer_busy=busy_of(p), peer_missing=not ctx.peer_ok,
                  peer_name="PyTorch fp32" if cfg["peer"] != "minchar" else "numpy")
        ctx.results.setdefault("precision", {})[key] = {"bf16_log_last": blog, "fp32_chars_per_s": fp32}
        if with_autocast and ctx.peer_ok:
            argv = [PEER_PYTHON, os.path.join(ROOT, "bench", "torch_autocast.py"), PEERS, "--data", DATA,
                    *cfg["peer"], "--seq", "50", "--batch", "50", "--optimizer", "adam", "--lr", "2e-3",
                    "--threads", "2", "--seconds", f"{S:g}", "--eval-batch", "0"]
            say(f"[precision] peer  {cfg['label']} under torch.autocast(bfloat16): --seconds {S:g}")
            a = run(f"peer_{key}_autocast", argv,
                    stop_on=r"^trained (\d+) (?:steps|iters), (\d+) chars in ([\d.]+)s" if ctx.quick else None)
            aj = last_json(a.stdout) if a.ok else None
            if a.stop_match:
                aj = {"train_chars_per_s": round(int(a.stop_match.group(2)) / float(a.stop_match.group(3)), 1)}
            ctx.results["precision"][key]["autocast"] = aj
            for label, ours in [("fp32", fp32), ("bf16", bf16)]:
                table.add("precision", f"  {cfg['label']} ours {label} vs PyTorch autocast bf16", ours,
                          aj.get("train_chars_per_s") if aj else None, unit="chars/s",
                          target=("ratio", 1.3) if label == ("bf16" if bf16_default else "fp32") else None,
                          ours_busy=busy_of(o if label == "fp32" else b), peer_busy=busy_of(a),
                          peer_name="PyTorch autocast")

    # rnn-score with the LSTM 2x512 model per weight precision
    o, olog, p, pj, model = trained["lstm_2x512"]
    if not (o.ok and os.path.exists(model)):
        return
    val, nval = write_val_text()
    exact = None
    for precision in ["fp32", "fp16", "bf16"]:
        say(f"[precision] rnn-score --precision {precision} on the validation text x3")
        scores = [run(f"score_{precision}_{i}", [os.path.join(BIN, "rnn-score"), "--json", "--precision", precision,
                                                   model, val]) for i in range(1 if ctx.quick else 3)]
        good = [s for s in scores if s.ok]
        rec = last_json(good[0].stdout) if good else None
        wall = statistics.median(s.wall for s in good) if good else None
        bpc = rec.get("bpc") if rec else None
        if precision == "fp32":
            exact = bpc
        note = f"bpc {bpc:.6f}" if bpc is not None else ""
        if bpc is not None and exact is not None and precision != "fp32":
            note += f" ({bpc - exact:+.6f} vs fp32)"
        table.add("precision", f"rnn-score --precision {precision} (LSTM 2x512)", nval / wall if wall else None,
                  pj.get("eval_chars_per_s") if pj else None, unit="chars/s", target=("ratio", 1.5),
                  note=note + "; peer: PyTorch exact batch 1", ours_busy=max(busy_of(s) for s in scores),
                  peer_busy=busy_of(p), peer_missing=not ctx.peer_ok)

    # rnn-score --jobs N (segments as streams of one batch) against PyTorch's 64-stream batched scoring
    eb = (pj or {}).get("eval_batched") or {}
    # and with the batch's products in bf16 (--batch-precision bf16), where the CPU has it
    runs = [(jobs, "fp32") for jobs in [2, 8, 64]] + ([(jobs, "bf16") for jobs in [8, 64]] if has_bf16 else [])
    for jobs, products in runs:
        extra = ["--batch-precision", "bf16"] if products == "bf16" else []
        say(f"[precision] rnn-score --jobs {jobs} {' '.join(extra)} on the validation text")
        r = run(f"score_jobs{jobs}" + ("_bf16" if extra else ""),
                [os.path.join(BIN, "rnn-score"), "--json", "--jobs", str(jobs), *extra, model, val])
        rec = last_json(r.stdout) if r.ok else None
        note = ""
        if rec and exact is not None:
            note = f"bpc {rec['bpc']:.6f} ({rec['bpc'] - exact:+.6f} vs exact fp32)"
        table.add("precision", f"rnn-score --jobs {jobs} {' '.join(extra)} (LSTM 2x512)".replace("  ", " "),
                  nval / r.wall if r.ok and r.wall else None,
                  eb.get("chars_per_s"), unit="chars/s", target=("ratio", 2.0) if jobs == 64 else None,
                  note=note + "; peer: PyTorch 64-stream batched scoring", ours_busy=busy_of(r),
                  peer_busy=busy_of(p), peer_missing=not ctx.peer_ok or not eb)


def git_commit():
    r = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                           capture_output=True, text=True).stdout.strip()
    return (r.stdout.strip() or "?") + ("+dirty" if dirty else "")


# The groups --only selects from, in the order they run (the default is all of them).
GROUPS = ("gemm", "train", "infer", "precision", "stream", "bigfile")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="20 s per training run, 0.3 s per GEMM measurement")
    ap.add_argument("--only", default=",".join(GROUPS), help="comma-separated groups: " + ", ".join(GROUPS))
    ap.add_argument("--seconds", type=float, help="training budget per run (default 300, --quick 20)")
    ap.add_argument("--gemm-seconds", type=float, help="seconds per GEMM measurement (default 2, --quick 0.3)")
    ap.add_argument("--quality", action="store_true", help="only the quality runs of make quality (issue 12)")
    ap.add_argument("--quality-seconds", type=float, default=900.0,
                    help="the 15-minute budget of --quality (the 5- and 60-minute runs scale with it)")
    ap.add_argument("--quality-unseen", nargs="*", default=[],
                    help="texts none of the models saw: score every kept --quality model on each")
    ap.add_argument("--quality-runs", default=",".join(QUALITY_RUNS),
                    help="which --quality runs to make now: peer15, ours15, ours15fp32, ours5, ours60 (the table also shows "
                         "the runs kept from before)")
    ap.add_argument("--full-peers", action="store_true",
                    help="with --quick: let every peer finish its evaluation and generation (slower)")
    ap.add_argument("--wait-idle", type=float, default=0.0, metavar="S",
                    help="before each measurement wait up to S seconds for the machine to be idle "
                         "(< 10%% busy over 2 s; shared contention.wait_idle)")
    ap.add_argument("--no-build", action="store_true", help="use the existing .build/release binaries")
    args = ap.parse_args()

    global WAIT_IDLE_S
    WAIT_IDLE_S = args.wait_idle
    groups = {g.strip() for g in args.only.split(",") if g.strip()}
    bad = groups - set(GROUPS)
    if bad:
        ap.error(f"unknown group(s) in --only: {', '.join(sorted(bad))}")
    if not os.path.isfile(DATA):
        say(f"bench: data not found: {DATA} (set BENCH_DATA)")
        return 2

    ctx = Ctx()
    ctx.quick = args.quick
    ctx.full_peers = args.full_peers
    ctx.train_seconds = args.seconds or (20.0 if args.quick else 300.0)
    ctx.gemm_seconds = args.gemm_seconds or (0.3 if args.quick else 2.0)
    ctx.quality_seconds = args.quality_seconds
    ctx.quality_verdict = None
    ctx.quality_runs = [r.strip() for r in args.quality_runs.split(",") if r.strip()]
    ctx.quality_unseen = args.quality_unseen
    bad = [r for r in ctx.quality_runs if r not in QUALITY_RUNS]
    if bad:
        ap.error(f"--quality-runs: unknown run {bad[0]} (runs: {', '.join(QUALITY_RUNS)})")
    os.makedirs(LOGS, exist_ok=True)

    if not args.no_build:
        say("[build] swift build -c release")
        b = subprocess.run(["swift", "build", "-c", "release"], cwd=ROOT, capture_output=True, text=True)
        if b.returncode != 0:
            say(b.stdout[-3000:] + b.stderr[-3000:])
            say("bench: release build failed")
            return 1

    ctx.peer_ok, peer_info = peer_available()
    if not ctx.peer_ok:
        say(f"bench: peer not installed ({peer_info}): peer columns left empty")
    la0 = loadavg()
    ctx.results = {
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "commit": git_commit(), "host": platform.node(),
        "cpu_count": os.cpu_count(), "cpu_model": cpu_model(), "cpu_family": cpu_family(),
        "avx512f": "avx512f" in cpu_flags(), "env_openblas": {k: os.environ.get(k) for k in
                                                              ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")},
        "quick": ctx.quick,
        "train_seconds": ctx.train_seconds, "gemm_seconds": ctx.gemm_seconds, "data": DATA,
        "peer_python": PEER_PYTHON, "peer": peer_info, "loadavg_before": la0,
        "contention": {}, "train": {},
    }
    say(f"load average before: {' '.join(la0)}  ({os.cpu_count()} CPUs)")
    if args.quality:
        est = sum(QUALITY_BUDGETS[r] for r in ctx.quality_runs) * ctx.quality_seconds / 60 + 2
    else:
        est = (("train" in groups) * 10 * ctx.train_seconds + ("infer" in groups and "train" not in groups)
               * 2 * ctx.train_seconds) / 60 + ("gemm" in groups) * (ctx.gemm_seconds * 30 + 20) / 60
    say(f"estimated time: ~{est:.0f} min of budgets, plus the peers' evaluation/generation")

    table = Table()
    probe = Probe()
    t0 = time.perf_counter()
    if args.quality:
        bench_quality(ctx, table)
    else:
        if "gemm" in groups:
            bench_gemm(ctx, table)
        trained = {}
        if "train" in groups:
            trained = bench_train(ctx, table, {c["key"] for c in TRAIN})
        if "infer" in groups:
            bench_infer(ctx, table, trained)
        if "precision" in groups:
            bench_precision(ctx, table, trained)
        if "stream" in groups:
            bench_stream(ctx, table)
        if "bigfile" in groups:
            bench_bigfile(ctx, table)
    total = probe.stop()
    la1 = loadavg()
    ctx.results["loadavg_after"] = la1
    ctx.results["contention"]["whole_run"] = total
    ctx.results["total_seconds"] = round(time.perf_counter() - t0, 1)
    ctx.results["rows"] = table.rows

    name = "quality.json" if args.quality else "latest.json"
    path = os.path.join(OUT, name)
    with open(path, "w") as f:
        json.dump(ctx.results, f, indent=1)

    print()
    print(f"rnnstream bench  commit {ctx.results['commit']}  {ctx.results['cpu_model']}  {os.cpu_count()} CPUs  "
          f"{'quick' if ctx.quick else 'full'}: training {ctx.train_seconds:g} s/run, GEMM {ctx.gemm_seconds:g} s/shape"
          if not args.quality else f"rnnstream quality  commit {ctx.results['commit']}  {ctx.quality_seconds:g} s/run")
    fam = ctx.results["cpu_family"]
    print(f"cpu: {ctx.results['cpu_model']}, family {fam} ({ {25: 'Zen 3/4', 26: 'Zen 5'}.get(fam, '?') }), "
          f"AVX-512 {'yes' if ctx.results['avx512f'] else 'no'}; OPENBLAS_CORETYPE="
          f"{os.environ.get('OPENBLAS_CORETYPE')} in the environment (unset for gemm_bench.py only, as the peer "
          "README says)")
    print(f"peer: {'PyTorch ' + peer_info + ' via ' + PEER_PYTHON if ctx.peer_ok else 'peer not installed (' + peer_info + ')'}")
    print("ratio: ours/peer for rates (GFLOP/s, chars/s); peer/ours for memory, bpc and latency (lower is better "
          "there) - so > 1x always means rnnstream is better.")
    print("busy o/p: share of the machine's CPU time taken by OTHER processes while ours / the peer ran "
          "(contention.Probe foreign_frac; 0% = ran alone).")
    print(f"load average before {' '.join(la0)}, after {' '.join(la1)}; whole run {ctx.results['total_seconds']:.0f} s, "
          f"other processes used {100 * total.get('foreign_frac', 0):.0f}% of the machine meanwhile")
    print()
    print(table.render())
    marked = sum(1 for r in table.rows if noisy(r))
    if marked:
        print(f"! {marked} row(s) ran while other processes took > {100 * NOISY:.0f}% of the machine: noisy, rerun on "
              "an idle machine before quoting them (peers using OpenMP/OpenBLAS threads suffer most; see "
              "--wait-idle).")
    if ctx.quality_verdict:
        print()
        print(ctx.quality_verdict)
    print()
    print(f"JSON: {os.path.relpath(path, ROOT)}; child logs: {os.path.relpath(LOGS, ROOT)}/")
    return 0


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def cpu_family():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("cpu family"):
                    return int(line.split(":", 1)[1])
    except (OSError, ValueError):
        pass
    return None


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


if __name__ == "__main__":
    sys.exit(main())
