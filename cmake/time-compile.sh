#!/bin/sh
# Compiler launcher that logs the CPU and wall time of every compile/link:
#   cmake -DCMAKE_CXX_COMPILER_LAUNCHER="/abs/cmake/time-compile.sh;/abs/log" ...
# Each line of the log: user_s system_s wall_s output_file
# (scripts/test-sanitizers.sh uses it to report the heaviest translation units).
log="$1"
shift
out=unknown
prev=
for a in "$@"; do
  [ "$prev" = "-o" ] && out="$a"
  prev="$a"
done
exec /usr/bin/time -a -o "$log" -f "%U %S %e $out" "$@"
