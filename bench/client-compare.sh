#!/usr/bin/env bash
# The Redis client before and after, beside the machine's limits and Sidekiq, in one run.
#
# On one redis-server (the peers' flags: --save '' --appendonly no), in this order and RUNS times
# (default 3), alternating so that a noisy minute hits both alike:
#   - redis-benchmark XADD, one connection unpipelined (-c 1 -P 1: the loopback round-trip limit)
#     and pipelined by 32 (-P 32);
#   - for OLD_BIN, then NEW_BIN: `switchboardbench engine` at its defaults (200,000 jobs, concurrency 200,
#     single enqueues, latency at 5,000 jobs/s), then the engine alone at --concurrency 32;
#   - with PEERS=1, Sidekiq 6.4.1 c=10 through ../shared/bench/peers.sh (its own redis-server).
# Each line is printed as it comes, labelled; `bench/client-compare.sh | tee run.log`.
#
#   OLD_BIN=/tmp/switchboard-old PEERS=1 bench/client-compare.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
old=${OLD_BIN:?OLD_BIN: the switchboardbench binary to compare with (a release build of the earlier commit)}
new=${NEW_BIN:-.build/release/switchboardbench}
runs=${RUNS:-3}
port=${BENCH_PORT:-6392}
dir=$(mktemp -d)
trap 'redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true; rm -rf "$dir"' EXIT
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes --dir "$dir" --logfile "$dir/redis.log"
for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
url="redis://127.0.0.1:$port"

limit() {
    redis-benchmark -p "$port" "$@" -q XADD bench:limit '*' f v | tr '\r' '\n' | grep XADD | tail -1
    redis-cli -p "$port" del bench:limit >/dev/null
}

for run in $(seq "$runs"); do
    echo "== run $run"
    echo "limit -c 1 -P 1: $(limit -c 1 -P 1 -n 50000)"
    echo "limit -c 1 -P 32: $(limit -c 1 -P 32 -n 1000000)"
    echo "limit -c 50 -P 32: $(limit -c 50 -P 32 -n 2000000)"
    for label in old new; do
        bin=$old
        [ "$label" = new ] && bin=$new
        "$bin" engine --redis "$url" --runs 1 | grep '^run' | sed "s/^run 1/$label defaults/"
        "$bin" engine --redis "$url" --runs 1 --jobs 100000 --concurrency 32 --single-jobs 0 --rate 0 | grep '^run' | sed "s/^run 1/$label c=32/"
    done
    if [ "${PEERS:-0}" = 1 ]; then
        # peers.sh prints a summary table whose sidekiq row reads: N, enq/s, proc/s, with boot/s,
        # worker µs/job, Redis µs/job, RSS MB, PSS MB.
        (cd ../shared/bench && PEERS_ONLY="sidekiq-6.4.1 c=10" PEERS_QUIET_WAIT=5 ./peers.sh 2>&1 | grep -E '^sidekiq-6.4.1 c=10 ' | tail -1 | sed 's/^/sidekiq: /') || echo "sidekiq: peers.sh failed"
    fi
done
