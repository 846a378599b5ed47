#!/usr/bin/env bash
# Checks the man pages: each page under man/ lints clean with groff, and each tool's page exists and
# mentions every long option its --help prints.
#
# usage: tests/man-check.sh [BINDIR]    (BINDIR: where the built tools are; default .build/release)
set -euo pipefail

cd "$(dirname "$0")/.."
bindir=${1:-.build/release}
tools="rnn-fit rnn-gen rnn-score"
status=0

fail() {
    echo "man-check: $*" >&2
    status=1
}

# The page as a reader sees it, on lines long enough that nothing is broken or hyphenated, with typographic
# hyphens and minus signs turned back into '-'.
render() {
    groff -mdoc -Tutf8 -P-c -P-b -P-u -rLL=2000n "$1" 2>/dev/null | sed 's/\xe2\x80\x90/-/g; s/\xe2\x88\x92/-/g'
}

for page in man/*.[1-9]; do
    [ -e "$page" ] || continue
    # -ww: every warning; -z: no output, only the diagnostics
    if ! warnings=$(groff -mdoc -Tutf8 -ww -z "$page" 2>&1) || [ -n "$warnings" ]; then
        fail "$page: groff reports:"
        printf '%s\n' "$warnings" >&2
    fi
done

for tool in $tools; do
    page=man/$tool.1
    if [ ! -f "$page" ]; then
        fail "$page: missing"
        continue
    fi
    if [ ! -x "$bindir/$tool" ]; then
        fail "$bindir/$tool: not built (run: swift build -c release)"
        continue
    fi
    text=$(render "$page")
    options=$("$bindir/$tool" --help | grep -oE -- '--[a-z][a-z0-9-]*' | sort -u)
    [ -n "$options" ] || fail "$tool --help: no long options found"
    for option in $options; do
        # the option as a whole word: --seed must not be satisfied by --seeds
        if ! grep -qE -- "(^|[^a-z0-9-])$option([^a-z0-9-]|\$)" <<<"$text"; then
            fail "$page: does not mention $option (printed by $tool --help)"
        fi
    done
done

if [ "$status" -eq 0 ]; then echo "man-check: ok"; fi
exit "$status"
