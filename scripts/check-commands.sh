#!/usr/bin/env bash
# Runs the commands the demo and the README print, as a person would paste them into a new
# terminal in the project folder: a clean environment (only HOME and PATH=/usr/bin:/bin, so no
# project Node, no exported passwords), no controlling terminal (a password prompt fails instead of
# waiting). Run it after `npm run demo -- --once` (the demo's database aurora_demo exists then and the
# services are up). Usage:
#   bash scripts/check-commands.sh [demo-output.txt]
# With the demo's saved output, its printed CLI and psql lines are run verbatim.
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEMO_OUT="${1:-}"
failed=()

# check <what the output must match (grep -E)> <command line>
check() {
  local expect="$1" cmd="$2" out rc
  out="$(cd "$ROOT" && setsid -w env -i HOME="$HOME" PATH=/usr/bin:/bin timeout 120 bash -c "$cmd" </dev/null 2>&1)"
  rc=$?
  if [ $rc -ne 0 ] || ! grep -Eq -- "$expect" <<<"$out"; then
    echo "check-commands: FAILED (exit $rc): $cmd" >&2
    [ $rc -eq 0 ] && echo "  (its output does not match /$expect/)" >&2
    tail -n 15 <<<"$out" | sed 's/^/  | /' >&2
    failed+=("$cmd")
  else
    echo "check-commands: ok: $cmd"
  fi
}

# A line the demo printed after "<label>", or the fallback when there is no saved output.
printed() { # label fallback
  local line=""
  [ -n "$DEMO_OUT" ] && line="$(grep -E "^  $1 " "$DEMO_OUT" | tail -1 | sed -E "s/^  $1 +//")"
  if [ -z "$line" ]; then
    [ -n "$DEMO_OUT" ] && { echo "check-commands: FAILED: the demo output ($DEMO_OUT) has no '$1' line" >&2; failed+=("demo line '$1'"); }
    line="$2"
  fi
  printf '%s' "$line"
}

REGISTRY_SQL='SELECT external_system, entity_type, sync_status, COUNT(*) FROM sync_registry GROUP BY 1,2,3;'

# What the demo prints under "Where to look" (the read-only ones; its API, worker and sandbox are gone after --once).
check 'contacts +[a-z]+ +[1-9][0-9]* +[0-9]+ ' "$(printed 'CLI' 'POSTGRES_DB=aurora_demo npm run cli -- status')"
check 'hubspot' "$(printed 'Registry \(psql\)' "PGPASSWORD=aurora_dev_password psql -h 127.0.0.1 -p 5432 -U aurora_app -d aurora_demo -c \"$REGISTRY_SQL\"")"

# The README's read-only commands.
check 'hubspot' "PGPASSWORD=aurora_dev_password psql -h 127.0.0.1 -U aurora_app -d aurora_demo -c \"$REGISTRY_SQL\""
check 'no open conflicts|^conflict:' 'POSTGRES_DB=aurora_demo npm run cli -- conflicts list'
check 'Usage:' 'npm run cli -- --help'
check 'sync:hubspot' '.tools/venv/bin/temporal workflow list'
check 'sync:hubspot' '.tools/venv/bin/temporal workflow describe --workflow-id sync:hubspot'
check '^postgres: up' 'bash scripts/services.sh status'

if [ ${#failed[@]} -gt 0 ]; then
  echo "check-commands: ${#failed[@]} printed command(s) do not work as printed:" >&2
  printf '  %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "check-commands: every command works as printed"
