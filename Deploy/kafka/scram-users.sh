#!/usr/bin/env bash
# Creates a SCRAM-SHA-512 user (processor, API or agent-<id>); the password comes from stdin, never the command line.
set -euo pipefail
user="${1:?usage: $0 USER < password-file}"
read -r password
kafka-configs.sh --bootstrap-server "${KAFKA_BOOTSTRAP:-kafka-1.empmon.internal:9094}" --command-config "${ADMIN_CONFIG:-/etc/kafka/admin.properties}" \
    --alter --add-config "SCRAM-SHA-512=[iterations=8192,password=${password}]" --entity-type users --entity-name "$user"
