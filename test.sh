#!/usr/bin/env bash
# Runs the whole DeepSharp test suite and prints "N passed, N failed" as the last line.
set -uo pipefail
cd "$(dirname "$0")"
./tools/ensure-datasets.sh
results=$(mktemp -d)
dotnet test DeepSharp.sln -c Release --logger "trx" --results-directory "$results" "$@"
status=$?
passed=0; failed=0
for f in "$results"/*.trx; do
  [ -f "$f" ] || continue
  p=$(grep -o 'passed="[0-9]*"' "$f" | head -1 | grep -o '[0-9]*'); passed=$((passed + ${p:-0}))
  x=$(grep -o 'failed="[0-9]*"' "$f" | head -1 | grep -o '[0-9]*'); failed=$((failed + ${x:-0}))
done
rm -rf "$results"
if [ $status -ne 0 ] && [ $failed -eq 0 ]; then failed=1; echo "the build or the test run failed"; fi
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
