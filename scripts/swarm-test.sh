#!/usr/bin/env bash
# The stack on a real single-node Swarm, as an operator runs it (issue "On a real Swarm"):
#   1. a Docker Engine (started if none runs) that is a Swarm manager (initialised if inactive);
#   2. the image built with the project's Dockerfile, its FROM lines given base images made here
#      (scripts/swarm/base-images.sh: no registry can be reached), and the stand-ins' image;
#   3. stack.yml deployed as docs/deploying.md says, with Tests/Swarm/stack.test.yml standing in only for
#      what an operator already has (Chatwoot's Redis and API, the model, embeddings, Azure, Qdrant:
#      Tests/Swarm/chatwoot.test.yml) and for this kernel's limits (no IPVS);
#   4. checks, each step timed: every service converges healthy with no task restarted; each flow
#      end to end through the deployed producer; the CLI through `docker exec`; a consumer scaled up
#      and down; `docker service update --force` and a redeploy with a new image tag while thousands
#      of jobs run, each done exactly once, nothing pending, the one intended dead letter;
#   5. the stack removed, and nothing of it left.
# Needs root. Exits non-zero naming what failed; a deploy that does not converge prints its tasks'
# errors and the services' last log lines first. Everything it made is removed on exit.
set -euo pipefail
cd "${SWITCHBOARD_ROOT:-$(dirname "${BASH_SOURCE[0]}")/..}"
root=$PWD
stack=${SWARM_TEST_STACK:-switchboard-test}
standins=${stack}-chatwoot
chatwoot_network=${stack}-chatwoot-net
traefik_network=${stack}-traefik-net
producer_port=${PRODUCER_TEST_PORT:-18080}
console_port=${CONSOLE_TEST_PORT:-18081}
report_port=${STANDINS_REPORT_PORT:-18999}
converge_bound=${SWARM_CONVERGE_SECONDS:-300}
image=switchboard-test/switchboard
ours="label=com.docker.stack.namespace=$stack"
work=$(mktemp -d)
engine_log=$work/dockerd.log
started=$(date +%s)
step_started=$started
current="starting"

step() {
  local now; now=$(date +%s)
  [ "$current" = starting ] || printf '   (%s: %d s)\n' "$current" "$((now - step_started))"
  current=$1
  step_started=$now
  echo "== $1"
}
say() { echo "   $*"; }
fail() {
  echo "swarm test FAILED at '$current': $*" >&2
  exit 1
}
# Every docker call is bounded: an Engine that stops answering fails the step instead of hanging it.
d() { timeout --kill-after=10s "${DOCKER_TIMEOUT:-120}" docker "$@"; }

secrets=(switchboard_redis_password switchboard_aircall_token switchboard_guesty_secret switchboard_chatwoot_secret
         switchboard_chatwoot_bot_secret switchboard_voice_token switchboard_embeddings_api_key switchboard_qdrant_api_key
         switchboard_groq_api_key switchboard_chatwoot_api_token switchboard_chatwoot_bot_token switchboard_azure_speech_key
         switchboard_blob_s3_secret switchboard_hcloud_token switchboard_database_url switchboard_r2_secret
         switchboard_attachments_s3_secret switchboard_console_oidc_secret switchboard_console_session_secret switchboard_console_token)
declare -A secret_value=(
  [switchboard_redis_password]=redis-swarm-test-password [switchboard_aircall_token]=aircall-swarm-token
  [switchboard_guesty_secret]=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw [switchboard_chatwoot_secret]=chatwoot-swarm-secret
  [switchboard_chatwoot_bot_secret]=chatwoot-bot-swarm-secret [switchboard_voice_token]=voice-swarm-token
  [switchboard_embeddings_api_key]=sk-embeddings [switchboard_qdrant_api_key]=qdrant-swarm-key [switchboard_groq_api_key]=gsk-model
  [switchboard_chatwoot_api_token]=cw-admin-token [switchboard_chatwoot_bot_token]=cw-bot-token [switchboard_azure_speech_key]=azure-key
  [switchboard_blob_s3_secret]=unused [switchboard_hcloud_token]=hcloud-token
  [switchboard_database_url]=postgres://chatwoot:secret@postgres:5432/chatwoot_production [switchboard_r2_secret]=r2-secret
  [switchboard_attachments_s3_secret]=s3-secret [switchboard_console_oidc_secret]=unused
  [switchboard_console_session_secret]=console-session-secret-of-32-bytes [switchboard_console_token]=console-swarm-test-token)

