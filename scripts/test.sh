#!/usr/bin/env bash
# Quick start command 2: install what is missing, build everything, run every
# test, then the sanitizer and fuzz steps (scripts/test-sanitizers.sh). Each
# step prints its wall and CPU time (docs/reliability.md has the budget).
#   SPECTROMINE_SANITIZERS=all   (default, what CI runs) ASan+UBSan on every
#                                suite and CLI test, TSan on the threaded
#                                suite, a bounded fuzz run of the readers
#                                and the command line
#   SPECTROMINE_SANITIZERS=fast  TSan + fuzz only (skips the ASan+UBSan build)
#   SPECTROMINE_SANITIZERS=0     plain build and tests only
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/timing.sh
timed "setup (Debian packages)" bash scripts/setup-debian.sh
# Benchmarks are built by scripts/build.sh (default ON); the test command skips
# them to keep CI within its budget on 2 cores.
timed "build (Release)" bash scripts/build.sh -DSPECTROMINE_BUILD_TESTS=ON -DSPECTROMINE_BUILD_EXAMPLES=ON -DSPECTROMINE_BUILD_BENCHMARKS=OFF
jobs=$(nproc 2>/dev/null || echo 2)
timed "ctest (Release)" ctest --test-dir build --output-on-failure -j "$jobs"
case "${SPECTROMINE_SANITIZERS:-all}" in
  0) ;;
  all) bash scripts/test-sanitizers.sh asan tsan fuzz ;;
  fast) bash scripts/test-sanitizers.sh tsan fuzz ;;
  *) echo "SPECTROMINE_SANITIZERS must be fast, all or 0 (got ${SPECTROMINE_SANITIZERS})" >&2; exit 2 ;;
esac
