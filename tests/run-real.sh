#!/bin/sh
# The real half of `npm test`: the integration and e2e suites against throwaway real Asterisk
# instances that the test set-up starts (tests/support/asterisk.ts). On a machine without
# Asterisk 22 this half is skipped with one line - except in CI, where that is a failure.
set -eu
if ! /usr/sbin/asterisk -V 2>/dev/null | grep -q '^Asterisk 22\.'; then
  if [ "${CI:-}" = "true" ]; then
    echo "test:real: Asterisk 22 is not installed (CI must install it: sh ../shared/asterisk/install.sh)" >&2
    exit 1
  fi
  echo "test:real: SKIPPED - Asterisk 22 is not installed; install it with 'sh ../shared/asterisk/install.sh' and run 'npm test' again"
  exit 0
fi
# Four workers, not the sim half's six: with six Asterisks beside them the real half kept both cores busy
# (1.94 of 2 on average, measured), and under that load a child server took over 40 s to start and a
# peer's adoption missed its 20 s (cluster-takeover; each passes alone).
export HOTLINE_TEST_WORKERS="${HOTLINE_TEST_WORKERS:-4}"
HOTLINE_TEST_PBX=real exec npx vitest run "$@"
