#!/usr/bin/env bash
# The read side (the HTTP API and the monthly report) must not depend on Kafka: it would link librdkafka, the alert
# engine's YAML and lifecycle into the API server. Reads SwiftPM's own description of the target graph, then asks
# the dynamic linker what the built API binary (empmon-api) really loads.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh
mkdir -p .build
swift package describe --type json > .build/package-description.json
python3 - .build/package-description.json <<'PY'
import json, sys
targets = {t["name"]: t for t in json.load(open(sys.argv[1]))["targets"]}
def closure(name, seen=None):
    seen = set() if seen is None else seen
    for dependency in targets.get(name, {}).get("target_dependencies", []):
        if dependency not in seen:
            seen.add(dependency)
            closure(dependency, seen)
    return seen
failed = False
for reader in ["Serve", "Reporting", "Situation", "empmon-api"]:
    forbidden = closure(reader) & {"Kafka", "CRDKafka", "Alerting", "Processor", "Agent"}
    print(f"{reader}: depends on {', '.join(sorted(closure(reader))) or 'nothing'}")
    if forbidden:
        print(f"check-module-graph: {reader} must not depend on {', '.join(sorted(forbidden))}", file=sys.stderr)
        failed = True
sys.exit(1 if failed else 0)
PY
swift build --product empmon-api > /dev/null
binary="$(swift build --show-bin-path)/empmon-api"
libraries="$(ldd "$binary")"
if grep -q rdkafka <<< "$libraries"; then
    echo "check-module-graph: $binary links librdkafka" >&2
    exit 1
fi
echo "empmon-api: $(wc -l <<< "$libraries") shared libraries, none of them librdkafka"
