#!/usr/bin/env bash
# Installs the build tree into a temporary prefix, then builds and runs a consumer
# both through pkg-config and through find_package(sockcheck).
# usage: install_test.sh BUILD_DIR C_COMPILER
set -euo pipefail
build=$1 cc=$2
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
san=""
if grep -q '^SC_SANITIZE:BOOL=ON' "$build/CMakeCache.txt"; then san="-fsanitize=address,undefined"; fi
# 1. pkg-config, static library (the shared one is tested below through CMake's default)
export PKG_CONFIG_PATH="$tmp/prefix/lib/pkgconfig:$tmp/prefix/lib64/pkgconfig:$tmp/prefix/lib/x86_64-linux-gnu/pkgconfig"
# shellcheck disable=SC2046
"$cc" -std=c11 -Wall -Wextra -Werror $san -o "$tmp/consumer_pc" "$here/consumer.c" $(pkg-config --cflags sockcheck) \
  -Wl,-Bstatic $(pkg-config --libs sockcheck) -Wl,-Bdynamic
"$tmp/consumer_pc"
# 2. find_package(sockcheck)
cmake -S "$here" -B "$tmp/cbuild" -DCMAKE_C_COMPILER="$cc" -DCMAKE_PREFIX_PATH="$tmp/prefix" \
  -DCMAKE_C_FLAGS="$san" -DCMAKE_EXE_LINKER_FLAGS="$san" >/dev/null
cmake --build "$tmp/cbuild" >/dev/null
"$tmp/cbuild/consumer"
test -x "$tmp/prefix/bin/sockcheck-ok-server"
test -f "$tmp/prefix/include/sockcheck/msg.h"
# Only the product is installed: its nine headers, no test model or CLI symbols.
headers=$(cd "$tmp/prefix/include/sockcheck" && ls | tr '\n' ' ')
[ "$headers" = "addr.h cmsg.h conn.h error.h iov.h msg.h pair.h server.h transport.h " ] || {
  echo "install: unexpected headers: $headers" >&2
  exit 1
}
lib=$(find "$tmp/prefix" -name libsockcheck.a | head -1)
if nm -g --defined-only "$lib" | grep -E ' (sc_layout_|sc_oracle_|sc_cli_|sc_test_|sc_fuzz_)'; then
  echo "install: test model or CLI symbols in the installed library" >&2
  exit 1
fi
echo "install: pkg-config and find_package consumers built and ran"
