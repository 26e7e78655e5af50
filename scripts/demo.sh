#!/usr/bin/env bash
# Runs Switchboard end to end on local defaults: installs what is missing, builds, starts a
# throwaway redis-server on 127.0.0.1:6399 (AOF on, noeviction), enqueues diagnostic jobs
# (successes, slow ones, retried failures and a permanent failure), runs a consumer with metrics on
# :9090, shows the queues every second until the work is done, shows the dead letter with the
# operator's CLI; then runs the producer on :8080 and sends it webhooks and a voice upload as the
# senders would (a replay and a forgery among them), shows its answers and the queues they filled,
# and stops it all with SIGTERM; last, runs every flow (chat, voice, call, booking) end to end
# against local stand-ins of the external services (flowbench) and prints their latencies.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/install-deps.sh
swift build -c release
bin=.build/release/switchboard
port=${DEMO_REDIS_PORT:-6399}
data=$(mktemp -d)
export REDIS_URL="redis://127.0.0.1:$port"
consumer_pid=""
producer_pid=""
cleanup() {
  [[ -n "$producer_pid" ]] && kill -TERM "$producer_pid" 2>/dev/null && wait "$producer_pid" 2>/dev/null || true
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

echo "== producer on http://127.0.0.1:8080 (webhooks and voice uploads onto the streams)"
export AIRCALL_WEBHOOK_TOKEN=demo-aircall-token GUESTY_WEBHOOK_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
export VOICE_UPLOAD_TOKEN=demo-voice-token BLOB_STORE="$data/blobs"
$bin producer --host 127.0.0.1 --port 8080 2> "$data/producer.log" &
producer_pid=$!
for _ in $(seq 50); do curl -fs http://127.0.0.1:8080/healthz >/dev/null && break; sleep 0.1; done
post() { # title, then curl arguments
  local title=$1; shift
  printf '%-44s -> ' "$title"
  curl -s -w ' (HTTP %{http_code})\n' "$@"
}
call='{"resource":"call","event":"call.ended","timestamp":1732622896,"token":"demo-aircall-token",
  "data":{"id":812,"direction":"inbound","raw_digits":"+33 6 12 34 56 78","recording":"https://example.com/812.mp3"}}'
post "Aircall call.ended with a recording" -H 'Content-Type: application/json' -d "$call" http://127.0.0.1:8080/webhooks/aircall
post "the same delivery again (Aircall retries)" -H 'Content-Type: application/json' -d "$call" http://127.0.0.1:8080/webhooks/aircall
post "a forged one (wrong token)" -H 'Content-Type: application/json' -d "${call/demo-aircall-token/guess}" http://127.0.0.1:8080/webhooks/aircall
message='{"event":"message_created","id":118,"content":"Is the pool heated?","message_type":"incoming","private":false,
  "sender":{"id":14,"type":"contact"},"account":{"id":1},"conversation":{"id":10}}'
post "Chatwoot: a guest's message" -H 'Content-Type: application/json' -d "$message" http://127.0.0.1:8080/webhooks/chatwoot \
  | tee "$data/message.json"
post "Chatwoot: our own bot's reply" -H 'Content-Type: application/json' \
  -d "${message/\"incoming\"/\"outgoing\"}" http://127.0.0.1:8080/webhooks/chatwoot
booking='{"event":"reservation.new","reservation":{"_id":"62a08097b8a1ab0037fd3feb","status":"confirmed","checkIn":"2026-12-01"}}'
signature=$(python3 -c 'import base64, hmac, hashlib, sys, time
key = base64.b64decode(sys.argv[1][6:]); ts = str(int(time.time()))
print(ts, base64.b64encode(hmac.new(key, f"msg_demo.{ts}.{sys.argv[2]}".encode(), hashlib.sha256).digest()).decode())' \
  "$GUESTY_WEBHOOK_SECRET" "$booking")
post "Guesty reservation.new, signed by Svix" -H 'Content-Type: application/json' -H 'svix-id: msg_demo' \
  -H "svix-timestamp: ${signature% *}" -H "svix-signature: v1,${signature#* }" -d "$booking" http://127.0.0.1:8080/webhooks/guesty
head -c 20000 /dev/urandom > "$data/voice.ogg"
post "a voice upload (bearer token)" -H "Authorization: Bearer $VOICE_UPLOAD_TOKEN" -H 'Content-Type: audio/ogg' \
  --data-binary @"$data/voice.ogg" 'http://127.0.0.1:8080/voice?account_id=1&conversation_id=10'
echo "== the queues the producer filled (no consumer of the flows runs here: no providers are configured)"
$bin queues
echo "== the guest's message by its flow id (the producer's answer): switchboard trace"
$bin trace "$(sed -E 's/.*"flow_id":"([^"]+)".*/\1/' "$data/message.json" | head -1)"
echo "== the console, on loopback without sign-in (set CONSOLE_TOKEN or Keycloak's CONSOLE_OIDC_* to serve it further)"
$bin console --port 8081 2> "$data/console.log" &
console_pid=$!
for _ in $(seq 50); do curl -fs http://127.0.0.1:8081/healthz >/dev/null && break; sleep 0.1; done
curl -fsS http://127.0.0.1:8081/ | grep -oE 'data-queue="[^"]+"' | sed 's/^/  console overview row: /' || true
kill -TERM "$console_pid"; wait "$console_pid" 2>/dev/null || true
echo "== producer log (request id, job id, why a delivery was refused; never a secret)"
cat "$data/producer.log"
echo "== producer metrics"
curl -fsS http://127.0.0.1:8080/metrics | grep '^switchboard_ingress_total' || true
kill -TERM "$producer_pid"; wait "$producer_pid" 2>/dev/null || true
producer_pid=""

echo "== every flow end to end against local stand-ins of the services (Chatwoot, the chat model,"
echo "   embeddings, Qdrant, Azure Speech, Aircall's recordings): webhook -> producer -> Redis -> consumer -> Chatwoot"
.build/release/flowbench --runs 20 2>/dev/null | grep -v '^20[0-9][0-9]-'
