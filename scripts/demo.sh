#!/usr/bin/env bash
# Sets up everything (idempotently), starts the services and runs the demo: a full two-way sync
# against the built-in HubSpot sandbox. `npm run demo -- --once` exits after the first cycles.
set -euo pipefail
source "$(dirname "$0")/prepare.sh"
exec npx tsx src/demo.ts "$@"
