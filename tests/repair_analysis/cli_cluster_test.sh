#!/bin/sh
# CLI checks of `spectromine cluster` and `spectromine compare` on the demo cube:
#   - a good run writes the five outputs of docs/CLI.md, labels 1..K by size;
#   - bad input (missing cube, wrong energy count, bad --repair, unknown
#     method) exits non-zero with one "error: ..." line and leaves no output
#     (no folder created, no file in an existing folder);
#   - compare prints JSON with ari 1 for a map against itself.
# Usage: cli_cluster_test.sh SPECTROMINE DATA_DIR WORK_DIR
set -u
exe="$1"; data="$2"; work="$3"
rm -rf "$work"; mkdir -p "$work"
fail() { echo "FAIL: $*"; exit 1; }

"$exe" cluster --method kmeans --k 3 --input "$data/demo/cube.npy" --energy "$data/demo/energy.txt" \
  --out "$work/good" --repair 5,23 --threads 2 --quiet || fail "good run exited non-zero"
for f in labels.npy labels.tif phase_map.png spectra.csv summary.json; do
  [ -s "$work/good/$f" ] || fail "missing output $f"
done
grep -q '"method": "kmeans"' "$work/good/summary.json" || fail "summary.json lacks the method"
grep -q '"wall_time_s"' "$work/good/summary.json" || fail "summary.json lacks wall times"
head -1 "$work/good/spectra.csv" | grep -q '^energy,1' || fail "spectra.csv header"
[ -z "$(ls -A "$work/good" | grep tmp)" ] || fail "temporary files left behind"

bad() {  # name, then the arguments
  name="$1"; shift
  out="$work/$name"
  if "$exe" "$@" --out "$out" --quiet 2>"$work/$name.err"; then fail "$name: exited 0"; fi
  grep -q '^error: ' "$work/$name.err" || fail "$name: no 'error:' line: $(cat "$work/$name.err")"
  [ "$(wc -l < "$work/$name.err")" -eq 1 ] || fail "$name: more than one stderr line"
  [ ! -e "$out" ] || [ -z "$(ls -A "$out")" ] || fail "$name: left files in $out"
}
bad missing_cube cluster --method kmeans --k 3 --input "$work/nope.npy" --energy "$data/demo/energy.txt"
head -50 "$data/demo/energy.txt" > "$work/short_energy.txt"
bad short_energy cluster --method kmeans --k 3 --input "$data/demo/cube.npy" --energy "$work/short_energy.txt"
bad bad_repair cluster --method kmeans --k 3 --input "$data/demo/cube.npy" --energy "$data/demo/energy.txt" --repair 4,2
bad no_k cluster --method kmeans --input "$data/demo/cube.npy" --energy "$data/demo/energy.txt"
bad unknown_method cluster --method magic --input "$data/demo/cube.npy" --energy "$data/demo/energy.txt"
mkdir -p "$work/existing"
bad existing cluster --method kmeans --k 5000 --input "$data/demo/cube.npy" --energy "$data/demo/energy.txt"

"$exe" compare "$work/good/labels.npy" "$work/good/labels.npy" > "$work/compare.json" || fail "compare exited non-zero"
grep -q '"ari": 1.0' "$work/compare.json" || fail "compare of a map with itself: ari != 1"
if "$exe" compare "$work/good/labels.npy" "$work/nope.npy" 2>/dev/null; then fail "compare of a missing file exited 0"; fi
echo "cli_cluster_test: OK"
