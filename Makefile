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

.PHONY: all build test test-debug man-check install demo bench quality fuzz clean

all: build

build:
	$(SWIFT) build -c release

# make test: every suite against the release build, the code users run (RNNKernels at -Ounchecked with its
# vector flags; the kernel tests compare both vector widths and 1, 2 and 4 threads bit for bit), then the man
# check. The tests import only public and package declarations, so the release build needs no -enable-testing
# and is the shipped one; the CLI tests run its binaries. TEST_TIMEOUT bounds the run, so a deadlocked worker
# team fails the target instead of hanging it. `make test-debug` runs the suites in a debug build too.
TEST_TIMEOUT ?= 900
test:
	$(SWIFT) build -c release --build-tests
	timeout --kill-after=10 $(TEST_TIMEOUT) $(SWIFT) test -c release --skip-build
	bash tests/man-check.sh $(BIN)

test-debug: build
	timeout --kill-after=10 $(TEST_TIMEOUT) $(SWIFT) test

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

# make fuzz: libFuzzer (with AddressSanitizer) on the weights-file loader, for FUZZ_TIME seconds, starting from
# the committed seed corpus of valid and broken models. A crash leaves its input in .build/fuzz/crash-*.
FUZZ_TIME ?= 300
FUZZ_DIR := .build/fuzz
fuzz:
	mkdir -p $(FUZZ_DIR)/corpus
	swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name RNNStreamFuzz -I Sources/CZlib \
		$$(find Sources/RNNStream -name '*.swift' | LC_ALL=C sort) fuzz/FuzzLoader.swift -o $(FUZZ_DIR)/fuzz-loader -lz
	cp fuzz/corpus/* $(FUZZ_DIR)/corpus/
	$(FUZZ_DIR)/fuzz-loader -max_total_time=$(FUZZ_TIME) -rss_limit_mb=2048 -print_final_stats=1 \
		-artifact_prefix=$(FUZZ_DIR)/ $(FUZZ_DIR)/corpus

clean:
	$(SWIFT) package clean
	rm -f $(DEMO_MODEL) $(DEMO_TEXT)
