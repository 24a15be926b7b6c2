#!/usr/bin/env bash
# Runs one project command with the project's environment: the project's Node (>= 22, from
# .tools/node when the system's is older), node_modules/.bin and the Temporal CLI on PATH, and the
# local services' defaults (scripts/env.sh; values already in the environment win).
# Every npm script that runs project code goes through it:  bash scripts/run.sh <command> [args...]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
node_major="$(node -e 'process.stdout.write(process.versions.node.split(".")[0])' 2>/dev/null || echo 0)"
if [ "$node_major" -lt 22 ] || [ ! -d node_modules ]; then
  echo "aurora-sync: not set up yet (needs Node >= 22 and npm packages; found node $(node -v 2>/dev/null || echo none)) — run: bash scripts/setup.sh" >&2
  exit 1
fi
[ $# -gt 0 ] || { echo "usage: bash scripts/run.sh <command> [args...]" >&2; exit 2; }
exec "$@"
