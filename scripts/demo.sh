#!/usr/bin/env bash
# The main job: install what is missing, build, start the embedded dev stack and show its status.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
bash scripts/install-deps.sh
swift build
.build/debug/empmon dev up
.build/debug/empmon dev status
echo
echo "Stop the stack with: .build/debug/empmon dev down"
