#!/usr/bin/env bash
# The whole test suite, against a real PostgreSQL and librdkafka's mock cluster.
# It starts its own dev stack in .empmon-test/ and stops it afterwards.
# `--fast` runs only the test targets that need no service (no stack, no broker), less the year of incomplete months
# simulated for the estimate (2 minutes alone): under 2 minutes after a build.
set -euo pipefail
fast=false
if [[ "${1:-}" == "--fast" ]]; then
    fast=true
    shift
fi
cd "$(dirname "$0")/.."
source scripts/env.sh
$fast || bash scripts/install-deps.sh
# Test tools from PyPI, in a virtualenv under the build folder: openpyxl writes spreadsheets as Excel does,
# Playwright drives the system's Chromium through the agent's page, schemathesis tests the API's contract.
venv="$PWD/.build/test-venv"
if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/python" -c "import openpyxl, playwright, schemathesis" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q --disable-pip-version-check openpyxl==3.1.5 playwright==1.65.2 schemathesis==4.32.5
fi
export EMPMON_TEST_PYTHON="$venv/bin/python"
swift build --build-tests
export EMPMON_BINARY="$PWD/.build/debug/empmon"
if $fast; then
    exec swift test --skip-build \
        --filter '^(DomainTests|LedgerTests|SimulatorTests|AgentTests|AnalysisTests|AlertingTests|ServeTests|FuzzRegressionTests)\.' \
        --skip 'IncompleteMonthTests' "$@"
fi
export EMPMON_HOME="$PWD/.empmon-test"
"$EMPMON_BINARY" dev up --secure
trap '"$EMPMON_BINARY" dev down' EXIT
"$EMPMON_BINARY" dev status
eval "$("$EMPMON_BINARY" dev env)"
export EMPMON_TEST_POSTGRES_URL="$EMPMON_POSTGRES_URL"
swift test --skip-build "$@"
