#!/bin/sh
# Builds the Rust SDK and its plugins with rustc alone (no cargo, no crates):
#
#   sdk/rust/build.sh lib DIR            DIR/libconveyor.rlib for wasm32-wasi
#   sdk/rust/build.sh plugin SRC OUT     the cdylib whose crate root is SRC -> OUT.wasm
#   sdk/rust/build.sh examples DIR       every examples/NAME -> DIR/NAME.wasm
#   sdk/rust/build.sh test               the native unit tests of the SDK and the examples
#
# RUSTC (default /usr/bin/rustc, Debian's 1.63 with libstd-rust-dev-wasm32)
# picks the compiler, TARGET the target (default wasm32-wasi; newer Rust calls
# it wasm32-wasip1); BUILD (default sdk/rust/build) holds intermediate files.
# Exit status non-zero on any failure.
set -eu

here=$(cd "$(dirname "$0")" && pwd)
RUSTC=${RUSTC:-/usr/bin/rustc}
BUILD=${BUILD:-$here/build}
TARGET=${TARGET:-wasm32-wasi} # wasm32-wasip1 on Rust >= 1.78
FLAGS="--edition 2021 -C opt-level=2 -C codegen-units=4"

die() { echo "sdk/rust/build.sh: $*" >&2; exit 1; }

[ -x "$RUSTC" ] || command -v "$RUSTC" >/dev/null 2>&1 || die "no rustc at $RUSTC (apt-get install rustc libstd-rust-dev-wasm32)"

lib() { # lib DIR
    # Built in a private directory and renamed into place, so concurrent
    # builds sharing DIR never see a partial rlib.
    tmp="$1/.lib.$$"
    mkdir -p "$tmp"
    # shellcheck disable=SC2086
    "$RUSTC" $FLAGS --target $TARGET --crate-type rlib --crate-name conveyor \
        "$here/src/lib.rs" --out-dir "$tmp" \
        || { rm -rf "$tmp"; die "building the SDK failed (is libstd-rust-dev-wasm32 installed?)"; }
    mv "$tmp/libconveyor.rlib" "$1/libconveyor.rlib"
    rm -rf "$tmp"
}

# rlib_fresh DIR: the rlib in DIR is newer than every SDK source.
rlib_fresh() {
    [ -f "$1/libconveyor.rlib" ] && [ -z "$(find "$here/src" -newer "$1/libconveyor.rlib" -print | head -n 1)" ]
}

plugin() { # plugin SRC OUT
    rlib_fresh "$BUILD/$TARGET" || lib "$BUILD/$TARGET"
    mkdir -p "$(dirname "$2")"
    name=$(basename "$2" .wasm | tr -c 'a-zA-Z0-9_\n' '_')
    tmp="$BUILD/$TARGET/.$name.$$"
    mkdir -p "$tmp"
    # shellcheck disable=SC2086
    "$RUSTC" $FLAGS --target $TARGET --crate-type cdylib --crate-name "$name" \
        -C strip=symbols -L "$BUILD/$TARGET" --extern conveyor="$BUILD/$TARGET/libconveyor.rlib" \
        "$1" --out-dir "$tmp" || { rm -rf "$tmp"; die "building $1 failed"; }
    mv "$tmp/$name.wasm" "$2"
    rmdir "$tmp"
}

case "${1:-}" in
lib) [ $# -eq 2 ] || die "usage: build.sh lib DIR"; lib "$2" ;;
plugin) [ $# -eq 3 ] || die "usage: build.sh plugin SRC OUT.wasm"; plugin "$2" "$3" ;;
examples)
    [ $# -eq 2 ] || die "usage: build.sh examples DIR"
    for d in "$here"/examples/*/; do
        n=$(basename "$d")
        plugin "$d/src/lib.rs" "$2/$n.wasm"
    done
    ;;
test)
    FLAGS="--edition 2021 -C opt-level=0 -C debuginfo=0"
    native="$BUILD/native"
    mkdir -p "$native"
    # The SDK's own tests and the rlib the plugin tests link, at once.
    # shellcheck disable=SC2086
    "$RUSTC" $FLAGS --test --crate-name conveyor "$here/src/lib.rs" -o "$native/conveyor-test" &
    pid=$!
    # shellcheck disable=SC2086
    "$RUSTC" $FLAGS --crate-type rlib --crate-name conveyor "$here/src/lib.rs" --out-dir "$native"
    wait $pid
    "$native/conveyor-test" -q
    for d in "$here"/examples/*/ "$here"/conformance/; do
        [ -f "$d/src/lib.rs" ] || continue
        n=$(basename "$d" | tr -c 'a-zA-Z0-9_\n' '_')
        # shellcheck disable=SC2086
        "$RUSTC" $FLAGS --test --crate-name "$n" -L "$native" --extern conveyor="$native/libconveyor.rlib" \
            "$d/src/lib.rs" -o "$native/$n-test"
        "$native/$n-test" -q
    done
    ;;
*) die "usage: build.sh lib DIR | plugin SRC OUT.wasm | examples DIR | test" ;;
esac
