# Sourced by scripts/test.sh, test-sanitizers.sh and fuzz.sh: run a step and
# print its wall and CPU time (children included) with the load average at
# its start, e.g.
#   timed "asan build" cmake --build build-asan -j2
#   -> [time] asan build: 812 s wall, 1534 s CPU (user+sys), load 1.9 at start
# Exit status: the step's. Set SPECTROMINE_TIMING_LOG=file to append the lines.
timed() {
  local label="$1" load t status
  shift
  load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo "?")
  t=$(mktemp)
  status=0
  /usr/bin/time -f "%e %U %S" -o "$t" "$@" || status=$?
  local line
  line=$(awk -v l="$label" -v load="$load" -v s="$status" 'END {
      printf "[time] %s: %.0f s wall, %.0f s CPU (user+sys), load %s at start%s\n",
             l, $1, $2 + $3, load, (s == 0 ? "" : ", FAILED (exit " s ")") }' "$t")
  rm -f "$t"
  echo "$line"
  [ -n "${SPECTROMINE_TIMING_LOG:-}" ] && echo "$line" >> "$SPECTROMINE_TIMING_LOG"
  return $status
}

# The n heaviest translation units of a compile log (user CPU seconds).
heaviest_units() {
  [ -s "$1" ] || return 0
  echo "heaviest translation units ($1, user CPU s, wall s):"
  sort -k1,1 -g -r "$1" | head -n "${2:-10}" | awk '{ printf "  %7.1f %7.1f  %s\n", $1, $3, $4 }'
  awk '{ u += $1 } END { printf "  total compile+link CPU: %.0f s over %d steps\n", u, NR }' "$1"
}
