#!/usr/bin/env bash
# The whole test suite, against a real PostgreSQL and librdkafka's mock cluster.
# It starts its own dev stack in .empmon-test/ and stops it afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
bash scripts/install-deps.sh
swift build --build-tests
export EMPMON_BINARY="$PWD/.build/debug/empmon"
export EMPMON_HOME="$PWD/.empmon-test"
"$EMPMON_BINARY" dev up
trap '"$EMPMON_BINARY" dev down' EXIT
"$EMPMON_BINARY" dev status
eval "$("$EMPMON_BINARY" dev env)"
export EMPMON_TEST_POSTGRES_URL="$EMPMON_POSTGRES_URL"
swift test --skip-build "$@"
