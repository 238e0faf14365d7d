#!/bin/sh
# Builds the C conformance guest: sh build.sh OUT.wasm
# (run from any directory; see README.md and plugins/conformance/README.md).
set -eu
[ $# -eq 1 ] || { echo "usage: build.sh OUT.wasm" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
case "$1" in /*) out=$1 ;; *) out=$(pwd)/$1 ;; esac
exec sh "$here/../build.sh" plugin "$out" "$here/guest.c"
