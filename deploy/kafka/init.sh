#!/bin/sh
# One-shot set-up of the compose Kafka (the kafka-init service), as the broker's super user
# `admin` on its internal listener: the topics, one SCRAM-SHA-512 user per service, and the
# ACLs of deploy/kafka/acls.txt. Every step is idempotent, so it runs on every `up`.
# Passwords come from the environment and are never printed.
set -eu

BIN=/opt/kafka/bin
BOOTSTRAP=kafka:19092
ADMIN_CONFIG=$(mktemp)
trap 'rm -f "$ADMIN_CONFIG"' EXIT
cat > "$ADMIN_CONFIG" <<PROPERTIES
security.protocol=SASL_PLAINTEXT
sasl.mechanism=PLAIN
sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="$CROSSLEAD_KAFKA_ADMIN_PASSWORD";
PROPERTIES

for topic in crosslead.partners crosslead.leads crosslead.conversions crosslead.commissions; do
  for name in "$topic" "$topic.dlq"; do
    "$BIN/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP" --command-config "$ADMIN_CONFIG" \
      --create --if-not-exists --topic "$name" \
      --partitions "${CROSSLEAD_KAFKA_TOPIC_PARTITIONS:-6}" --replication-factor 1
  done
done

scram_user() {  # <user> <password>
  "$BIN/kafka-configs.sh" --bootstrap-server "$BOOTSTRAP" --command-config "$ADMIN_CONFIG" \
    --alter --entity-type users --entity-name "$1" \
    --add-config "SCRAM-SHA-512=[iterations=8192,password=$2]" > /dev/null
  echo "SCRAM-SHA-512 user $1 set"
}
scram_user intake "$CROSSLEAD_KAFKA_INTAKE_PASSWORD"
scram_user router "$CROSSLEAD_KAFKA_ROUTER_PASSWORD"
scram_user payouts "$CROSSLEAD_KAFKA_PAYOUTS_PASSWORD"

grep -v -e '^#' -e '^[[:space:]]*$' /etc/crosslead/kafka/acls.txt |
while read -r user operation resource name pattern; do
  "$BIN/kafka-acls.sh" --bootstrap-server "$BOOTSTRAP" --command-config "$ADMIN_CONFIG" \
    --add --allow-principal "User:$user" --operation "$operation" \
    "--$resource" "$name" --resource-pattern-type "${pattern:-literal}" > /dev/null
  echo "allowed User:$user $operation on $resource $name (${pattern:-literal})"
done
