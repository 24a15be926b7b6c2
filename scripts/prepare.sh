# Sourced by demo.sh, test.sh and bench.sh: install what is missing, then start the services.
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
bash scripts/setup.sh
source scripts/env.sh
bash scripts/services.sh start
