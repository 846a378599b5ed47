#!/usr/bin/env bash
# Checks `make install`: into a temporary DESTDIR it puts the three tools, their man pages and the bash, zsh
# and fish completions where those shells look, and the bash completion really completes an option.
#
# usage: tests/install-check.sh    (after `make build`; run by `make test`)
set -euo pipefail

cd "$(dirname "$0")/.."
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
status=0
fail() {
    echo "install-check: $*" >&2
    status=1
}

make -s install DESTDIR="$root" PREFIX=/opt/rnn > "$root.log" 2>&1 || { cat "$root.log" >&2; rm -f "$root.log"; exit 1; }
rm -f "$root.log"
p=$root/opt/rnn
for t in rnn-fit rnn-gen rnn-score; do
    [ -x "$p/bin/$t" ] || fail "$p/bin/$t missing or not executable"
    [ -s "$p/share/man/man1/$t.1" ] || fail "man page $t.1 missing"
    bash_file=$p/share/bash-completion/completions/$t
    zsh_file=$p/share/zsh/site-functions/_$t
    fish_file=$p/share/fish/vendor_completions.d/$t.fish
    for f in "$bash_file" "$zsh_file" "$fish_file"; do
        [ -s "$f" ] || { fail "completion $f missing or empty"; continue; }
        grep -q -- "$t" "$f" || fail "$f does not name $t"
        grep -q -- "threads" "$f" || fail "$f does not offer --threads"
    done
    [ -s "$bash_file" ] || continue
    bash -n "$bash_file" || fail "$bash_file: bash syntax error"
    grep -q "^#compdef $t" "$zsh_file" || fail "$zsh_file has no #compdef $t line"
    # complete `t --thr` in a bash that has sourced the installed file
    got=$(bash -c '
        source "$1"
        COMP_WORDS=("$2" --thr); COMP_CWORD=1; COMP_LINE="$2 --thr"; COMP_POINT=${#COMP_LINE}
        fn=$(complete -p "$2" | sed -E "s/.* -F ([^ ]+) .*/\1/")
        "$fn" "$2" --thr "$2"
        printf "%s\n" "${COMPREPLY[@]}"' _ "$bash_file" "$t" 2>&1) || true
    case "$got" in
        *--threads*) ;;
        *) fail "bash completion of '$t --thr' gave: $got" ;;
    esac
done
[ -s "$p/share/man/man5/rnn-weights.5" ] || fail "man page rnn-weights.5 missing"
[ $status -eq 0 ] && echo "install-check: ok (tools, man pages, bash/zsh/fish completions under a temporary DESTDIR)"
exit $status
