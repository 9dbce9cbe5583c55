#!/usr/bin/env bash
# ACLs of the employment monitor's Kafka cluster. Run once per new principal with an admin client config.
# Agents may only write records (never read them) and read the city's receipts; each agent is its own SCRAM user, so a leaked credential
# is revoked alone. Which unit an agent may report for is enforced by the city side (HMAC signature and the
# agent's enrolled subtree, docs/design.md invariant 4): Kafka ACLs cannot look inside a record.
set -euo pipefail
admin=(--bootstrap-server "${KAFKA_BOOTSTRAP:-kafka-1.empmon.internal:9094}" --command-config "${ADMIN_CONFIG:-/etc/kafka/admin.properties}")
records=(empmon.person-status.records.v1 empmon.unit-activity.records.v1)

processor() {  # processor PRINCIPAL
    for topic in "${records[@]}"; do
        kafka-acls.sh "${admin[@]}" --add --allow-principal "User:$1" --operation Read --operation Describe --topic "$topic"
    done
    kafka-acls.sh "${admin[@]}" --add --allow-principal "User:$1" --operation Read --group empmon-processor
    for topic in empmon.records.dead-letter.v1 empmon.alerts.v1 empmon.submission-receipts.v1; do
        kafka-acls.sh "${admin[@]}" --add --allow-principal "User:$1" --operation Write --operation Describe --topic "$topic"
    done
    kafka-acls.sh "${admin[@]}" --add --allow-principal "User:$1" --operation IdempotentWrite --cluster
}

agent() {  # agent AGENT_ID — the principal is agent-<id>, created by scram-users.sh
    for topic in "${records[@]}"; do
        kafka-acls.sh "${admin[@]}" --add --allow-principal "User:agent-$1" --operation Write --operation Describe --topic "$topic"
    done
    kafka-acls.sh "${admin[@]}" --add --allow-principal "User:agent-$1" --operation IdempotentWrite --cluster
    # The city's receipts: an agent reads the whole topic and keeps those keyed by its id. Kafka cannot limit a
    # reader to one key; a receipt holds record ids, counts and reasons, nothing personal.
    kafka-acls.sh "${admin[@]}" --add --allow-principal "User:agent-$1" --operation Read --operation Describe --topic empmon.submission-receipts.v1
    kafka-acls.sh "${admin[@]}" --add --allow-principal "User:agent-$1" --operation Read --group "empmon-agent-receipts-$1"
}

alerts_reader() {  # alerts_reader PRINCIPAL GROUP — e.g. the operations centre's notifier
    kafka-acls.sh "${admin[@]}" --add --allow-principal "User:$1" --operation Read --operation Describe --topic empmon.alerts.v1
    kafka-acls.sh "${admin[@]}" --add --allow-principal "User:$1" --operation Read --group "$2"
}

case "${1:-}" in
    processor) processor "${2:?principal}" ;;
    agent) agent "${2:?agent id}" ;;
    alerts-reader) alerts_reader "${2:?principal}" "${3:?group}" ;;
    *) echo "usage: $0 processor PRINCIPAL | agent AGENT_ID | alerts-reader PRINCIPAL GROUP" >&2; exit 2 ;;
esac
