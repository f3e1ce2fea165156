#!/bin/sh
# `npm test` after tsc: both halves at once. The simulated half keeps both cores busy on its own, the
# real half mostly waits on Asterisk's media (its CPU sat 60-75 % idle in a run of its own), so side by
# side they take about as long as the longer one instead of the sum. The sim half prints as it goes;
# the real half's output is kept in a file and printed when both are done. Fails if either fails.
# Each half has its own redis-server and run folder (tests/support/global-setup.ts); the prompts both
# play are built once here first, so the two set-ups never write the same files.
set -u
npx tsx prompts/build.ts >/dev/null || exit 1
real_log=$(mktemp "${TMPDIR:-/tmp}/hotline-test-real.XXXXXX")
trap 'rm -f "$real_log"' EXIT
sh tests/run-real.sh "$@" >"$real_log" 2>&1 &
real_pid=$!
npx vitest run "$@"
sim=$?
wait "$real_pid"
real=$?
echo
echo "==================== real Asterisk half (tests/run-real.sh) ===================="
cat "$real_log"
echo "test halves: simulated PBX exit $sim, real Asterisk exit $real"
[ "$sim" -eq 0 ] && [ "$real" -eq 0 ]
