#!/usr/bin/env bash
# The whole test suite: installs what is missing, then `swift test`. Every test starts its own
# redis-server on a free loopback port, so nothing needs to be running beforehand.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/install-deps.sh
# Optimised, as it ships: a suite that measures leases, timeouts and grace periods on a loaded
# 2-core machine must not be measuring -Onone.
# `SWITCHBOARD_TEST_CONFIG=debug` for a quicker build.
if [ "${SWITCHBOARD_TEST_CONFIG:-release}" = "debug" ]; then
    config=()
else
    config=(-c release -Xswiftc -enable-testing)
fi
# The layout every file is held to (.swift-format: the toolchain's swift-format, line length 140):
# drift fails the run, counted as one more test. `swift format -i -r -p Sources Tests Benchmarks
# Package.swift` applies it.
format_failed=0
if [ "$#" -eq 0 ]; then
    if ! swift format lint --strict -r -p Sources Tests Benchmarks Package.swift; then
        echo "formatting: the files above differ from .swift-format's layout (swift format -i -r -p Sources Tests Benchmarks Package.swift)"
        format_failed=1
    fi
fi
swift build "${config[@]}" --build-tests
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# A hung test must fail the run with a name, not run into CI's limit: the suite takes a few
# minutes, so half an hour is a hang. On time-out, the tests that started and never ended are named.
# The suites that move megabytes through a real PostgreSQL and an S3 fake, drive chromium, start
# console processes by the dozen, run Prometheus or start qdrant-client's local mode (a Python
# process each, about a second of CPU to start) run after the others, on their own: their load would bend the timing of the tests
# that measure time (rate limits, leases, grace periods). Arguments (`--filter X`) run one pass
# with exactly those.
heavy='DatabaseBackupTests|PostgresDumpProcessTests|EqualPartUploadTests|AttachmentsMirrorTests|ConsoleBrowserTests|ConsoleTests|PrometheusScrapeTests|GuestKnowledgeTests|KnowledgeCommandTests|QdrantFilterTests|PrivacyTests|RetentionTests'
groups=('QueueTests|RedisTests|ThreadsTests|SchedulerTests' 'ConsumersTests|CommandLineTests|ProducerTests|AutoscaleTests')
run() {
    timeout --kill-after=30s "${SWITCHBOARD_TEST_TIMEOUT:-30m}" swift test "${config[@]}" --skip-build "$@" 2>&1 | tee -a "$log"
    return "${PIPESTATUS[0]}"
}
set +e
if [ "$#" -gt 0 ]; then
    run "$@"
    status=$?
else
    # The rest, in three groups by module, one after another: run all at once, the first pass kept
    # 15–28 threads runnable on two cores for its whole length, and on a slower day tests that
    # wait 10 s for a retry or a grace period failed together. `status` keeps the first failure.
    status=0
    for group in "${groups[@]}"; do
        run --filter "^($group)\." --skip "$heavy"
        code=$?
        [ "$status" -eq 0 ] && status=$code
    done
    run --skip "$heavy|^($(IFS='|'; echo "${groups[*]}"))\."
    code=$?
    [ "$status" -eq 0 ] && status=$code
    run --filter "$heavy"
    code=$?
    [ "$status" -eq 0 ] && status=$code
fi
set -e
if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    echo "swift test did not finish within ${SWITCHBOARD_TEST_TIMEOUT:-30m}; still running:"
    sed -nE 's/.*◇ Test ([^ ]+) started\./\1/p' "$log" | sort -u > "$log.started"
    sed -nE 's/.*[✔✘] Test ([^ ]+) (passed|failed).*/\1/p' "$log" | sort -u > "$log.ended"
    comm -23 "$log.started" "$log.ended" | sed 's/^/  /'
    rm -f "$log.started" "$log.ended"
fi
# One plain closing line for whoever reads only the end of the log.
total=$(grep -oE 'Test run with [0-9]+ tests?' "$log" | awk '{ sum += $4 } END { print sum + 0 }')
failed=$(grep -E '✘ Test .* failed after' "$log" | grep -cv '✘ Test run with' || true)
if [ "$#" -eq 0 ]; then
    total=$((total + 1))
    if [ "$format_failed" -ne 0 ]; then
        failed=$((failed + 1))
        [ "$status" -eq 0 ] && status=1
    fi
fi
# Last, the stack on a real Docker Engine (scripts/swarm-test.sh; root, since it runs dockerd):
# counted as one more test. SWITCHBOARD_SWARM_TEST=0 leaves it out; a filtered run never has it.
if [ "$#" -eq 0 ] && [ "${SWITCHBOARD_SWARM_TEST:-1}" != 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "swarm test skipped: it needs root (it starts dockerd and a Swarm)"
  else
    total=$((total + 1))
    if ! timeout --kill-after=30s "${SWITCHBOARD_SWARM_TIMEOUT:-40m}" scripts/swarm-test.sh; then
      failed=$((failed + 1))
      [ "$status" -eq 0 ] && status=1
    fi
  fi
fi
echo "tests: $((total - failed)) passed, $failed failed"
exit "$status"
