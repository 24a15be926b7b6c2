#!/usr/bin/env bash
# Sets up and runs the fault scenarios (chaos/run.ts): real worker processes killed and restarted,
# Postgres, Redis and the Temporal server restarted, the external API cut off and then failing, for
# each system (HubSpot; Google Calendar, Gmail and Drive; Fireflies); one table of what was injected,
# checked, lost, duplicated and how long recovery took, per scenario and system, also written to
# chaos/results/. The scenarios run their own Postgres, Redis and Temporal dev server on free ports
# (data in a temporary directory), never the shared ones. Arguments go to chaos/run.ts
# (e.g. --quick, --only 1,3b, --systems google, --records 20000, --seed 7).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
bash scripts/setup.sh
source scripts/env.sh
npx tsx chaos/run.ts "$@"
