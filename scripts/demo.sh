#!/usr/bin/env bash
# Runs Switchboard end to end on local defaults: installs what is missing, builds, starts a
# throwaway redis-server on 127.0.0.1:6399 (AOF on, noeviction), enqueues diagnostic jobs
# (successes, slow ones, retried failures and a permanent failure), runs a consumer with metrics on
# :9090, shows the queues every second until the work is done, shows the dead letter with the
# operator's CLI, then stops it all with SIGTERM.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/install-deps.sh
swift build -c release
bin=.build/release/switchboard
port=${DEMO_REDIS_PORT:-6399}
data=$(mktemp -d)
export REDIS_URL="redis://127.0.0.1:$port"
consumer_pid=""
cleanup() {
  [[ -n "$consumer_pid" ]] && kill -TERM "$consumer_pid" 2>/dev/null && wait "$consumer_pid" 2>/dev/null || true
  redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  rm -rf "$data"
}
trap cleanup EXIT
redis-server --port "$port" --bind 127.0.0.1 --dir "$data" --appendonly yes --maxmemory-policy noeviction \
  --save '' --daemonize yes --logfile "$data/redis.log"
for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done

echo "== enqueue"
$bin enqueue --kind noop --count 2000
$bin enqueue --kind sleep --payload '{"ms": 300}' --count 40
$bin enqueue --kind fail --payload '{"times": 2}' --count 5
$bin enqueue --kind fail --payload '{"permanent": true}'

echo "== consumer (metrics on http://127.0.0.1:9090/metrics)"
$bin consumer --concurrency 16 --metrics-port 9090 &
consumer_pid=$!
for _ in $(seq 60); do
  sleep 1
  $bin queues
  json=$($bin queues --json)
  grep -qE '"(length|delayed)" : [1-9]' <<<"$json" || break
done
echo "== metrics"
curl -fsS http://127.0.0.1:9090/metrics | grep '^switchboard_jobs_total' || true
echo "== dead letters (the permanent failure): switchboard dead list, then dead show"
$bin dead list
$bin dead show "$($bin dead list --json | head -1 | sed -E 's/.*"id":"([^"]+)".*/\1/')"
echo "(fix the cause, then: switchboard dead retry ID, or dead drop ID)"
