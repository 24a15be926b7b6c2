#!/usr/bin/env bash
# Sets up, starts the services and runs every benchmark under bench/ (bench/run.ts): one table of
# every figure with its bound and ratio, the machine it ran on, and the figures as JSON under
# bench/results/. Arguments go to bench/run.ts (e.g. --only pull,calendar-pull, or --quick).
set -euo pipefail
source "$(dirname "$0")/prepare.sh"
npx tsx bench/run.ts "$@"
