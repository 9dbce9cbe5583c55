#!/usr/bin/env bash
# The main job: install what is missing, build, start the embedded dev stack, then run the demo: a year of the
# city through county agents, Kafka and the processor into PostgreSQL, verified, and the situation printed.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
bash scripts/install-deps.sh
swift build
.build/debug/empmon dev up
.build/debug/empmon dev status
echo
.build/debug/empmon demo "$@"
echo
echo "Stop the stack with: .build/debug/empmon dev down"
