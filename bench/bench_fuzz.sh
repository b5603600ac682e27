#!/bin/bash
# Fuzz benchmark (`./sockcheck bench fuzz`): builds the fuzz preset if needed, runs each
# fuzz_<target> for a fixed time on an empty scratch corpus plus its seed corpus (with the
# target's .options and .dict, as fuzz/tools/options.sh gives them), and prints exec/s per
# target; for msghdr also the
# bare sendmsg+recvmsg baseline (bench_bare_msghdr) and two ratios: per input (exec/s) and
# per syscall (sendmsg+recvmsg calls/s: fuzz_msghdr counts its calls and prints them at exit
# with SC_FUZZ_STATS=1; the bare loop makes exactly 2 per input). An input of several ops
# costs several syscalls, so the per-syscall ratio is the target's overhead over the bare
# calls. Figures only: the exit status reports a broken build or setup, never a slow target.
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
for t in "${TARGETS[@]}"; do [ "$t" = msghdr ] && BUILD_TARGETS+=(bench_bare_msghdr); done
cmake --build "$BUILD" -j2 --target "${BUILD_TARGETS[@]}" >/dev/null ||
  { echo "bench_fuzz: build failed (cmake --build $BUILD --target ${BUILD_TARGETS[*]})" >&2; exit 1; }

SCRATCH=$(mktemp -d /tmp/sockcheck-bench-fuzz.XXXXXX) || exit 1
trap 'rm -rf "$SCRATCH"' EXIT

# run_one NAME BINARY [SEED_DIR] -> prints exec/s (or a note) on stdout.
run_one() {
  local name=$1 bin=$2 seeds=${3:-}
  local work="$SCRATCH/$name" args=()
  mkdir -p "$work/corpus" "$work/art"
  mapfile -t args < <("$ROOT/fuzz/tools/options.sh" "$name")
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
if [ -n "$msghdr_eps" ]; then
  bare=$(run_one bare_msghdr "$BUILD/fuzz/bench_bare_msghdr")
  printf '%-10s %s\n' "bare" "$bare (fixed sendmsg+recvmsg, same flags)"
  bare_eps=${bare%% *}
  ratio=$(awk -v a="$msghdr_eps" -v b="$bare_eps" \
    'BEGIN { if (a + 0 > 0 && b + 0 > 0) printf "%.3f", a / b; else print "?" }')
  echo "msghdr / bare = $ratio per input"
  cpi=$(calls_per_input msghdr)
  awk -v a="$msghdr_eps" -v b="$bare_eps" -v c="$cpi" 'BEGIN {
    if (a + 0 > 0 && b + 0 > 0 && c + 0 > 0)
      printf "sendmsg+recvmsg calls/s: msghdr %.0f (%s per input), bare %.0f (2 per input); msghdr / bare = %.3f per syscall\n",
        a * c, c, b * 2, (a * c) / (b * 2)
    else print "sendmsg+recvmsg calls/s: ? (no SC_FUZZ_STATS line in the msghdr log)" }'
fi
