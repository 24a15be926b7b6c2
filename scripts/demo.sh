#!/usr/bin/env bash
# Sets up everything (idempotently), starts the services and runs the demo: a full two-way sync
# against the built-in HubSpot sandbox. `npm run demo -- --once` exits after the first cycles.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
bash scripts/setup.sh
source scripts/env.sh
bash scripts/services.sh start
exec npx tsx src/demo.ts "$@"