# What an operator would print when a deploy does not converge, then everything removed.
diagnose() {
  echo "-- tasks (docker service ps --no-trunc):" >&2
  for service in $(d service ls --filter "$ours" --format '{{.Name}}' 2>/dev/null; \
                   d service ls --filter "label=com.docker.stack.namespace=$standins" --format '{{.Name}}' 2>/dev/null); do
    d service ps --no-trunc --format '{{.Name}} {{.CurrentState}} {{.Error}}' "$service" 2>&1 | head -8 | sed 's/^/   /' >&2
    echo "-- $service, last log lines:" >&2
    d service logs --tail 15 --no-task-ids "$service" 2>&1 | tail -15 | sed 's/^/   /' >&2
  done
}
# `docker stack rm`, then a wait (bounded) for its tasks and networks to go, then its volumes, which
# a stack's removal leaves on their nodes (docs/deploying.md: removing the stack).
remove_stack() {
  local of="label=com.docker.stack.namespace=$1"
  d stack rm "$1" >/dev/null 2>&1 || true
  for _ in $(seq 120); do
    [ -z "$(d ps -aq --filter "$of" 2>/dev/null)$(d network ls -q --filter "$of" 2>/dev/null)" ] && break
    sleep 1
  done
  d volume ls -q --filter "$of" 2>/dev/null | xargs -r docker volume rm >/dev/null 2>&1 || true
}
remove_everything() {
  remove_stack "$stack"
  remove_stack "$standins"
  d network rm "$chatwoot_network" "$traefik_network" >/dev/null 2>&1 || true
  for secret in "${secrets[@]}"; do d secret rm "$secret" >/dev/null 2>&1 || true; done
}
finish() {
  status=$?
  if [ "$status" -ne 0 ] && [ "${engine_ok:-no}" = yes ]; then diagnose; fi
  if [ "${engine_ok:-no}" = yes ] && [ -z "${SWARM_TEST_KEEP:-}" ]; then remove_everything; fi
  # An Engine this test started is stopped again (its Swarm, images and cache stay on disk).
  if [ -n "${engine_pid:-}" ] && [ -z "${SWARM_TEST_KEEP:-}" ]; then
    kill -TERM "$engine_pid" 2>/dev/null || true
    for _ in $(seq 30); do kill -0 "$engine_pid" 2>/dev/null || break; sleep 1; done
  fi
  rm -rf "$work"
  [ "$status" -eq 0 ] && step done
  echo "swarm test: $([ "$status" -eq 0 ] && echo passed || echo failed) in $(( $(date +%s) - started )) s"
}
trap finish EXIT
trap 'echo "swarm test: at line $LINENO, this failed: $BASH_COMMAND" >&2' ERR

step "Docker Engine"
[ "$(id -u)" -eq 0 ] || fail "needs root (dockerd, debootstrap)"
need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v debootstrap >/dev/null || need+=(debootstrap)
command -v iptables >/dev/null || need+=(iptables)
if ((${#need[@]})); then
  say "installing: ${need[*]}"
  apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi
if ! timeout 20 docker info >/dev/null 2>&1; then
  if pgrep -x dockerd >/dev/null; then
    fail "dockerd runs but does not answer on $(docker context inspect --format '{{.Endpoints.docker.Host}}' 2>/dev/null || echo its socket): $(timeout 20 docker info 2>&1 | tail -2)"
  fi
  engine_log=/var/log/switchboard-swarm-test-dockerd.log
  say "no Engine answers; starting dockerd (log: $engine_log), stopped again at the end"
  dockerd </dev/null >"$engine_log" 2>&1 &
  engine_pid=$!
  for _ in $(seq 60); do timeout 5 docker info >/dev/null 2>&1 && break; sleep 1; done
  timeout 20 docker info >/dev/null 2>&1 || fail "dockerd did not answer within 60 s; its last lines: $(tail -5 "$engine_log")"
fi
engine_ok=yes
say "Engine $(d version --format '{{.Server.Version}}'), storage driver $(d info --format '{{.Driver}}')"
# An Engine that was a manager before its restart takes a moment to rejoin its own Swarm.
for _ in $(seq 60); do
  state=$(d info --format '{{.Swarm.LocalNodeState}}')
  [ "$state" != pending ] && { [ "$state" != active ] || [ "$(d info --format '{{.Swarm.ControlAvailable}}')" = true ]; } && break
  sleep 1
done
case "$state" in
  inactive)
    d swarm init --advertise-addr 127.0.0.1 >/dev/null || fail "docker swarm init failed"
    say "initialised a single-node Swarm" ;;
  active)
    [ "$(d info --format '{{.Swarm.ControlAvailable}}')" = true ] || fail "this Engine is in a Swarm but not a manager: run the test on a manager" ;;
  *) fail "this Engine's Swarm is '$state' (pending, error or locked): $(d info --format '{{.Swarm.Error}}')" ;;
