#!/usr/bin/env bash
# Bring up the integration-test services (PostgreSQL, Kafka KRaft; promtool and
# prometheus installed for the monitoring tests) and write
# tests/infra/.env, which tests/run.mjs loads. Idempotent and quick to re-run.
#
#   bash tests/infra/up.sh          both services
#   bash tests/infra/up.sh down     stop both
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ENV_FILE="$HERE/.env"

if [[ "${1:-up}" == down ]]; then
  bash "$HERE/kafka.sh" stop
  bash "$HERE/postgres.sh" stop
  rm -f "$ENV_FILE"
  exit 0
fi

started=$SECONDS
# The two start-ups are independent; run them side by side (Kafka's JVM start
# dominates) and fail if either fails.
pg_out="$(mktemp)"; kafka_out="$(mktemp)"
trap 'rm -f "$pg_out" "$kafka_out"' EXIT
bash "$HERE/postgres.sh" start >"$pg_out" & pg_pid=$!
# A broker that is not running is started on an empty log: topics left by earlier
# runs are useless to tests and every partition slows the broker's start-up.
# OUTERLOOP_KAFKA_KEEP_DATA=1 keeps them.
if [[ "${OUTERLOOP_KAFKA_KEEP_DATA:-0}" != 1 ]] && ! bash "$HERE/kafka.sh" status >/dev/null 2>&1; then
  bash "$HERE/kafka.sh" wipe
fi
bash "$HERE/kafka.sh" start >"$kafka_out" & kafka_pid=$!
status=0
wait "$pg_pid" || { echo "[up.sh] PostgreSQL failed to start" >&2; status=1; }
wait "$kafka_pid" || { echo "[up.sh] Kafka failed to start" >&2; status=1; }
((status == 0)) || exit 1
# promtool and prometheus for the alert-rule tests and the monitoring e2e test
bash "$HERE/prometheus.sh" >/dev/null || { echo "[up.sh] Prometheus failed to install" >&2; exit 1; }

# the browser for the web console's tests (not a service: installed once, nothing runs)
bash "$HERE/chromium.sh"

database_url="$(grep -Eo 'postgres://[^[:space:]]+' "$pg_out" | tail -n 1)"
kafka_brokers="$(grep -Eo '[0-9A-Za-z.-]+:[0-9]+' "$kafka_out" | tail -n 1)"
[[ -n "$database_url" && -n "$kafka_brokers" ]] || { echo "[up.sh] could not read the service addresses" >&2; exit 1; }
cat >"$ENV_FILE" <<ENV
# written by tests/infra/up.sh — read by tests/run.mjs
OUTERLOOP_TEST_DATABASE_URL=$database_url
OUTERLOOP_TEST_KAFKA_BROKERS=$kafka_brokers
ENV
echo "[up.sh] services up in $((SECONDS - started))s; wrote $ENV_FILE" >&2
echo "export OUTERLOOP_TEST_DATABASE_URL=$database_url"
echo "export OUTERLOOP_TEST_KAFKA_BROKERS=$kafka_brokers"
