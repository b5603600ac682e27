#!/bin/bash
# Fuzz benchmark (`./sockcheck bench fuzz`): builds the fuzz preset if needed, runs each
# fuzz_<target> for a fixed time on an empty scratch corpus plus its seed corpus (with the
# target's .options and .dict, as fuzz/tools/options.sh gives them), and prints exec/s per
# target. For msghdr also two baselines, libFuzzer targets with the same flags, options and
# seeds, run in the same invocation:
#   replay  bench_replay_msghdr: for each input, the same sendmsg/recvmsg/close/shutdown
#           calls fuzz_msghdr makes, on reused pairs, with no library path and no checks
#   bare    bench_bare_msghdr: one fixed 16-byte sendmsg + recvmsg per input (the floor)
# and msghdr's ratio to each, per input (exec/s) and per sendmsg/recvmsg call (calls/s:
# msghdr and replay count their calls and print them at exit with SC_FUZZ_STATS=1; bare
# makes 2 per input). Each run evolves its own corpus, so the calls per input differ a
# little between runs; the per-call ratio corrects for that.
# Figures only: the exit status reports a broken build or setup, never a slow target.
#
#   bench/bench_fuzz.sh [--time SECONDS] [--build DIR] [TARGET...]
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TIME=10
BUILD="$ROOT/build/fuzz"
TARGETS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --time) TIME=${2:?--time needs seconds}; shift 2 ;;
    --build) BUILD=${2:?--build needs a directory}; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    -*) echo "bench_fuzz: unknown option $1" >&2; exit 2 ;;
    *) TARGETS+=("$1"); shift ;;
  esac
done
case "$TIME" in ''|*[!0-9]*) echo "bench_fuzz: --time needs a whole number of seconds" >&2; exit 2 ;; esac
if [ ${#TARGETS[@]} -eq 0 ]; then
  for t in msghdr cmsg sendall server addr layout; do
    [ -f "$ROOT/fuzz/$t.c" ] && TARGETS+=("$t")
  done
fi

if [ ! -f "$BUILD/CMakeCache.txt" ]; then
  if [ "$BUILD" = "$ROOT/build/fuzz" ]; then
    (cd "$ROOT" && cmake --preset fuzz >/dev/null) || { echo "bench_fuzz: configure failed" >&2; exit 1; }
  else
    echo "bench_fuzz: $BUILD is not a configured build" >&2; exit 1
  fi
fi
BUILD_TARGETS=()
for t in "${TARGETS[@]}"; do BUILD_TARGETS+=("fuzz_$t"); done
for t in "${TARGETS[@]}"; do [ "$t" = msghdr ] && BUILD_TARGETS+=(bench_bare_msghdr bench_replay_msghdr); done
cmake --build "$BUILD" -j2 --target "${BUILD_TARGETS[@]}" >/dev/null ||
  { echo "bench_fuzz: build failed (cmake --build $BUILD --target ${BUILD_TARGETS[*]})" >&2; exit 1; }

SCRATCH=$(mktemp -d /tmp/sockcheck-bench-fuzz.XXXXXX) || exit 1
trap 'rm -rf "$SCRATCH"' EXIT

# run_one NAME BINARY [SEED_DIR [OPTIONS_OF]] -> prints exec/s (or a note) on stdout.
# OPTIONS_OF: the target whose .options to use (default NAME).
run_one() {
  local name=$1 bin=$2 seeds=${3:-} opts=${4:-$1}
  local work="$SCRATCH/$name" args=()
  mkdir -p "$work/corpus" "$work/art"
  mapfile -t args < <("$ROOT/fuzz/tools/options.sh" "$opts")
  local dirs=("$work/corpus")
  [ -n "$seeds" ] && [ -d "$seeds" ] && dirs+=("$seeds")
  SC_FUZZ_STATS=1 timeout $((TIME + 60)) "$bin" -max_total_time="$TIME" -seed=1 -print_final_stats=1 \
    -artifact_prefix="$work/art/" "${args[@]}" "${dirs[@]}" >"$work/log" 2>&1
  local rc=$?
  local eps execs
  eps=$(sed -n 's/^stat::average_exec_per_sec:[[:space:]]*//p' "$work/log" | tail -1)
  execs=$(sed -n 's/^stat::number_of_executed_units:[[:space:]]*//p' "$work/log" | tail -1)
  if [ $rc -ne 0 ]; then
    cp "$work/log" "/tmp/sockcheck-bench-$name.log" 2>/dev/null
    echo "${eps:-?} (stopped early, exit $rc after ${execs:-?} execs: finding or error, log /tmp/sockcheck-bench-$name.log)"
  else
    echo "${eps:-?} (${execs:-?} execs)"
  fi
}

# calls_per_input NAME -> (sendmsg + recvmsg) / inputs from the SC_FUZZ_STATS line, or "?".
calls_per_input() {
  sed -n 's/^sockcheck-stats: inputs \([0-9]*\) sendmsg \([0-9]*\) recvmsg \([0-9]*\).*/\1 \2 \3/p' \
    "$SCRATCH/$1/log" | tail -1 |
    awk '{ if ($1 > 0) printf "%.2f", ($2 + $3) / $1; else print "?" } END { if (NR == 0) print "?" }'
}

echo "fuzz benchmark: ${TIME}s per target, build $BUILD, ASan+UBSan+libFuzzer"
printf '%-10s %s\n' target exec/s
msghdr_eps=""
for t in "${TARGETS[@]}"; do
  res=$(run_one "$t" "$BUILD/fuzz/fuzz_$t" "$ROOT/corpus/$t")
  printf '%-10s %s\n' "$t" "$res"
  [ "$t" = msghdr ] && msghdr_eps=${res%% *}
done
# ratios NAME EPS CALLS_PER_INPUT: msghdr against one baseline, per input and per syscall.
ratios() {
  local name=$1 eps=$2 cpi=$3 mcpi
  mcpi=$(calls_per_input msghdr)
  awk -v a="$msghdr_eps" -v b="$eps" -v c="$mcpi" -v d="$cpi" -v n="$name" 'BEGIN {
    if (a + 0 > 0 && b + 0 > 0) printf "msghdr / %s = %.3f per input", n, a / b; else printf "msghdr / %s = ? per input", n
    if (a + 0 > 0 && b + 0 > 0 && c + 0 > 0 && d + 0 > 0)
      printf ", %.3f per sendmsg/recvmsg call (%.0f vs %.0f calls/s; %s vs %s calls per input)\n",
        (a * c) / (b * d), a * c, b * d, c, d
    else print ", ? per call (no sockcheck-stats line)" }'
}
if [ -n "$msghdr_eps" ]; then
  bare=$(run_one bare_msghdr "$BUILD/fuzz/bench_bare_msghdr")
  printf '%-10s %s\n' "bare" "$bare (one fixed 16-byte sendmsg+recvmsg per input)"
  replay=$(run_one replay_msghdr "$BUILD/fuzz/bench_replay_msghdr" "$ROOT/corpus/msghdr" msghdr)
  printf '%-10s %s\n' "replay" "$replay (the same calls as msghdr for each input, unchecked)"
  echo "calls per input: msghdr $(calls_per_input msghdr), replay $(calls_per_input replay_msghdr), bare 2"
  ratios replay "${replay%% *}" "$(calls_per_input replay_msghdr)"
  ratios bare "${bare%% *}" 2.00
fi
