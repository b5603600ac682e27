#!/bin/sh
# Regenerates corpus/msghdr and corpus/layout from fuzz/tools/make_seeds.c (which
# uses the library's layout encoder). Usage: fuzz/tools/make_seeds.sh [CC]
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CC=${1:-${CC:-cc}}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
"$CC" -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -I"$ROOT/harness/include" \
  -I"$ROOT/harness/testing/include" \
  "$ROOT/fuzz/tools/make_seeds.c" "$ROOT/harness/testing/layout.c" -o "$TMP/make_seeds"
mkdir -p "$ROOT/corpus/msghdr" "$ROOT/corpus/layout"
"$TMP/make_seeds" "$ROOT/corpus/msghdr" "$ROOT/corpus/layout"
