#!/usr/bin/env bash
# Kept for old instructions: the sanitizer steps live in scripts/test-sanitizers.sh.
#   bash scripts/sanitize.sh [asan|tsan] [suite ...]
set -euo pipefail
kind="${1:-asan}"
shift || true
if [ $# -gt 0 ]; then
  exec bash "$(dirname "$0")/test-sanitizers.sh" "$kind" -- "$@"
fi
exec bash "$(dirname "$0")/test-sanitizers.sh" "$kind"