esac
node=$(d info --format '{{.Swarm.NodeID}}')
# Whatever a run that was stopped left behind.
remove_everything

for port in "$producer_port" "$console_port" "$report_port"; do
  if ss -Hltn "sport = :$port" | grep -q .; then
    fail "port $port is taken on this host (the test publishes the producer, the console and the stand-ins' report there): free it, or set PRODUCER_TEST_PORT, CONSOLE_TEST_PORT, STANDINS_REPORT_PORT"
  fi
done

step "images"
read -r run_base swift_base < <(bash scripts/swarm/base-images.sh | tail -1)
say "bases: $run_base (run stage), $swift_base (build stage)"
# The project's Dockerfile as it is; Debian 12 has PostgreSQL 15's client (the PostgreSQL project's
# repository is out of reach here).
# A release build from clean takes ten minutes and more on two cores: its own, longer bound.
DOCKER_TIMEOUT=3600 d build --build-arg "SWIFT_IMAGE=$swift_base" --build-arg "RUN_IMAGE=$run_base" --build-arg PG_CLIENT_MAJOR=15 \
  -t "$image:1" . >"$work/build.log" 2>&1 || { tail -30 "$work/build.log"; fail "docker build of the Dockerfile failed"; }
d tag "$image:1" "$image:2"
say "$image:1 ($(d image inspect --format '{{.Size}}' "$image:1" | awk '{ printf "%.0f MB", $1 / 1e6 }')), tagged again as :2 for the redeploy"
# The stand-ins: built with the suite's own configuration (scripts/test.sh), so nothing is rebuilt.
swift build -c release -Xswiftc -enable-testing --product standins >"$work/standins-build.log" 2>&1 \
  || { tail -30 "$work/standins-build.log"; fail "swift build --product standins failed"; }
context=$work/standins
mkdir -p "$context/swift-runtime"
bin=$(swift build -c release -Xswiftc -enable-testing --show-bin-path)/standins
cp "$bin" "$context/standins"
ldd "$bin" | awk '$3 ~ /^\// { print $3 }' | grep -F "$(dirname "$(dirname "$(readlink -f "$(command -v swift)")")")" \
  | xargs -r -I{} cp -L {} "$context/swift-runtime/"
cp Tests/Swarm/StandIns.Dockerfile "$context/Dockerfile"
DOCKER_TIMEOUT=1200 d build --build-arg "RUN_IMAGE=$run_base" -t switchboard-test/standins:1 "$context" >"$work/standins.log" 2>&1 \
  || { tail -30 "$work/standins.log"; fail "docker build of the stand-ins failed"; }

step "secrets, networks, Chatwoot's stand-ins"
for secret in "${secrets[@]}"; do printf '%s' "${secret_value[$secret]}" | d secret create "$secret" - >/dev/null; done
d network create --driver overlay "$chatwoot_network" >/dev/null
d network create --driver overlay "$traefik_network" >/dev/null
# docs/deploying.md, step 5: Qdrant's node is labelled.
d node update --label-add switchboard.qdrant=true "$node" >/dev/null
export STANDINS_IMAGE=switchboard-test/standins:1 CHATWOOT_NETWORK=$chatwoot_network STANDINS_REPORT_PORT=$report_port
d stack deploy --resolve-image never -c Tests/Swarm/chatwoot.test.yml "$standins" >/dev/null
report() { curl -fsS --max-time 5 "http://127.0.0.1:$report_port/report"; }
for _ in $(seq 120); do report >/dev/null 2>&1 && break; sleep 1; done
report >/dev/null || fail "the stand-ins did not answer on :$report_port within 120 s"

