#!/usr/bin/env bash
# Installs what building and testing Switchboard needs on Debian, when it is missing:
# hiredis and libcurl headers, redis-server, redis-sentinel (the Sentinel failover tests) and
# redis-tools, postgresql (the database backup tests run a real server, pg_dump and pg_restore),
# prometheus (promtool checks the alert rules; a real Prometheus scrapes a consumer), chromium,
# chromium-driver and python3-selenium (the console in a real browser), poppler-utils (pdftotext: PDFs
# added to the knowledge). The Swift toolchain is expected on PATH.
set -euo pipefail
need=()
for package in libhiredis-dev libcurl4-openssl-dev redis-server redis-sentinel redis-tools postgresql prometheus chromium chromium-driver python3-selenium curl tmux docker-compose python3-yaml poppler-utils; do
  dpkg -s "$package" >/dev/null 2>&1 || need+=("$package")
done
if ((${#need[@]})); then
  echo "installing: ${need[*]}"
  sudo_cmd=""
  [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -q
  # No recommends: docker-compose would otherwise bring a whole Docker engine (docker.io); the
  # tests only need it to render and check compose files.
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -q --no-install-recommends "${need[@]}"
fi
# moto's S3 server (PyPI), an S3 written by others that the S3 client is tested against.
if ! python3 -c 'import moto.server' >/dev/null 2>&1; then
  echo "installing: moto[server] (PyPI)"
  python3 -m pip install -q 'moto[server]' || python3 -m pip install -q --break-system-packages 'moto[server]'
fi
# qdrant-client (PyPI): its local mode, behind Qdrant's REST paths, is the Qdrant the knowledge's
# filters are tested against (Tests/QdrantLocal).
if ! python3 -c 'import qdrant_client' >/dev/null 2>&1; then
  echo "installing: qdrant-client (PyPI)"
  python3 -m pip install -q qdrant-client || python3 -m pip install -q --break-system-packages qdrant-client
fi
command -v swift >/dev/null || { echo "swift is not on PATH (Swift 6 toolchain needed)" >&2; exit 1; }
