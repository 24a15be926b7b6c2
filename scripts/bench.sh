#!/usr/bin/env bash
# Sets up, starts the services and runs the benchmarks under bench/.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
bash scripts/setup.sh
source scripts/env.sh
bash scripts/services.sh start
npx tsx bench/pull.ts "$@"