# docs/deploying.md's step 6, word for word but for the values: a node-local blob folder (so no BLOB_S3_*),
# the console by token alone (no Keycloak), and an image from no registry (--resolve-image never
# instead of --with-registry-auth).
# Further compose files after the image, as `-c` each (the autoscaling step's).
deploy() {
  local image=$1 extra=() file; shift
  for file in "$@"; do extra+=(-c "$file"); done
  SWITCHBOARD_IMAGE=$image SWITCHBOARD_STACK=$stack AUTOSCALE_COOLDOWN=${AUTOSCALE_COOLDOWN:-30m} \
  REPLICAS_AUTOSCALE=${REPLICAS_AUTOSCALE:-1} SWITCHBOARD_HOST=hooks.example.test CHATWOOT_NETWORK=$chatwoot_network TRAEFIK_NETWORK=$traefik_network \
  CHATWOOT_ACCOUNT_ID=1 SCHEDULE_VERSION=swarm-test BLOB_STORE=file:///var/lib/switchboard/blobs \
  TRIAGE_TEAMS=inquiry=2,pre-stay=3,during-stay=4,post-stay=5 \
  BACKUP_SERVER_SELECTOR=role=chatwoot R2_ENDPOINT=http://r2.invalid R2_BUCKET=backups R2_ACCESS_KEY_ID=key \
  ATTACHMENTS_S3_ENDPOINT=http://s3.invalid ATTACHMENTS_S3_BUCKET=storage ATTACHMENTS_S3_ACCESS_KEY_ID=key \
  SWITCHBOARD_CONSOLE_HOST=console.example.test EMBEDDINGS_URL=http://rails:8001/v1 \
  REPLICAS_PRODUCER=1 REPLICAS_DIAGNOSTICS=${REPLICAS_DIAGNOSTICS:-1} \
  PRODUCER_TEST_PORT=$producer_port CONSOLE_TEST_PORT=$console_port STANDINS_IMAGE=switchboard-test/standins:1 \
  SWARM_TEST_SCHEDULE=$root/Tests/Swarm/schedule.test.json \
    d stack deploy --resolve-image never -c stack.yml -c Tests/Swarm/stack.test.yml "${extra[@]}" "$stack"
}

stack_services() { d service ls --filter "$ours" --format '{{.Name}}'; }
# Each service's update state (`updating`, `paused`, `rollback_…`, or none) and Swarm's message.
update_states() {
  stack_services | xargs -r -n1 docker service inspect --format '{{.Spec.Name}} {{if .UpdateStatus}}{{.UpdateStatus.State}} {{.UpdateStatus.Message}}{{end}}'
}

# Every service at its count, each task running and healthy (or without a health check).
converged() {
  local line name want have
  while read -r name line; do
    have=${line%%/*}; want=${line#*/}; want=${want%% *}
    [ "$have" = "$want" ] || return 1
  done < <(d service ls --filter "$ours" --format '{{.Name}} {{.Replicas}}')
  for container in $(d ps -q --filter "$ours"); do
    case "$(d inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$container")" in
      healthy|none) ;;
      *) return 1 ;;
    esac
  done
  # And no task of an older spec still running (an update that has not finished).
  ! update_states | awk '$2 == "updating"' | grep -q .
}
await_convergence() {
  local bound=$1 began rolled; began=$(date +%s)
  until converged; do
    (( $(date +%s) - began < bound )) || fail "the stack did not converge within $bound s"
    # An update Swarm paused or rolled back will not converge on what was asked: say so at once.
    rolled=$(update_states | awk '$2 == "paused" || $2 ~ /^rollback_/' | tr '\n' ';')
    [ -z "$rolled" ] || fail "an update did not go through: $rolled"
    sleep 2
  done
}

