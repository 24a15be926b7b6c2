#!/usr/bin/env bash
# Sets up, starts the services and runs the benchmarks under bench/.
set -euo pipefail
source "$(dirname "$0")/prepare.sh"
npx tsx bench/pull.ts "$@"
npx tsx bench/calendar-pull.ts
npx tsx bench/gmail-pull.ts
npx tsx bench/drive-pull.ts
npx tsx bench/fireflies.ts
