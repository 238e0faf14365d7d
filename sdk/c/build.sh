#!/bin/sh
# Builds C plugins against conveyor.h with Debian's clang (no other
# dependencies):
#
#   sdk/c/build.sh plugin OUT.wasm SRC.c...   one plugin from its sources
#   sdk/c/build.sh examples DIR               every examples/NAME -> DIR/NAME.wasm
#   sdk/c/build.sh test                       native unit tests (tests/*_test.c, examples/*/*_test.c)
#
# CC (default clang) picks the compiler; it needs the wasm32-wasi target:
# apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
CC=${CC:-clang}
CFLAGS=${CFLAGS:--O2 -Wall -Wextra -Werror}

die() { echo "sdk/c/build.sh: $*" >&2; exit 1; }

command -v "$CC" >/dev/null 2>&1 || die "no $CC (apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32)"

plugin() { # plugin OUT SRC...
    out=$1
    shift
    mkdir -p "$(dirname "$out")"
    # shellcheck disable=SC2086
    "$CC" --target=wasm32-wasi -mexec-model=reactor $CFLAGS -s -I "$here" -o "$out" "$@" \
        || die "building $out failed"
}

test_() { # native unit tests with the host compiler and the stand-in host
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    for t in "$here"/tests/*_test.c "$here"/examples/*/*_test.c; do
        [ -f "$t" ] || continue
        dir=$(dirname "$t")
        # The test includes the plugin's main .c file; link the others.
        others=$(ls "$dir"/*.c | grep -v '_test\.c$' | while read -r f; do
            grep -q "include \"$(basename "$f")\"" "$t" || echo "$f"; done)
        # shellcheck disable=SC2086
        "$CC" -O1 -g -Wall -Wextra -Werror -I "$here" -o "$tmp/t" "$t" $others || die "building $t failed"
        "$tmp/t" || die "$t failed"
    done
}

case "${1:-}" in
plugin) [ $# -ge 3 ] || die "usage: build.sh plugin OUT.wasm SRC.c..."; shift; plugin "$@" ;;
examples)
    [ $# -eq 2 ] || die "usage: build.sh examples DIR"
    for d in "$here"/examples/*/; do
        # shellcheck disable=SC2046
        plugin "$2/$(basename "$d").wasm" $(ls "$d"*.c | grep -v '_test\.c$')
    done
    ;;
test) test_ ;;
*) die "usage: build.sh plugin OUT.wasm SRC.c... | examples DIR | test" ;;
esac
