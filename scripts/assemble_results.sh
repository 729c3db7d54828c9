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
  echo "same input in the same run. First session (2026-11-21): the 2-core machine was shared"
  echo "with up to 8 concurrent builds, so absolute throughputs are pessimistic; ratios are"
  echo "same-load comparisons. NumPy peers run before OpenBLAS was added to the setup used"
  echo "Debian's reference BLAS (said in their sections)."
  echo
  for f in benchmarks/results/*.md; do
    echo
    sed 's/^# /## /' "$f"
  done
} > benchmarks/RESULTS.md
echo "wrote benchmarks/RESULTS.md"
