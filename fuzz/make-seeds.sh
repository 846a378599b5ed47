#!/usr/bin/env bash
# Writes the seed corpora fuzz/corpus-<target>/ for the checkpoint, utf8, vocab and json fuzzers (the weights
# fuzzer's fuzz/corpus/ is older and hand-made). The checkpoint comes from the real writer (Checkpoint.encode,
# through the fuzzing build's RNN_FUZZ_WRITE_SEEDS hook); the others are small literal files. Re-run after
# changing a fixture; the output is committed. Usage: fuzz/make-seeds.sh FUZZ_BINARY
set -euo pipefail
cd "$(dirname "$0")"
bin=${1:?usage: fuzz/make-seeds.sh FUZZ_BINARY}
mkdir -p corpus-checkpoint corpus-utf8 corpus-vocab corpus-json

# (exit() from LLVMFuzzerInitialize leaves allocations that LeakSanitizer would report and fail on)
ASAN_OPTIONS=detect_leaks=0 RNN_FUZZ_TARGET=checkpoint RNN_FUZZ_WRITE_SEEDS=corpus-checkpoint "$bin"
head -c 100 corpus-checkpoint/checkpoint.gz > corpus-checkpoint/truncated.gz

u=corpus-utf8
printf 'hello, world\n' > $u/ascii
printf 'caf\xc3\xa9 na\xc3\xafve \xe2\x82\xac \xf0\x9f\x98\x80 \xe4\xb8\xad\xe6\x96\x87\n' > $u/mixed
printf '\x00\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xed\x9f\xbf\xee\x80\x80\xef\xbf\xbf\xf0\x90\x80\x80\xf4\x8f\xbf\xbf' > $u/edges
printf 'ok\xc0\xafbad' > $u/overlong
printf 'a\xed\xa0\x80b' > $u/surrogate
printf 'x\xf4\x90\x80\x80' > $u/too-large
printf 'cut \xe2\x82' > $u/truncated
printf '\x80\xbf\xfe\xff' > $u/stray

v=corpus-vocab
printf 'abcdefghijklmnopqrstuvwxyz\n' > $v/letters
printf ' \n!"#$%%&()*+,-./0123456789:;?ABCDEFGHIJKLMNOPQRSTUVWXYZ' > $v/printable
printf '\xc3\xa9\xc3\xa0\xe2\x82\xac\xf0\x9f\x98\x80\x00\t' > $v/unicode
printf 'aaaa\n\n' > $v/repeats
printf '' > $v/empty

j=corpus-json
printf '{"a":1,"b":[true,false,null],"c":"x\\u00e9\\ud83d\\ude00\\n"}' > $j/object
printf ' [1, -2.5e10, 0.0001, 1E+2, -0, "", {}] ' > $j/array
printf '"\\"\\\\\\/\\b\\f\\n\\r\\t"' > $j/escapes
printf '{"cell":"lstm","hidden_size":"256","vocabulary":"\\u0000ab"}' > $j/metadata
printf '[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]' > $j/deep
printf '{"a":1,"a":2}' > $j/duplicate
printf '[01, NaN]' > $j/invalid
