#!/usr/bin/env bash
# Sets up everything (idempotently), starts the services, type-checks and runs every test against
# the real Temporal dev server, PostgreSQL and Redis. Usage: npm test  (or bash scripts/test.sh [files...])
set -euo pipefail
source "$(dirname "$0")/prepare.sh"
echo "test: type-check"
npx tsc --noEmit -p .
echo "test: lint (no floating promises; deterministic workflow imports)"
npx eslint .
files=("$@")
[ ${#files[@]} -gt 0 ] || mapfile -t files < <(ls test/*.test.ts | sort)
echo "test: node --test ${files[*]}"
exec node --import tsx --test --test-concurrency=1 --test-timeout=900000 --test-force-exit --test-reporter=spec "${files[@]}"
