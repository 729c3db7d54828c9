#!/usr/bin/env bash
# Rebuilds benchmarks/RESULTS.md from the per-family files in benchmarks/results/.
set -euo pipefail
cd "$(dirname "$0")/.."
{
  echo "# Benchmark results"
  echo
  echo "Assembled by \`scripts/assemble_results.sh\` from \`benchmarks/results/*.md\`; each section"
  echo "names its machine, date, load and the exact commands that produced its numbers."
  echo "Peers (NumPy, scikit-learn, xraylarch, scikit-image, h5py/tifffile) were timed on the"
  echo "same input in the same run. All sessions (2026-11-21) shared the 2-core machine with"
  echo "several concurrent builds, so most absolute throughputs are pessimistic (each section"
  echo "gives its load); ratios are same-load comparisons, and the runs marked quiet had the"
  echo "machine to themselves. NumPy uses OpenBLAS from session 2 on."
  echo
  for f in benchmarks/results/*.md; do
    echo
    sed 's/^# /## /' "$f"
  done
} > benchmarks/RESULTS.md
echo "wrote benchmarks/RESULTS.md"
