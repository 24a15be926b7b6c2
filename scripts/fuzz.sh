#!/usr/bin/env bash
# Sets up, starts the services and runs the hostile-input fuzzer (fuzz/run.ts) against a real API,
# worker, Temporal, Postgres, Redis and the sandboxes; prints the counts by outcome and the checks.
# Arguments go to fuzz/run.ts (e.g. --requests 5000 --seed 42, --json).
set -euo pipefail
source "$(dirname "$0")/prepare.sh"
exec node --expose-gc --import tsx fuzz/run.ts "$@"