step "deploy"
deploy "$image:1" >/dev/null
services=$(stack_services | wc -l)
[ "$services" -eq 14 ] || fail "the stack has $services services, not 14"
await_convergence "$converge_bound"
say "14 services converged, every task healthy"
# No task restarted: each service has exactly as many tasks as replicas, none failed or shut down.
# A task the engine could not start ("starting container failed: …") never ran our process: the
# Engine's own intermittent failure to remount a container's secrets read-only (moby/moby#48783,
# "device or resource busy", seen once on a loaded CI machine) is not a crash of ours. Such a task
# is said and not counted; the stack converged all the same, so its replacement runs and is healthy.
for service in $(stack_services); do
  tasks=$(d service ps -q "$service" | wc -l)
  want=$(d service inspect --format '{{.Spec.Mode.Replicated.Replicas}}' "$service")
  unstarted=$(d service ps --no-trunc --format '{{.Error}}' "$service" | grep -c '^starting container failed:' || true)
  [ "$unstarted" -eq 0 ] || say "$service: $unstarted task(s) the Engine could not start, replaced: $(d service ps --no-trunc --format '{{.Error}}' "$service" | grep '^starting container failed:' | head -1)"
  [ $((tasks - unstarted)) -eq "$want" ] || fail "$service has $tasks tasks for $want replicas: a task restarted ($(d service ps --no-trunc --format '{{.CurrentState}} {{.Error}}' "$service" | head -3 | tr '\n' ';'))"
done
say "no task restarted"
# The durability each role says at start is the documented cost, not an alarm.
for service in $(stack_services); do
  if [ "$(d service logs --no-task-ids "$service" 2>&1 | grep -c 'critical.*Redis durability' || true)" -gt 0 ]; then
    fail "$service logs durability as critical under the Redis settings of docs/deploying.md"
  fi
done

# The CLI: one command, in any task that has Redis's settings (docs/deploying.md: "The CLI on Swarm").
cli_in() {
  local service=$1 container; shift
  container=$(d ps -q --filter "label=com.docker.swarm.service.name=${stack}_$service" | head -1)
  [ -n "$container" ] || fail "no running $service task to run the CLI in"
  d exec "$container" switchboard "$@"
}
cli() { cli_in diagnostics "$@"; }
redis_cli() {
  local container
  container=$(d ps -q --filter "label=com.docker.swarm.service.name=${standins}_redis" | head -1)
  d exec "$container" redis-cli --no-auth-warning -a "${secret_value[switchboard_redis_password]}" "$@"
}

step "each flow through the deployed producer"
python3 - "$producer_port" "$report_port" "${secret_value[switchboard_chatwoot_secret]}" "${secret_value[switchboard_guesty_secret]}" \
  "${secret_value[switchboard_aircall_token]}" "${secret_value[switchboard_voice_token]}" <<'PYTHON' || fail "a flow did not finish"
import base64, hashlib, hmac, json, sys, time, urllib.request
producer, report, chatwoot_secret, guesty_secret, aircall_token, voice_token = sys.argv[1:]
base = f"http://127.0.0.1:{producer}"

