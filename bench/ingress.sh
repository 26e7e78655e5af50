#!/usr/bin/env bash
# The producer's ingress benchmark (release build, loopback, wrk): a signed Guesty webhook through
# the full path — parse, Svix verification, dedupe and enqueue in Redis — next to a Hummingbird
# route that does nothing (sent the very same requests), measured in the same run, RUNS times each
# (alternating), with medians, and the CPU each process spent per request. A third route, on the
# same yardstick server, answers after one Redis PING: what one round trip adds to HTTP alone.
#
#   bench/ingress.sh                      # 3 runs of 10 s each, 64 connections
#   RUNS=5 DURATION=15s bench/ingress.sh
#   PRODUCER_BIN=/tmp/old/switchboard bench/ingress.sh   # another build's producer, same baseline
#   PRODUCER_BIN=… BENCH_BIN=… bench/ingress.sh           # both given: nothing is built
#
# Every request carries its own svix-id (pre-signed by bench/ingress_requests.py), so none takes the
# duplicate shortcut; afterwards the stream must hold exactly one job per accepted request.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs=${RUNS:-3}
duration=${DURATION:-10s}
connections=${CONNECTIONS:-64}
threads=${WRK_THREADS:-1}
redis_port=${BENCH_REDIS_PORT:-6392}
producer_port=${BENCH_PRODUCER_PORT:-8091}
empty_port=${BENCH_EMPTY_PORT:-8092}
secret=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw
command -v wrk >/dev/null || { sudo -n true 2>/dev/null && SUDO=sudo || SUDO=; $SUDO apt-get install -y wrk; }

if [ -n "${PRODUCER_BIN:-}" ] && [ -n "${BENCH_BIN:-}" ]; then
  bin=$PRODUCER_BIN
elif [ -n "${PRODUCER_BIN:-}" ]; then
  swift build -c release --product switchboardbench
  bin=$PRODUCER_BIN
else
  swift build -c release --product switchboard && swift build -c release --product switchboardbench
  bin=.build/release/switchboard
fi
bench_bin=${BENCH_BIN:-.build/release/switchboardbench}
dir=$(mktemp -d)
cleanup() {
  kill "${producer:-}" "${empty:-}" 2>/dev/null || true
  redis-cli -p "$redis_port" shutdown nosave >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap cleanup EXIT
redis-server --port "$redis_port" --bind 127.0.0.1 --save '' --appendonly no --maxmemory-policy noeviction \
  --daemonize yes --dir "$dir" --logfile "$dir/redis.log"
for _ in $(seq 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done

LOG_LEVEL=warning GUESTY_WEBHOOK_SECRET=$secret BLOB_STORE="$dir/blobs" \
  "$bin" producer --redis "redis://127.0.0.1:$redis_port" --host 127.0.0.1 --port "$producer_port" --high-water 0 &
producer=$!
LOG_LEVEL=warning "$bench_bin" baseline --port "$empty_port" --redis "redis://127.0.0.1:$redis_port" &
empty=$!
for port in "$producer_port" "$empty_port"; do
  for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
done

# Enough distinct deliveries for the fastest run we expect (about 60k/s) over the whole duration.
seconds=${duration%s}
count=$(( seconds * 60000 * runs ))
echo "signing $count distinct Guesty deliveries…"
python3 bench/ingress_requests.py "$secret" "$count" "$dir/requests.tsv"
# Each run gets its own slice of the file, so no delivery repeats across runs either.
split -n "l/$runs" -d "$dir/requests.tsv" "$dir/slice."

ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
redis_pid=$(pgrep -f "redis-server 127.0.0.1:$redis_port" | head -1)
hz=$(getconf CLK_TCK)

measure() { # name url figures-file server-pid [requests file]
  local before redis_before
  before=$(ticks "$4"); redis_before=$(ticks "$redis_pid")
  REQUESTS_FILE=${5:-} WRK_THREADS=$threads wrk -t"$threads" -c"$connections" -d"$duration" --latency -s bench/ingress.lua "$2" > "$dir/wrk.out"
  local server=$(( $(ticks "$4") - before )) redis=$(( $(ticks "$redis_pid") - redis_before ))
  awk -v name="$1" -v out="$3" -v server="$server" -v redis="$redis" -v hz="$hz" '/^RESULT/ {
      cpu = server * 1e6 / hz / $5; rcpu = redis * 1e6 / hz / $5
      printf "  %-16s %8d req/s  p50 %6.2f ms  p99 %6.2f ms  requests %d  errors %d  server %.0f µs/req  redis %.0f µs/req\n", name, $2, $3, $4, $5, $6, cpu, rcpu
      print $2, $3, $4, cpu, rcpu >> out }' "$dir/wrk.out"
}

for run in $(seq "$runs"); do
  echo "run $run"
  slice=$(printf "%s/slice.%02d" "$dir" $((run - 1)))
  # Both get the same signed requests, so the client sends the same bytes to each.
  measure "empty route" "http://127.0.0.1:$empty_port/empty" "$dir/empty.txt" "$empty" "$slice"
  measure "one redis ping" "http://127.0.0.1:$empty_port/ping" "$dir/ping.txt" "$empty" "$slice"
  measure "guesty webhook" "http://127.0.0.1:$producer_port/webhooks/guesty" "$dir/guesty.txt" "$producer" "$slice"
done

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo
echo "medians of $runs runs, $connections connections, $duration each, wrk -t$threads, redis-server and both servers on this machine:"
for name in empty ping guesty; do
  rps=$(awk '{ print $1 }' "$dir/$name.txt" | median)
  p50=$(awk '{ print $2 }' "$dir/$name.txt" | median)
  p99=$(awk '{ print $3 }' "$dir/$name.txt" | median)
  cpu=$(awk '{ print $4 }' "$dir/$name.txt" | median)
  rcpu=$(awk '{ print $5 }' "$dir/$name.txt" | median)
  printf "  %-16s %8s req/s  p50 %s ms  p99 %s ms  server CPU %.0f µs/req  redis CPU %.0f µs/req\n" "$name" "$rps" "$p50" "$p99" "$cpu" "$rcpu"
  eval "${name}_rps=$rps"
done
awk -v g="$guesty_rps" -v e="$empty_rps" 'BEGIN { printf "  the full ingress path keeps %.0f%% of the empty route'"'"'s throughput\n", 100 * g / e }'
jobs=$(redis-cli -p "$redis_port" XLEN '{switchboard}:vectorize:stream')
keys=$(redis-cli -p "$redis_port" --scan --pattern '{switchboard}:dedupe:*' | wc -l)
echo "  jobs in the stream: $jobs, dedupe keys: $keys (equal: one job per accepted delivery)"
echo "  producer RSS: $(awk '/VmRSS/ { printf "%.1f MB", $2 / 1024 }' "/proc/$producer/status")"
