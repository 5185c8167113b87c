#!/bin/sh
# Make sure a Docker engine answers: install Debian's docker.io and start dockerd where none
# runs (as root on Debian); elsewhere say what is missing. Idempotent.
if docker info >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" != 0 ]; then
  echo "setup: no Docker engine answers and this is not root: the docker backend's tests are skipped; start an engine to run them" >&2
  exit 0
fi
if ! command -v dockerd >/dev/null 2>&1; then
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "setup: no dockerd and no apt-get: install a Docker engine for the docker backend" >&2
    exit 1
  fi
  echo "setup: installing Debian's docker.io" >&2
  (apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq docker.io) >/dev/null || {
    echo "setup: apt-get install docker.io failed" >&2; exit 1; }
fi
mkdir -p .tools
echo "setup: starting dockerd (log: .tools/dockerd.log)" >&2
nohup dockerd > .tools/dockerd.log 2>&1 &
i=0
while ! docker info >/dev/null 2>&1; do
  i=$((i + 1))
  if [ $i -gt 60 ]; then
    echo "setup: dockerd did not answer within 30 s; see .tools/dockerd.log" >&2
    tail -5 .tools/dockerd.log >&2
    exit 1
  fi
  sleep 0.5
done
