#!/usr/bin/env bash
# Sanitizer builds of the test suites (docs/reliability.md).
#
#   bash scripts/sanitize.sh                  # ASan+UBSan, every suite + hostile CLI tests
#   bash scripts/sanitize.sh asan dbscan io   # ASan+UBSan, only these ctest names (regex parts)
#   bash scripts/sanitize.sh tsan             # TSan on the multithreaded suites
#
# Environment: BUILD_DIR (default build-asan / build-tsan), JOBS (default nproc),
# BUILD_TYPE (default RelWithDebInfo: -O2 keeps run times sane, -g gives lines).
set -euo pipefail
cd "$(dirname "$0")/.."
kind="${1:-asan}"
shift || true
jobs="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
build_type="${BUILD_TYPE:-RelWithDebInfo}"

case "$kind" in
  asan)
    sanitize="address,undefined"
    build_dir="${BUILD_DIR:-build-asan}"
    # A sanitizer report fails the test (exit code != 0), never scrolls by.
    export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1:detect_stack_use_after_return=0}"
    export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
    default_suites=()  # everything
    ;;
  tsan)
    sanitize="thread"
    build_dir="${BUILD_DIR:-build-tsan}"
    export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1}"
    # The suites whose code runs parallel_for (dbscan, voronoi, preprocess,
    # repair, core parallel) plus the thread-sharing test of tests/hostile.
    default_suites=(core parallel dbscan voronoi preprocess repair_analysis hostile_threads)
    ;;
  *) echo "usage: $0 [asan|tsan] [suite ...]" >&2; exit 2 ;;
esac

suites=("$@")
[ ${#suites[@]} -eq 0 ] && suites=("${default_suites[@]}")

# MPI's own allocations trip LeakSanitizer and TSan; the sanitizer builds
# leave the mpi component out (its logic is covered by the plain build).
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE="$build_type" \
  -DSPECTROMINE_SANITIZE="$sanitize" -DSPECTROMINE_WITH_MPI=OFF \
  -DSPECTROMINE_BUILD_TESTS=ON -DSPECTROMINE_BUILD_EXAMPLES=ON -DSPECTROMINE_BUILD_BENCHMARKS=OFF \
  -DSPECTROMINE_INSTALL=OFF >/dev/null

start=$(date +%s)
if [ ${#suites[@]} -eq 0 ]; then
  cmake --build "$build_dir" -j "$jobs"
  regex=""
else
  targets=()
  for s in "${suites[@]}"; do
    case "$s" in
      hostile_threads) targets+=(test_hostile_threads) ;;
      hostile*) targets+=(spectromine test_hostile_threads) ;;
      *) targets+=("test_$s") ;;
    esac
  done
  [ "$kind" = tsan ] && targets+=(test_hostile_threads)
  cmake --build "$build_dir" -j "$jobs" --target "${targets[@]}"
  regex="^($(IFS='|'; echo "${suites[*]}"))"
fi
built=$(date +%s)
if [ -n "$regex" ]; then
  ctest --test-dir "$build_dir" --output-on-failure -j "$jobs" -R "$regex"
else
  ctest --test-dir "$build_dir" --output-on-failure -j "$jobs" -E '^install_consumer$'
fi
done_at=$(date +%s)
echo "sanitize($kind): build $((built - start)) s, tests $((done_at - built)) s"
