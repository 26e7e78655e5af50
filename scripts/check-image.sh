#!/usr/bin/env bash
# Checks the Dockerfile's run stage without a Docker engine: builds the binary the way the build
# stage does (release, --static-swift-stdlib), debootstraps Debian bookworm (minbase) with exactly
# the run-time packages the Dockerfile's run stage installs, copies the binary and schedule.json in
# where the Dockerfile puts them, and runs each role inside that root as uid 10001 against a
# throwaway redis-server on the host's loopback, probing each with `switchboard health` as the
# image's HEALTHCHECK does, on a read-only root with the image's own ENV lines, as the stack runs it.
# Needs root (debootstrap, chroot, mount) and Debian's mirror; takes a few minutes. The real thing,
# on a real Docker Engine, is scripts/swarm-test.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=${IMAGE_ROOT:-/tmp/switchboard-image-root}
scratch=${STATIC_BUILD:-/tmp/switchboard-static-build}
port=${CHECK_REDIS_PORT:-6397}
command -v debootstrap >/dev/null || apt-get install -y debootstrap

# The run stage's packages, read from the Dockerfile itself.
packages=$(awk '/^FROM / { stage++ } stage == 2 && /apt-get install/ { for (i = 1; i <= NF; i++) if ($i ~ /^lib|^ca-|^tzdata/) print $i }' Dockerfile | tr '\n' ',' | sed 's/,$//')
echo "== run-stage packages: $packages"
if [ ! -x "$root/bin/sh" ]; then
  debootstrap --variant=minbase --include="$packages" bookworm "$root" http://deb.debian.org/debian >/dev/null
fi
# Built from exactly what the build stage copies, at the pinned versions, as the image would be.
context=$(mktemp -d)
for source in $(awk '/^FROM / { stage++ } stage == 1 && /^COPY/ && !/--from/ { for (i = 2; i < NF; i++) print $i }' Dockerfile); do
  cp -r "$source" "$context/"
done
(cd "$context" && swift build -c release --product switchboard --static-swift-stdlib --force-resolved-versions --scratch-path "$scratch")
rm -rf "$context"
install -D "$scratch/release/switchboard" "$root/usr/local/bin/switchboard"
install -D -m 644 schedule.json "$root/etc/switchboard/schedule.json"
install -d -o 10001 -g 10001 "$root/var/lib/switchboard/blobs"
# As the stack runs it: a read-only root with a tmpfs on /tmp, and the blob folder a volume (here a
# tmpfs the user owns) for the roles given BLOB_STORE. A container has /proc; Swift reads its
# command line from there.
# The read-only bind first: one made afterwards would hide the mounts below it (without /proc, Swift
# reads no arguments and the binary prints its help and exits 0).
mountpoint -q "$root" || { mount --bind "$root" "$root" && mount -o remount,bind,ro "$root"; }
mountpoint -q "$root/proc" || mount -t proc proc "$root/proc"
mountpoint -q "$root/tmp" || mount -t tmpfs -o mode=1777 tmpfs "$root/tmp"
mountpoint -q "$root/var/lib/switchboard/blobs" || mount -t tmpfs -o uid=10001,gid=10001,mode=0755 tmpfs "$root/var/lib/switchboard/blobs"
if chroot --userspec=10001:10001 "$root" /bin/sh -c 'touch /var/lib/switchboard/x && rm /var/lib/switchboard/x' 2>/dev/null; then
  echo "the root is writable: the check would not be the stack's"; exit 1
fi
echo "== libraries the binary needs, resolved inside the run stage:"
chroot "$root" ldd /usr/local/bin/switchboard | sed 's/^/   /'
if chroot "$root" ldd /usr/local/bin/switchboard | grep -q "not found"; then echo "missing libraries"; exit 1; fi

dir=$(mktemp -d)
pids=()
cleanup() {
  kill "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
  redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true
  umount "$root/proc" "$root/tmp" "$root/var/lib/switchboard/blobs" 2>/dev/null || true
  umount "$root" 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --daemonize yes --dir "$dir" --logfile "$dir/redis.log"
for _ in $(seq 50); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
# The run stage's own ENV lines (ARG defaults put in), as every container inherits them: a default
# there that a role cannot live with on a read-only root shows here.
image_environment=$(awk '/^FROM / { stage++ } /^ARG [A-Z_]+=/ { split($2, kv, "="); args[kv[1]] = kv[2] }
  stage == 2 && /^ENV / { line = substr($0, 5); for (name in args) gsub("\\$\\{" name "\\}", args[name], line); print line }' Dockerfile)
echo "== the image's environment: $image_environment"
environment=($image_environment REDIS_URL="redis://127.0.0.1:$port" SCHEDULE_FILE=/etc/switchboard/schedule.json LOG_LEVEL=warning)
run() { chroot --userspec=10001:10001 "$root" env "${environment[@]}" "$@"; }
# chroot and env exec, so each pid is the role's own and SIGTERM reaches it.
start() { chroot --userspec=10001:10001 "$root" env "${environment[@]}" "$@" & pids+=($!); }
start env BLOB_STORE=file:///var/lib/switchboard/blobs /usr/local/bin/switchboard producer --port 18080
# As the stack's diagnostics service: no BLOB_STORE of its own.
start /usr/local/bin/switchboard consumer --queues diagnostics --metrics-port 19090
start /usr/local/bin/switchboard scheduler --metrics-port 19091
# A probe of a port nothing listens on must fail, or the checks below would prove nothing.
if run /usr/local/bin/switchboard health --port 1 >/dev/null 2>&1; then echo "health of a closed port succeeded"; exit 1; fi
for check in "producer 18080" "consumer 19090" "scheduler 19091"; do
  set -- $check
  ok=no
  for _ in $(seq 100); do
    if run /usr/local/bin/switchboard health --port "$2" --path /readyz >/dev/null 2>&1; then ok=yes; break; fi
    sleep 0.1
  done
  echo "== $1: switchboard health --port $2 --path /readyz, inside the run stage as uid 10001: $ok"
  [ "$ok" = yes ] || exit 1
done
run /usr/local/bin/switchboard enqueue --kind noop --count 3 >/dev/null
for _ in $(seq 50); do [ "$(redis-cli -p "$port" XLEN '{switchboard}:diagnostics:stream')" = 0 ] && break; sleep 0.1; done
echo "== a job enqueued from inside ran: diagnostics depth $(redis-cli -p "$port" XLEN '{switchboard}:diagnostics:stream')"
echo "image run stage: ok"
