#!/usr/bin/env bash
# The sanitizer and fuzz steps of the test command (docs/reliability.md).
# scripts/test.sh runs them after the plain build and tests; each step prints
# its wall and CPU time.
#
#   bash scripts/test-sanitizers.sh                 # asan tsan fuzz: what CI runs
#   bash scripts/test-sanitizers.sh asan            # only some steps (asan | tsan | fuzz)
#   bash scripts/test-sanitizers.sh --full tsan     # TSan on every suite, not only the threaded subset
#   bash scripts/test-sanitizers.sh asan -- dbscan io   # ASan on a subset (ctest name prefixes; with the CLI)
#   bash scripts/test-sanitizers.sh tsan -- dbscan      # TSan on some doctest suites (no CLI tests)
#
# Steps:
#   asan  GCC, -fsanitize=address,undefined (halt on the first report), -O1 -g1:
#         every doctest suite, the `spectromine` CLI and the examples, then every
#         ctest except the ones that only re-check the plain build
#         (headers_standalone: compile-only; install/packaging: rebuild with the
#         system flags; MPI: off, Open MPI trips LeakSanitizer).
#   tsan  GCC, -fsanitize=thread, -O1 -g1: $TSAN_SUITES (default hostile_threads:
#         shared objects used from several threads, and every threaded
#         pipeline stage with 1/2/3 threads; --full: every suite and CLI test).
#   fuzz  clang-14 libFuzzer: scripts/fuzz.sh on $FUZZ_TARGETS, FUZZ_SECONDS
#         each, seeds from fuzz/make_corpus.py + fuzz/corpus/.
#
# Environment:
#   JOBS              parallel compile jobs (default: nproc)
#   BUILD_PREFIX      build folders are <BUILD_PREFIX>asan|tsan|fuzz (default: build-)
#   TSAN_SUITES       default: "hostile_threads"
#   FUZZ_TARGETS      default: "npy text tiff hdf5 cli" (cli: argument handling, every command run)
#   FUZZ_SECONDS      seconds per fuzz target (default 30)
#   COMPILE_TIMES=1   log each translation unit's compile time and print the heaviest
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/timing.sh

jobs="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
prefix="${BUILD_PREFIX:-build-}"
full=0
steps=()
subset=()
while [ $# -gt 0 ]; do
  case "$1" in
    --full) full=1 ;;
    asan|tsan|fuzz) steps+=("$1") ;;
    --) shift; subset=("$@"); break ;;
    *) echo "usage: $0 [--full] [asan] [tsan] [fuzz] [-- suite ...]" >&2; exit 2 ;;
  esac
  shift
