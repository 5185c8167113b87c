#!/bin/sh
# Check what `make setup` cannot install by itself; say exactly what to install if missing.
PYTHON="$1"; GO="$2"
fail=0
if ! command -v "$PYTHON" >/dev/null 2>&1; then
  echo "setup: '$PYTHON' not found: install Python 3.11 or newer (Debian: apt-get install python3 python3-venv), or run make PYTHON=/path/to/python3.11" >&2
  fail=1
elif ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "setup: $("$PYTHON" --version 2>&1) is too old: install Python 3.11 or newer, or run make PYTHON=/path/to/python3.11" >&2
  fail=1
elif ! "$PYTHON" -c 'import venv, ensurepip' >/dev/null 2>&1; then
  echo "setup: $PYTHON cannot create virtual environments: install its venv module (Debian: apt-get install python3-venv)" >&2
  fail=1
fi
if [ ! -x .tools/bin/toxiproxy-server ]; then
  if ! command -v "$GO" >/dev/null 2>&1; then
    echo "setup: Go not found: it is needed once, to build Toxiproxy 2.12.0 (install Go 1.23 or newer: Debian backports golang-1.23, or go.dev), or run make GO=/path/to/go" >&2
    fail=1
  else
    v=$("$GO" env GOVERSION 2>/dev/null | sed 's/^go//')
    major=$(echo "$v" | cut -d. -f1); minor=$(echo "$v" | cut -d. -f2)
    if [ "${major:-0}" -lt 1 ] || { [ "$major" -eq 1 ] && [ "${minor:-0}" -lt 23 ]; }; then
      echo "setup: Go $v is too old: Toxiproxy 2.12.0 needs Go 1.23 or newer" >&2
      fail=1
    fi
  fi
fi
# Real MTAs run in root filesystems built by mmdebstrap: install it where we can.
if [ "$(id -u)" = 0 ] && ! command -v mmdebstrap >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian's mmdebstrap (builds the MTAs' root filesystems)" >&2
    (apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq mmdebstrap) >/dev/null \
      || { echo "setup: apt-get install mmdebstrap failed" >&2; fail=1; }
  else
    echo "setup: mmdebstrap not found and this is not Debian: real MTAs need it (seedmta does not)" >&2
  fi
fi
# The report's tests render report.html in Debian's headless Chromium.
if [ "$(id -u)" = 0 ] && ! command -v chromium >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian's chromium (the report tests render report.html in it)" >&2
    (apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq chromium) >/dev/null \
      || { echo "setup: apt-get install chromium failed" >&2; fail=1; }
  fi
fi
# The shared example database's test (--example-db redis://) runs Debian's real Redis server.
if [ "$(id -u)" = 0 ] && ! command -v redis-server >/dev/null 2>&1; then
  if command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian's redis-server (the shared example database's test starts one)" >&2
    (apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends redis-server) >/dev/null \
      || { echo "setup: apt-get install redis-server failed" >&2; fail=1; }
  fi
fi
exit $fail
