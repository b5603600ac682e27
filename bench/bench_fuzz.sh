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
# little between runs; the per-call ratio corrects for that. msghdr and replay are run
# ROUNDS times, alternately (run-to-run noise is a few percent, and a busy machine drifts):
# each round's ratio is printed, then their median.
# Figures only: the exit status reports a broken build or setup, never a slow target.
#
#   bench/bench_fuzz.sh [--time SECONDS] [--rounds N] [--build DIR] [TARGET...]
set -u
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TIME=10
ROUNDS=3
BUILD="$ROOT/build/fuzz"
TARGETS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --time) TIME=${2:?--time needs seconds}; shift 2 ;;
    --rounds) ROUNDS=${2:?--rounds needs a number}; shift 2 ;;
    --build) BUILD=${2:?--build needs a directory}; shift 2 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    -*) echo "bench_fuzz: unknown option $1" >&2; exit 2 ;;
    *) TARGETS+=("$1"); shift ;;
  esac
done
case "$TIME" in ''|*[!0-9]*) echo "bench_fuzz: --time needs a whole number of seconds" >&2; exit 2 ;; esac
case "$ROUNDS" in ''|0|*[!0-9]*) echo "bench_fuzz: --rounds needs a positive whole number" >&2; exit 2 ;; esac
if [ ${#TARGETS[@]} -eq 0 ]; then
  for t in msghdr cmsg sendall server addr layout recvfill serverloop; do
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
# ratio NAME MSGHDR_RUN MSGHDR_EPS BASE_RUN BASE_EPS [BASE_CPI]: msghdr against one baseline,
# per input and per sendmsg/recvmsg call; prints the line and leaves the per-input ratio in
# $RATIO. BASE_CPI: the baseline's calls per input when it prints no stats line (bare: 2).
RATIO=""
ratio() {
  local name=$1 mrun=$2 a=$3 brun=$4 b=$5 d=${6:-} c
  c=$(calls_per_input "$mrun")
  [ -n "$d" ] || d=$(calls_per_input "$brun")
  RATIO=$(awk -v a="$a" -v b="$b" 'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.3f", a / b; else print "?" }')
  awk -v a="$a" -v b="$b" -v c="$c" -v d="$d" -v n="$name" -v r="$RATIO" 'BEGIN {
    printf "msghdr / %s = %s per input", n, r
    if (a + 0 > 0 && b + 0 > 0 && c + 0 > 0 && d + 0 > 0)
      printf ", %.3f per sendmsg/recvmsg call (%.0f vs %.0f calls/s; %s vs %s calls per input)\n",
        (a * c) / (b * d), a * c, b * d, c, d
    else print ", ? per call (no sockcheck-stats line)" }'
}
if [ -n "$msghdr_eps" ]; then
  bare=$(run_one bare_msghdr "$BUILD/fuzz/bench_bare_msghdr")
  printf '%-10s %s\n' "bare" "$bare (one fixed 16-byte sendmsg+recvmsg per input)"
  ratio bare msghdr "$msghdr_eps" bare_msghdr "${bare%% *}" 2.00
  echo "msghdr against replay (the same calls as msghdr for each input, unchecked), $ROUNDS round(s), alternately:"
  ratios=()
  for r in $(seq 1 "$ROUNDS"); do
    mrun=msghdr eps=$msghdr_eps
    if [ "$r" -gt 1 ]; then
      mrun=msghdr.$r
      res=$(run_one "$mrun" "$BUILD/fuzz/fuzz_msghdr" "$ROOT/corpus/msghdr" msghdr)
      eps=${res%% *}
    fi
    replay=$(run_one "replay_msghdr.$r" "$BUILD/fuzz/bench_replay_msghdr" "$ROOT/corpus/msghdr" msghdr)
    printf '  round %s: msghdr %s exec/s, replay %s exec/s; ' "$r" "$eps" "${replay%% *}"
    ratio replay "$mrun" "$eps" "replay_msghdr.$r" "${replay%% *}"
    ratios+=("$RATIO")
  done
  printf '%s\n' "${ratios[@]}" | sort -n | awk '{ v[NR] = $1 } END {
    if (NR > 0) printf "msghdr / replay per input: median %s of %d round(s) (min %s, max %s)\n", v[int((NR + 1) / 2)], NR, v[1], v[NR] }'
fi