done
[ ${#steps[@]} -eq 0 ] && steps=(asan tsan fuzz)
tsan_suites=(${TSAN_SUITES:-hostile_threads})
fuzz_targets=(${FUZZ_TARGETS:-npy text tiff hdf5 cli})

# -O1: a third less compile time than -O2 and still fast enough to run the
# suites; -g1: line tables (all a report needs). NDEBUG as in Release, so the
# sanitized code is the code users run.
sanitizer_flags="-O1 -g1 -DNDEBUG"

configure() {  # configure <build dir> <sanitizers>
  local dir="$1" sanitize="$2" extra=()
  if [ "${COMPILE_TIMES:-0}" = 1 ]; then
    extra+=("-DCMAKE_CXX_COMPILER_LAUNCHER=$(pwd)/cmake/time-compile.sh;$(pwd)/$dir/compile-times.log")
    extra+=("-DCMAKE_CXX_LINKER_LAUNCHER=$(pwd)/cmake/time-compile.sh;$(pwd)/$dir/compile-times.log")
  fi
  # MPI's own allocations trip LeakSanitizer and TSan; the plain build covers it.
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=$sanitizer_flags" -DSPECTROMINE_SANITIZE="$sanitize" \
    -DSPECTROMINE_WITH_MPI=OFF -DSPECTROMINE_BUILD_TESTS=ON -DSPECTROMINE_BUILD_EXAMPLES=ON \
    -DSPECTROMINE_BUILD_BENCHMARKS=OFF -DSPECTROMINE_INSTALL=OFF -DSPECTROMINE_CHECK_HEADERS=OFF \
    "${extra[@]}" >/dev/null
}

# build <dir> <label> [target...]: no targets = `all` (every suite, the CLI,
# the examples). CMake's top-level Makefile is .NOTPARALLEL, so several
# --target names build one after the other, each suite on one core; `all`
# builds in parallel.
build() {
  local dir="$1" label="$2"
  shift 2
  if [ $# -eq 0 ]; then
    timed "$label: build all" cmake --build "$dir" -j "$jobs"
  else
    timed "$label: build $# targets" cmake --build "$dir" -j "$jobs" --target "$@"
  fi
}

# Every executable a ctest runs, except the compile-only header check.
test_targets() {
  cmake --build "$1" --target help | sed -n 's/^\.\.\. \(test_[a-z0-9_]*\|example_[a-z0-9_]*\)$/\1/p' |
    grep -v -x test_headers_standalone
  echo spectromine
}

# matching_targets <dir> <with CLI: 0|1> <prefix>...: the suites test_<prefix>*
# (and the CLI, which the CLI-driven ctests of a family run).
matching_targets() {
  local dir="$1" cli="$2" t s
  shift 2
  for t in $(test_targets "$dir"); do
    [ "$t" = spectromine ] && { [ "$cli" = 1 ] && echo "$t"; continue; }
    for s in "$@"; do
      case "$t" in test_"$s"*) echo "$t"; break ;; esac
    done
  done
}

report_units() {
  [ "${COMPILE_TIMES:-0}" = 1 ] && heaviest_units "$1/compile-times.log" 12
  return 0
}

status=0
for step in "${steps[@]}"; do
  case "$step" in
    asan)
      dir="${prefix}asan"
      # A report fails the test (exit != 0) instead of scrolling by.
      export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:halt_on_error=1:detect_stack_use_after_return=0:strict_string_checks=1}"
      export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
      # Leaks inside libhdf5 on corrupt files are the library's (docs/reliability.md).
      export LSAN_OPTIONS="${LSAN_OPTIONS:-suppressions=$(pwd)/scripts/lsan.supp:print_suppressions=0}"
      configure "$dir" address,undefined
      targets=()
      regex="."
      if [ ${#subset[@]} -gt 0 ]; then
        mapfile -t targets < <(matching_targets "$dir" 1 "${subset[@]}")
        regex="^($(IFS='|'; echo "${subset[*]}"))"
      fi
      build "$dir" asan "${targets[@]}" || status=1
      report_units "$dir"
      timed "asan: ctest" ctest --test-dir "$dir" --output-on-failure -j "$jobs" -R "$regex" \
        -E '^(headers_standalone|install_consumer|packaging_.*|parallel_mpi.*|parallel_cli_mpi.*)$' || status=1
      ;;
    tsan)
      dir="${prefix}tsan"
      export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}"
      configure "$dir" thread
      targets=()
      regex="."
      if [ $full = 0 ]; then
        suites=("${tsan_suites[@]}")
        [ ${#subset[@]} -gt 0 ] && suites=("${subset[@]}")
        mapfile -t targets < <(matching_targets "$dir" 0 "${suites[@]}")
        regex="^($(IFS='|'; echo "${suites[*]}"))"
      fi
      build "$dir" tsan "${targets[@]}" || status=1
      report_units "$dir"
      # Kernels with more ASLR entropy than TSan's memory layout allows
      # ("unexpected memory mapping") run the tests without randomization.
      launcher=()
      probe="$dir/tsan_probe"
      echo 'int main() { return 0; }' | g++ -x c++ -fsanitize=thread - -o "$probe"
      if ! "$probe" >/dev/null 2>&1; then
        launcher=(setarch "$(uname -m)" -R)
        echo "tsan: running the tests under ${launcher[*]} (TSan cannot map memory with this kernel's ASLR)"
      fi
      timed "tsan: ctest" "${launcher[@]}" ctest --test-dir "$dir" --output-on-failure -j "$jobs" -R "$regex" \
        -E '^(headers_standalone|install_consumer|packaging_.*|parallel_mpi.*|parallel_cli_mpi.*)$' || status=1
      ;;
    fuzz)
      BUILD_DIR="${prefix}fuzz" SECONDS_PER_TARGET="${FUZZ_SECONDS:-30}" JOBS="$jobs" \
        timed "fuzz: build and run" bash scripts/fuzz.sh "${fuzz_targets[@]}" || status=1
      ;;
  esac
done
exit $status
