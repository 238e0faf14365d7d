#!/bin/sh
# Builds C plugins against conveyor.h with Debian's clang (no other
# dependencies):
#
#   sdk/c/build.sh plugin OUT.wasm SRC.c...   one plugin from its sources
#   sdk/c/build.sh examples DIR               every examples/NAME -> DIR/NAME.wasm
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

case "${1:-}" in
plugin) [ $# -ge 3 ] || die "usage: build.sh plugin OUT.wasm SRC.c..."; shift; plugin "$@" ;;
examples)
    [ $# -eq 2 ] || die "usage: build.sh examples DIR"
    for d in "$here"/examples/*/; do
        plugin "$2/$(basename "$d").wasm" "$d"*.c
    done
    ;;
*) die "usage: build.sh plugin OUT.wasm SRC.c... | examples DIR" ;;
esac
