#!/usr/bin/env bash
# Runs the whole DeepSharp test suite and prints "N passed, N failed, N skipped" as the last line (docs/testing.md).
# Exits non-zero when a test failed or the build or test run failed; skipped tests (with their reasons, listed above the
# last line) do not fail the run.
set -uo pipefail
cd "$(dirname "$0")"
./tools/ensure-datasets.sh
results=$(mktemp -d)
dotnet test DeepSharp.sln -c Release --logger "trx" --results-directory "$results" "$@"
status=$?
passed=0; failed=0; skipped=0
for f in "$results"/*.trx; do
  [ -f "$f" ] || continue
  p=$(grep -o 'passed="[0-9]*"' "$f" | head -1 | grep -o '[0-9]*'); passed=$((passed + ${p:-0}))
  x=$(grep -o 'failed="[0-9]*"' "$f" | head -1 | grep -o '[0-9]*'); failed=$((failed + ${x:-0}))
  # xunit reports a skipped test as a result with outcome NotExecuted and the reason as its message (the Counters
  # element leaves notExecuted at 0); list each with its reason, then count them
  s=$(grep -c '<UnitTestResult [^>]*outcome="NotExecuted"' "$f"); skipped=$((skipped + s))
  tr '\n' ' ' < "$f" | grep -o '<UnitTestResult [^>]*outcome="NotExecuted"[^>]*>[^<]*<Output>[^<]*<ErrorInfo>[^<]*<Message>[^<]*' \
    | sed 's/.*testName="\([^"]*\)".*<Message>\(.*\)/skipped: \1: \2/; s/&quot;/"/g; s/&lt;/</g; s/&gt;/>/g; s/&amp;/\&/g'
done
rm -rf "$results"
if [ $status -ne 0 ] && [ $failed -eq 0 ]; then failed=1; echo "the build or the test run failed"; fi
echo "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ]
