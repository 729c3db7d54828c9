#!/usr/bin/env bash
# Bounded libFuzzer run of every target in fuzz/ (docs/reliability.md).
#
#   bash scripts/fuzz.sh                # every target, SECONDS_PER_TARGET each (default 45)
#   bash scripts/fuzz.sh npy text       # only these targets
#   SECONDS_PER_TARGET=600 bash scripts/fuzz.sh npy
#
# Seeds come from fuzz/make_corpus.py (small valid files) plus fuzz/corpus/
# (checked-in seeds and regressions); new corpus entries go to
# $BUILD_DIR/corpus/<target>, crashes to $BUILD_DIR/crashes/<target>/.
# Exit status: non-zero when any target found a crash, leak or timeout.
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${BUILD_DIR:-build-fuzz}"
seconds="${SECONDS_PER_TARGET:-45}"
jobs="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(npy text tiff hdf5 cli)

source scripts/timing.sh
extra=()
if [ "${COMPILE_TIMES:-0}" = 1 ]; then  # log each translation unit's compile time
  extra+=("-DCMAKE_CXX_COMPILER_LAUNCHER=$(pwd)/cmake/time-compile.sh;$(pwd)/$build_dir/compile-times.log")
  extra+=("-DCMAKE_CXX_LINKER_LAUNCHER=$(pwd)/cmake/time-compile.sh;$(pwd)/$build_dir/compile-times.log")
fi
CC=clang-14 CXX=clang++-14 cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG" \
  -DSPECTROMINE_BUILD_FUZZERS=ON -DSPECTROMINE_BUILD_TESTS=OFF -DSPECTROMINE_BUILD_BENCHMARKS=OFF \
  -DSPECTROMINE_WITH_MPI=OFF -DSPECTROMINE_INSTALL=OFF \
  "${extra[@]}" >/dev/null
# Absolute from here on: fuzz_cli works inside its scratch folder (chdir in
# LLVMFuzzerInitialize), where relative corpus and artifact paths would not exist.
build_dir="$(cd "$build_dir" && pwd)"
timed "fuzz: build ${#targets[@]} targets" cmake --build "$build_dir" -j "$jobs" --target "${targets[@]/#/fuzz_}"
[ "${COMPILE_TIMES:-0}" = 1 ] && heaviest_units "$build_dir/compile-times.log" 12

scratch="$(mktemp -d /dev/shm/spectromine_fuzz_cli.XXXXXX)"
trap 'rm -rf "$scratch"' EXIT
/usr/bin/python3 fuzz/make_corpus.py "$build_dir/seeds" "$scratch"
export SPECTROMINE_FUZZ_CLI_DIR="$scratch"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$(pwd)/scripts/lsan.supp:print_suppressions=0}"

status=0
for t in "${targets[@]}"; do
  corpus="$build_dir/corpus/$t"
  crashes="$build_dir/crashes/$t"
  mkdir -p "$corpus" "$crashes"
  seeds=("$build_dir/seeds/$t")
  [ -d "fuzz/corpus/$t" ] && seeds+=("$(pwd)/fuzz/corpus/$t")
  echo "fuzz: $t for ${seconds}s"
  # libhdf5 1.10 leaks on corrupt files inside the library (no frames of
  # ours): scripts/lsan.supp suppresses those, any other leak is a finding.
  # Our readers check a declared size against the file before allocating, so
  # one malloc over 1 GB is a finding; libhdf5 itself allocates the local
  # heap a corrupt file declares (1.4 GB seen, inside H5Dopen2) before it
  # reads past the end and fails, so the HDF5 target allows up to 4 GB.
  malloc_limit=1024
  [ "$t" = hdf5 ] && malloc_limit=4096
  if ! "$build_dir/fuzz/fuzz_$t" "$corpus" "${seeds[@]}" -max_total_time="$seconds" \
       -max_len=4096 -timeout=20 -rss_limit_mb=2048 -malloc_limit_mb="$malloc_limit" -close_fd_mask=3 \
       -artifact_prefix="$crashes/" -print_final_stats=1 2>"$build_dir/fuzz_$t.log"; then
    echo "fuzz: $t FOUND A PROBLEM (log $build_dir/fuzz_$t.log, inputs in $crashes/)"
    grep -m3 -E 'ERROR|SUMMARY|runtime error' "$build_dir/fuzz_$t.log" || true
    status=1
  fi
  grep -E '^stat::number_of_executed_units|^stat::new_units_added' "$build_dir/fuzz_$t.log" | tr '\n' ' '
  echo
done
exit $status
