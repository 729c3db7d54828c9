#!/usr/bin/env bash
# Quick start command 2: install what is missing, build everything, run every
# test, then the sanitizer and fuzz steps (scripts/test-sanitizers.sh:
# ASan+UBSan on every suite, TSan on the threaded suites, a bounded fuzz run).
# Each step prints its wall and CPU time (docs/reliability.md has the budget).
#   SPECTROMINE_SANITIZERS=0 bash scripts/test.sh   # plain build and tests only
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/timing.sh
timed "setup (Debian packages)" bash scripts/setup-debian.sh
# Benchmarks are built by scripts/build.sh (default ON); the test command skips
# them to keep CI within its budget on 2 cores.
timed "build (Release)" bash scripts/build.sh -DSPECTROMINE_BUILD_TESTS=ON -DSPECTROMINE_BUILD_EXAMPLES=ON -DSPECTROMINE_BUILD_BENCHMARKS=OFF
jobs=$(nproc 2>/dev/null || echo 2)
timed "ctest (Release)" ctest --test-dir build --output-on-failure -j "$jobs"
if [ "${SPECTROMINE_SANITIZERS:-1}" != 0 ]; then
  bash scripts/test-sanitizers.sh
fi
