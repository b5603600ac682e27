#!/usr/bin/env bash
# The one reader of fuzz/TARGET.options: prints its [libfuzzer] settings as libFuzzer
# flags, one per line (-key=value). `dict` is resolved to fuzz/<dict>, and fuzz/TARGET.dict
# is used when the file names none. Used by ./sockcheck, bench/bench_fuzz.sh and
# fuzz/bite_test.py, so a campaign, the benchmark and the bite test run a target alike.
#   fuzz/tools/options.sh TARGET
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 TARGET" >&2; exit 2; }
fuzz=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
opts="$fuzz/$1.options"
[ -f "$opts" ] || opts=/dev/null
awk -F'=' -v dir="$fuzz" -v deflt="$1.dict" '
  /^[ \t]*\[/ { sec = $0; gsub(/[ \t]/, "", sec); next }
  sec == "[libfuzzer]" && NF == 2 {
    gsub(/[ \t]/, "", $1); gsub(/[ \t]/, "", $2)
    if ($1 == "dict") { dict = $2 } else { print "-" $1 "=" $2 }
  }
  END {
    if (dict == "" && system("test -f \"" dir "/" deflt "\"") == 0) { dict = deflt }
    if (dict != "") { print "-dict=" dir "/" dict }
  }' "$opts"
