#!/usr/bin/env bash
# Quick start command 1: install what is missing, build the spectromine
# command, and run it on the bundled demo cube (data/demo: 64 x 64 pixels,
# 100 energies across the Fe K edge, built from real reference spectra).
#
#   bash scripts/demo.sh                   # builds into ./build
#   BUILD_DIR=build-mine bash scripts/demo.sh
#   OUT_DIR=elsewhere bash scripts/demo.sh # outputs (default: demo-output)
set -euo pipefail
cd "$(dirname "$0")/.."
build_dir="${BUILD_DIR:-build}"
out_dir="${OUT_DIR:-demo-output}"

bash scripts/setup-debian.sh
if [ "$build_dir" = "build" ]; then
  bash scripts/build.sh -DSPECTROMINE_BUILD_TESTS=OFF -DSPECTROMINE_BUILD_BENCHMARKS=OFF
else
  cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release \
    -DSPECTROMINE_BUILD_TESTS=OFF -DSPECTROMINE_BUILD_BENCHMARKS=OFF
  cmake --build "$build_dir" --target spectromine -j "$(nproc 2>/dev/null || echo 2)"
fi
spectromine="$build_dir/examples/spectromine/spectromine"
mkdir -p "$out_dir"

# The demo step (one command; swap it for `cluster` to get a phase map).
"$spectromine" info data/demo/cube.npy --energy data/demo/energy.txt --png "$out_dir/cube.png"
picture="$out_dir/cube.png"

case "$picture" in /*) ;; *) picture="$(pwd)/$picture" ;; esac
echo
echo "demo: done. Picture of the sample: $picture"
