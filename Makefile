# rnnstream: build, test, install and try the tools. The Swift package does the building; this file only
# names the everyday commands.

PREFIX ?= /usr/local
DESTDIR ?=
SWIFT ?= swift
BIN := .build/release
TOOLS := rnn-fit rnn-gen rnn-score
BENCH_ARGS ?=

# make demo: a small model trained for DEMO_TIME on the project's own sources and man pages. Small batches and
# a short warm-up, so that a minute holds a few hundred updates.
DEMO_TIME ?= 60s
DEMO_FLAGS ?= --cell lstm --hidden 128 --layers 1 --batch 16 --seq 32 --warmup 10 --lr 0.005 --val-frac 0.02
DEMO_MODEL := .build/demo.gz
DEMO_TEXT := .build/demo.txt

.PHONY: all build test man-check install demo bench quality fuzz fuzz-build fuzz-seeds clean

all: build

build:
	$(SWIFT) build -c release

# The CLI tests and the man check run the release binaries, so those are built first.
test: build
	$(SWIFT) test
	bash tests/man-check.sh $(BIN)

man-check: build
	bash tests/man-check.sh $(BIN)

install: build
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man5
	install -m 755 $(addprefix $(BIN)/,$(TOOLS)) $(DESTDIR)$(PREFIX)/bin
	install -m 644 $(wildcard man/*.1) $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 644 $(wildcard man/*.5) $(DESTDIR)$(PREFIX)/share/man/man5

demo: build
	find Sources man -type f | LC_ALL=C sort | xargs cat > $(DEMO_TEXT)
	$(BIN)/rnn-fit $(DEMO_FLAGS) --time $(DEMO_TIME) -o $(DEMO_MODEL) < $(DEMO_TEXT)
	@echo '--- 500 characters sampled from $(DEMO_MODEL):'
	$(BIN)/rnn-gen --length 500 --temperature 0.8 $(DEMO_MODEL)
	@echo

bench: build
	@test -f bench/run.sh || { echo 'make bench: bench/run.sh does not exist yet' >&2; exit 1; }
	bash bench/run.sh $(BENCH_ARGS)

# make quality: 15 minutes of rnn-fit with default options against the PyTorch peer's best configuration from
# its README (GRU 2x256) for 15 minutes, on tiny-shakespeare, one after the other (about 32 minutes).
QUALITY_ARGS ?=
quality: build
	bash bench/run.sh --quality $(QUALITY_ARGS)

# make fuzz: libFuzzer (with AddressSanitizer) on each reader of untrusted bytes, FUZZ_TIME seconds each, one
# after the other. The fuzzer is the executable target rnn-fuzz (fuzz/rnn-fuzz), built by SwiftPM so that every
# library module gets exactly its Package.swift settings; RNNSTREAM_FUZZ=1 leaves it without a main (libFuzzer's).
# SwiftPM's --sanitize=fuzzer only links libFuzzer, so -Xswiftc -sanitize=fuzzer adds the coverage instrumentation.
#
#   target      reads                                           seeds                   time
#   weights     Model.load (Format/WeightsFile.swift)           fuzz/corpus/            FUZZ_TIME
#   checkpoint  Checkpoint.decode (Training/Checkpoint.swift)    fuzz/corpus-checkpoint/ FUZZ_TIME
#   utf8        UTF8Decoder in pieces vs String(validating:)    fuzz/corpus-utf8/       FUZZ_TIME
#   vocab       a --vocab file (Tools/Fit.swift), round trip    fuzz/corpus-vocab/      FUZZ_TIME
#   json        JSON.parse (Format/JSON.swift), round trip      fuzz/corpus-json/       FUZZ_TIME
#
# FUZZ_TIME defaults to 120 s per target (10 minutes in all); .ci/run uses FUZZ_TIME=8. FUZZ_TARGETS picks a
# subset. A crash leaves its input in .build-fuzz/runs/TARGET/crash-*; replay it with
# RNN_FUZZ_TARGET=TARGET .build-fuzz/release/rnn-fuzz FILE (or .build/release/rnn-fuzz FILE, without ASan).
# make fuzz-seeds regenerates the seed corpora (fuzz/make-seeds.sh).
FUZZ_TIME ?= 120
FUZZ_TARGETS ?= weights checkpoint utf8 vocab json
FUZZ_FLAGS ?= -rss_limit_mb=2048 -print_final_stats=1
FUZZ_DIR := .build-fuzz/runs
FUZZ_BIN := .build-fuzz/release/rnn-fuzz
fuzz-build:
	RNNSTREAM_FUZZ=1 $(SWIFT) build -c release --sanitize=fuzzer --sanitize=address -Xswiftc -sanitize=fuzzer \
		--scratch-path .build-fuzz --product rnn-fuzz

fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
		seeds=fuzz/corpus-$$t; if [ $$t = weights ]; then seeds=fuzz/corpus; fi; \
		mkdir -p $(FUZZ_DIR)/$$t/corpus; \
		echo "fuzz: $$t for $(FUZZ_TIME) s"; \
		RNN_FUZZ_TARGET=$$t $(FUZZ_BIN) -max_total_time=$(FUZZ_TIME) $(FUZZ_FLAGS) \
			-artifact_prefix=$(FUZZ_DIR)/$$t/ $(FUZZ_DIR)/$$t/corpus $$seeds || exit 1; \
	done

fuzz-seeds: fuzz-build
	bash fuzz/make-seeds.sh $(CURDIR)/$(FUZZ_BIN)

clean:
	$(SWIFT) package clean
	rm -f $(DEMO_MODEL) $(DEMO_TEXT)
