#!/usr/bin/env bash
# Switchboard's benchmark beside its peers, on this machine, in one run.
#
# 1. Runs ../shared/bench/peers.sh for the peers named by PEERS_ONLY (default: Sidekiq c=10 and
#    Dramatiq's default 2x8), which starts and stops its own redis-server on 127.0.0.1:6390.
# 2. Starts a redis-server with the same flags (--save '' --appendonly no) on 127.0.0.1:6391 and
#    runs `switchboardbench engine` (release build) against it RUNS times (default 3), printing each run
#    and the median. The job body is the peers' one: a single INCR on Redis.
#
#   bench/compare.sh                 # peers, then Switchboard
#   SKIP_PEERS=1 bench/compare.sh    # Switchboard only
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
runs=${RUNS:-3}
jobs=${JOBS:-200000}
concurrency=${CONCURRENCY:-200}
port=${BENCH_PORT:-6391}

if [[ "${SKIP_PEERS:-0}" != 1 ]]; then
  (cd ../shared/bench && PEERS_ONLY="${PEERS_ONLY:-sidekiq-6.4.1 c=10|dramatiq-2.2.1 p=2}" ./peers.sh)
fi

swift build -c release --product switchboardbench
dir=$(mktemp -d)
trap 'redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes --dir "$dir" --logfile "$dir/redis.log"
for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-benchmark -p "$port" -c 1 -n 20000 -q XADD bench:s '*' f v | tr '\r' '\n' | tail -1 | sed 's/^/redis-benchmark XADD, one connection, unpipelined: /'
.build/release/switchboardbench engine --redis "redis://127.0.0.1:$port" --jobs "$jobs" --concurrency "$concurrency" --runs "$runs"
