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

# The demo step: a phase map by the DBSCAN route, eps derived from the
# noise (no parameter set by hand), then a check against the ground truth.
"$spectromine" cluster --method dbscan --eps auto \
  --input data/demo/cube.npy --energy data/demo/energy.txt --out "$out_dir"
"$spectromine" compare "$out_dir/labels.npy" data/demo/truth.npy > "$out_dir/compare_with_truth.json"
picture="$out_dir/phase_map.png"

case "$picture" in /*) ;; *) picture="$(pwd)/$picture" ;; esac
echo
echo "demo: done. Phase map: $picture (agreement with the ground truth: $out_dir/compare_with_truth.json)"
