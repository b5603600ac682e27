#!/bin/bash -eu
# OSS-Fuzz / ClusterFuzzLite build script. Builds every fuzz target that fuzz/CMakeLists.txt
# defines (SC_FUZZ_TARGETS, asked of CMake, so new targets need no change here), compiled
# with $CC $CFLAGS and linked with $CXX $CXXFLAGS $LIB_FUZZING_ENGINE (SC_FUZZ_ENGINE), and
# writes to $OUT for each target t:
#   fuzz_t                     the fuzzer
#   fuzz_t_seed_corpus.zip     corpus/t and corpus/regressions/t (the latter prefixed regression_)
#   fuzz_t.dict, fuzz_t.options  from fuzz/t.options through fuzz/tools/options.sh
# Source: the current directory (the Dockerfile's WORKDIR) unless SC_SRC names one. Writes
# nothing outside $WORK, $OUT and /tmp.
src=$(cd "${SC_SRC:-$PWD}" && pwd)
build=$WORK/sockcheck-build
seeds=$WORK/sockcheck-seeds

# No CMAKE_BUILD_TYPE: the optimisation and debug flags are the engine's, from CFLAGS.
cmake -S "$src" -B "$build" -G "Unix Makefiles" -DSC_FUZZ=ON -DSC_TESTS=OFF \
  -DSC_FUZZ_ENGINE="$LIB_FUZZING_ENGINE" >/dev/null
mapfile -t fuzzers < <(cmake --build "$build" --target help | sed -n 's/^\.\.\. \(fuzz_[A-Za-z0-9_]*\)$/\1/p')
[ ${#fuzzers[@]} -gt 0 ] || { echo "build.sh: no fuzz_* targets in $build" >&2; exit 1; }
cmake --build "$build" -j"$(nproc)" --target "${fuzzers[@]}" -- --no-print-directory -s

for f in "${fuzzers[@]}"; do
  t=${f#fuzz_}
  cp "$build/fuzz/$f" "$OUT/$f"

  # .options ([libfuzzer] section) and .dict: the one reader of fuzz/t.options decides both.
  dict=""
  {
    echo "[libfuzzer]"
    while IFS= read -r opt; do
      case $opt in
      -dict=*) dict=${opt#-dict=} ;;
      -*=*) opt=${opt#-}; echo "${opt%%=*} = ${opt#*=}" ;;
      *) ;;
      esac
    done < <("$src/fuzz/tools/options.sh" "$t")
    [ -z "$dict" ] || echo "dict = $f.dict"
  } >"$OUT/$f.options"
  [ -z "$dict" ] || cp "$dict" "$OUT/$f.dict"

  rm -rf "${seeds:?}/$t"
  mkdir -p "$seeds/$t"
  if [ -d "$src/corpus/$t" ]; then
    find "$src/corpus/$t" -maxdepth 1 -type f ! -name 'README*' ! -name '.gitkeep' \
      -exec cp -t "$seeds/$t" {} +
  fi
  if [ -d "$src/corpus/regressions/$t" ]; then
    find "$src/corpus/regressions/$t" -maxdepth 1 -type f ! -name 'README*' ! -name '.gitkeep' |
      while IFS= read -r p; do cp "$p" "$seeds/$t/regression_$(basename "$p")"; done
  fi
  rm -f "$OUT/${f}_seed_corpus.zip"
  if [ -n "$(ls -A "$seeds/$t")" ]; then
    (cd "$seeds/$t" && zip -q -X "$OUT/${f}_seed_corpus.zip" ./*)
  fi
  echo "build.sh: $f: $(find "$seeds/$t" -type f | wc -l) seeds${dict:+, dict $(basename "$dict")}"
done