def post(path, body, headers):
    request = urllib.request.Request(base + path, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            status, text = reply.status, reply.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    if status != 202:
        sys.exit(f"{path} answered {status}: {text}")

def seen():
    with urllib.request.urlopen(f"http://127.0.0.1:{report}/report", timeout=5) as reply:
        return json.load(reply)

def await_request(flow, matches, bound=120):
    before = sum(1 for request in seen()["requests"]["chatwoot"] if matches(request))
    return lambda: wait(flow, matches, before, bound)

def wait(flow, matches, before, bound):
    began = time.monotonic()
    while time.monotonic() - began < bound:
        requests = seen()["requests"]["chatwoot"]
        if sum(1 for request in requests if matches(request)) > before:
            print(f"   {flow}: done in {time.monotonic() - began:.1f} s")
            return
        time.sleep(0.2)
    sys.exit(f"{flow} did not reach Chatwoot within {bound} s; Chatwoot saw: {requests}")

is_message = lambda request: request.startswith("POST ") and request.endswith("/messages")
now = str(int(time.time()))

done = await_request("chat", is_message)
body = json.dumps({"event": "message_created", "id": 9_000_001, "content": "When is breakfast?", "message_type": "incoming",
                   "private": False, "sender": {"id": 7, "type": "contact"}, "account": {"id": 1}, "conversation": {"id": 51}}).encode()
signature = hmac.new(chatwoot_secret.encode(), now.encode() + b"." + body, hashlib.sha256).hexdigest()
post("/webhooks/chatwoot", body, {"Content-Type": "application/json", "X-Chatwoot-Timestamp": now, "X-Chatwoot-Signature": "sha256=" + signature})
done()

done = await_request("voice", is_message)
audio = b"OggS" + bytes([0, 2]) + bytes(22) + b"OpusHead" + bytes(16_000)
post("/voice?account_id=1&conversation_id=51", audio, {"Authorization": "Bearer " + voice_token, "Content-Type": "audio/ogg"})
done()

done = await_request("call", is_message)
body = json.dumps({"resource": "call", "event": "call.ended", "timestamp": int(now), "token": aircall_token,
                   "data": {"id": 9_000_002, "direction": "inbound", "started_at": int(now) - 100, "duration": 95,
                            "raw_digits": "+33 6 12 34 56 78", "recording": "http://rails:8004/r.mp3"}}).encode()
post("/webhooks/aircall", body, {"Content-Type": "application/json"})
done()

done = await_request("booking", lambda request: request.startswith("POST ") and request.endswith("/assignments"))
body = json.dumps({"event": "reservation.updated", "reservation": {"_id": "R-swarm", "status": "confirmed", "checkIn": "2099-03-01",
                   "checkOut": "2099-03-04", "guest": {"fullName": "Ada", "email": "ada@example.com"}}}).encode()
message_id = "msg_swarm_" + now
key = base64.b64decode(guesty_secret.removeprefix("whsec_"))
signed = base64.b64encode(hmac.new(key, f"{message_id}.{now}.".encode() + body, hashlib.sha256).digest()).decode()
post("/webhooks/guesty", body, {"Content-Type": "application/json", "svix-id": message_id, "svix-timestamp": now, "svix-signature": "v1," + signed})
done()

posted = seen()["posted"]
answers = [post for post in posted if not post["private"]]
if not any("Breakfast" in post["content"] for post in answers):
    sys.exit(f"no answer from the model reached the guest: {posted}")
if not any(post["multipart"] for post in answers):
    sys.exit(f"no spoken answer was attached: {posted}")
if not any(post["private"] and "arrive early" in post["content"] for post in posted):
    sys.exit(f"no private note with the call's transcript: {posted}")
PYTHON

step "the CLI and the console on Swarm"
cli queues >"$work/queues.txt" || fail "switchboard queues through docker exec failed"
grep -q diagnostics "$work/queues.txt" || fail "switchboard queues lists no diagnostics queue: $(cat "$work/queues.txt")"
say "docker exec <a diagnostics task> switchboard queues: $(wc -l <"$work/queues.txt") lines"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer ${secret_value[switchboard_console_token]}" "http://127.0.0.1:$console_port/")
[ "$code" = 200 ] || fail "the console answered $code to its token from the secret"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer not-the-token-at-all" "http://127.0.0.1:$console_port/")
[ "$code" != 200 ] || fail "the console let a wrong token in"
say "the console takes CONSOLE_TOKEN from its secret and refuses another"
# The scheduler's leader fires the test schedule's job every minute; one of two replicas leads.
cli_in scheduler schedules >"$work/schedules.txt" 2>&1 || fail "switchboard schedules failed: $(cat "$work/schedules.txt")"
grep -q swarm-test-heartbeat "$work/schedules.txt" || fail "the deployed schedule is not the test's: $(cat "$work/schedules.txt")"

# A guest's data, looked up by the deployed privacy service: the caller of the flows above (their
# call, voice message, answer and booking) is found in every place; the stand-ins have no S3, so the
# attachments mirror (http://s3.invalid) cannot be read, and the look says so, naming it, exit 3.
code=0; cli privacy find --phone '+33 6 12 34 56 78' --timeout 60 >"$work/privacy.txt" 2>&1 || code=$?
[ "$code" = 3 ] || fail "privacy find of the caller exited $code, not 3: $(cat "$work/privacy.txt")"
grep -q "stopped at the attachments mirror" "$work/privacy.txt" || fail "privacy find did not name the mirror: $(cat "$work/privacy.txt")"
for place in "knowledge points: 2" "blobs: 3" "reservations: 1" "conversation records: [1-9]"; do
  grep -q "$place" "$work/privacy.txt" || fail "privacy find of the caller lists no '$place': $(cat "$work/privacy.txt")"
done
say "switchboard privacy find, answered by the privacy service: the caller's call and booking points, recording, voice message, answer, reservation and records; the unreachable mirror named (exit 3)"

consumers_of() { cli queues --json | python3 -c 'import json, sys; print(next(len(q["consumers"]) for q in json.load(sys.stdin)["queues"] if q["queue"] == sys.argv[1]))' "$1"; }

# Scales the diagnostics service, waits for the stack to settle and for its group to list exactly
# that many consumers: replicas that stopped cleanly have left it.
scale_diagnostics() {
  local began; began=$(date +%s)
  d service scale "${stack}_diagnostics=$1" >/dev/null
  say "docker service scale ${stack}_diagnostics=$1 returned in $(( $(date +%s) - began )) s"
  await_convergence 240
  for _ in $(seq 30); do [ "$(consumers_of diagnostics)" = "$1" ] && return; sleep 1; done
  fail "$1 replicas, but the diagnostics group lists $(consumers_of diagnostics) consumers"
}

step "a consumer scaled up and down"
scale_diagnostics 3
scale_diagnostics 1
say "3 consumers listed at 3 replicas, 1 at 1"

step "an update and a redeploy with a new tag under load"
jobs=${SWARM_TEST_JOBS:-3000}
scale_diagnostics 2
cli enqueue --kind sleep --payload '{"ms": 1000, "record": "swarm-test:runs"}' --count "$jobs" >/dev/null
cli enqueue --kind fail --payload '{"permanent": true}' >/dev/null
say "$jobs jobs of one second each enqueued, and one that fails for good"
d service update --detach --force "${stack}_diagnostics" >/dev/null
# The redeploy comes while the forced update is under way: the new tag supersedes it.
for _ in $(seq 60); do
  [ "$(d service ps -q --filter desired-state=running "${stack}_diagnostics" | wc -l)" -gt 2 ] && break
  sleep 1
done
REPLICAS_DIAGNOSTICS=2 deploy "$image:2" >/dev/null
say "redeployed on $image:2 while $(redis_cli XLEN '{switchboard}:diagnostics:stream') entries were on the stream"
began=$(date +%s)
until [ "$(redis_cli HLEN swarm-test:runs)" -ge "$jobs" ] && converged; do
  (( $(date +%s) - began < 600 )) || fail "after 600 s, $(redis_cli HLEN swarm-test:runs) of $jobs jobs ran; queues: $(cli queues 2>&1 | tr '\n' ' ')"
  sleep 2
done
for service in $(stack_services); do
  case "$service" in *_qdrant) continue ;; esac
  [ "$(d service inspect --format '{{.Spec.TaskTemplate.ContainerSpec.Image}}' "$service")" = "$image:2" ] || fail "$service is not on $image:2"
