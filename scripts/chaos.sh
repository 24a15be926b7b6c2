#!/usr/bin/env bash
# Sets up and runs the fault scenarios (chaos/run.ts): real worker processes killed and restarted,
# Postgres, Redis and the Temporal server restarted, the HubSpot API cut off and then failing; one
# table of what was injected, checked, lost, duplicated and how long recovery took, also written to
# chaos/results/. The scenarios run their own Postgres, Redis and Temporal dev server on free ports
# (data in a temporary directory), never the shared ones. Arguments go to chaos/run.ts
# (e.g. --quick, --only 1,3b, --records 20000, --seed 7).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
bash scripts/setup.sh
source scripts/env.sh
npx tsx chaos/run.ts "$@"
