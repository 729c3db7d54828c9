#!/usr/bin/env bash
# Quick start command 2: install what is missing, build everything, run every test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-debian.sh
# Benchmarks are built by scripts/build.sh (default ON); the test command skips
# them to keep CI within its budget on 2 cores.
bash scripts/build.sh -DSPECTROMINE_BUILD_TESTS=ON -DSPECTROMINE_BUILD_EXAMPLES=ON -DSPECTROMINE_BUILD_BENCHMARKS=OFF
jobs=$(nproc 2>/dev/null || echo 2)
ctest --test-dir build --output-on-failure -j "$jobs"