done
runs=$(redis_cli HVALS swarm-test:runs | sort | uniq -c | tr -s ' ' | tr '\n' ';')
[ "$runs" = " $jobs 1;" ] || fail "each job should have run once; runs per job: $runs"
cli queues --json >"$work/queues.json"
read -r length pending delayed dead < <(python3 -c 'import json, sys
q = next(q for q in json.load(open(sys.argv[1]))["queues"] if q["queue"] == "diagnostics")
print(q["length"], q["pending"], q["delayed"], q["dead"])' "$work/queues.json")
[ "$pending" = 0 ] && [ "$delayed" = 0 ] || fail "the diagnostics queue is not settled: length $length, pending $pending, delayed $delayed"
[ "$dead" = 1 ] || fail "the diagnostics queue has $dead dead letters, not the one intended"
say "every one of $jobs jobs ran exactly once; nothing pending or delayed; the one dead letter"
others=$(python3 -c 'import json, sys
print(" ".join("{}:{}".format(q["queue"], q["dead"]) for q in json.load(open(sys.argv[1]))["queues"] if q["queue"] != "diagnostics" and q["dead"]))' "$work/queues.json")
[ -z "$others" ] || fail "dead letters on other queues: $others"

step "autoscaling on the real Engine"
# Redeployed with Tests/Swarm/autoscale.test.yml: two autoscalers deciding every 2 s, the diagnostics
# service labelled (min 1, max 3, target 5 s, cool-down 20 s), every labelled service cooling down in 20 s.
AUTOSCALE_COOLDOWN=20s REPLICAS_AUTOSCALE=2 REPLICAS_DIAGNOSTICS=1 deploy "$image:2" Tests/Swarm/autoscale.test.yml >/dev/null
await_convergence 240
decided_since=$(date -u +%Y-%m-%dT%H:%M:%SZ)
replicas_of() { d service inspect --format '{{.Spec.Mode.Replicated.Replicas}}' "${stack}_$1"; }
await_replicas() {  # service, count, bound in seconds, what it shows
  local began; began=$(date +%s)
  until [ "$(replicas_of "$1")" = "$2" ]; do
    (( $(date +%s) - began < $3 )) || fail "$4: ${stack}_$1 has $(replicas_of "$1") replicas, not $2, after $3 s; the autoscaler: $(d service logs --tail 20 "${stack}_autoscale" 2>&1 | tr '\n' ' ')"
    sleep 1
  done
  say "$4: ${stack}_$1 at $2 replicas in $(( $(date +%s) - began )) s"
}
# maintenance (min 0) goes to sleep once idle past the cool-down, and wakes when its work arrives.
await_replicas maintenance 0 120 "idle past the cool-down, a min-0 service sleeps"
cli enqueue --kind blobs.sweep --payload '{"older_than_days": 30}' >/dev/null
await_replicas maintenance 1 60 "a job arrives: it wakes"
# A backlog of slow jobs: the oldest passes its 5 s target; bound: max within 90 s.
cli enqueue --kind sleep --payload '{"ms": 2000, "record": "swarm-test:autoscale"}' --count 600 >/dev/null
await_replicas diagnostics 3 90 "600 jobs of 2 s: from 1 to its max"
began=$(date +%s)
until [ "$(redis_cli HLEN swarm-test:autoscale)" -ge 600 ]; do
  (( $(date +%s) - began < 300 )) || fail "the backlog was not drained within 300 s: $(redis_cli HLEN swarm-test:autoscale) of 600 ran"
  sleep 2
done
await_replicas diagnostics 1 90 "drained, after the 20 s cool-down it returns to min"
# Two autoscalers ran throughout: every decision came from one task.
deciders=$(d service logs --since "$decided_since" "${stack}_autoscale" 2>&1 | grep '\] scaled$' | awk '{ print $1 }' | sort -u)
[ "$(echo "$deciders" | grep -c .)" -eq 1 ] || fail "decisions came from more than one autoscaler task (or none): $deciders"
[ "$(d service ps -q --filter desired-state=running "${stack}_autoscale" | wc -l)" -eq 2 ] || fail "two autoscalers should be running"
say "two autoscalers ran; every decision came from one ($deciders)"
# Redis stopped (paused) first, then a service put above what it needs: no decision while Redis
# cannot be read (a step under way lists the services before it reads the queues, so none can act
# on the new count with what it read before the pause).
redis_container=$(d ps -q --filter "label=com.docker.swarm.service.name=${standins}_redis" | head -1)
paused_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
d pause "$redis_container" >/dev/null
paused=$(date +%s)
d service scale --detach "${stack}_diagnostics=2" >/dev/null
# (grep -c reads the whole log: grep -q would stop early and, under pipefail, fail the pipeline.)
said() { d service logs --since "$paused_at" "${stack}_autoscale" 2>&1 | grep -c "no decision: Redis cannot be read" || true; }
until [ "$(said)" -gt 0 ]; do
  (( $(date +%s) - paused < 60 )) || { d unpause "$redis_container" >/dev/null; fail "the autoscaler did not say within 60 s that it made no decision while Redis was stopped"; }
  sleep 1
done
# Redis stays paused 25 s at least, several intervals: the pause itself is what is tested.
while (( $(date +%s) - paused < 25 )); do sleep 1; done
still=$(replicas_of diagnostics)
d unpause "$redis_container" >/dev/null
[ "$still" = 2 ] || fail "with Redis stopped, the autoscaler changed ${stack}_diagnostics to $still replicas"
say "Redis paused for $(( $(date +%s) - paused )) s: no change, and the autoscaler said why"
await_replicas diagnostics 1 120 "Redis back: decisions resume"

step "the stack removed"
remove_stack "$stack"
left=$( { d service ls -q --filter "$ours"; d ps -aq --filter "$ours"; d network ls -q --filter "$ours"
          d config ls -q --filter "$ours"; d secret ls -q --filter "$ours"; d volume ls -q --filter "$ours"; } | wc -l)
[ "$left" -eq 0 ] || fail "$left objects of the stack are left after docker stack rm and the volumes' removal"
say "no service, task, network, config, secret or volume of the stack is left"
