#!/usr/bin/env bash
# Starts, stops or reports the local services Aurora Sync needs: PostgreSQL, Redis and the
# Temporal dev server (SQLite file, Web UI on :8233). Idempotent; data lives under .data/.
#   scripts/services.sh start|stop|status|restart-temporal
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
TEMPORAL_PORT="${TEMPORAL_ADDRESS##*:}"
TEMPORAL_UI_PORT="${TEMPORAL_UI_PORT:-8233}"
# Opt-in: the Web UI decodes payloads through this codec endpoint, e.g.
# TEMPORAL_UI_CODEC_ENDPOINT=http://localhost:8000/codec scripts/services.sh restart-temporal (README: Encrypted payloads).
TEMPORAL_UI_CODEC_ENDPOINT="${TEMPORAL_UI_CODEC_ENDPOINT:-}"
SEARCH_ATTRIBUTES=(AuroraSystem=Keyword AuroraConnection=Keyword AuroraEntityType=Keyword AuroraStatus=Keyword)

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { # port name seconds
  for _ in $(seq 1 $(( $3 * 10 ))); do port_open "$1" && return 0; sleep 0.1; done
  echo "services: $2 did not open port $1 in $3 s" >&2; return 1
}

pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }
PGDATA_DIR="$DATA/pg"
# As root, run as 'postgres' from / (the project folder may be closed to that user: psql and
# pg_ctl would print 'could not change directory to ...: Permission denied').
as_pg() { if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi; }
pg_dir() {
  # Postgres refuses to run as root; it runs as the 'postgres' user, who must reach the data folder.
  if [ "$(id -u)" -eq 0 ] && ! (cd / && runuser -u postgres -- test -x "$DATA") 2>/dev/null; then
    echo "/var/tmp/aurora-sync-pg-$(echo "$ROOT" | md5sum | cut -c1-8)"
  else
    echo "$PGDATA_DIR"
  fi
}

start_postgres() {
  local bin dir; bin="$(pg_bin)"; dir="$(pg_dir)"
  if port_open "$POSTGRES_PORT"; then echo "services: postgres already listening on $POSTGRES_PORT"; else
    mkdir -p "$dir"; [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$dir" && chmod 700 "$dir"
    if [ ! -f "$dir/PG_VERSION" ]; then
      as_pg "$bin/initdb" -D "$dir" -U postgres --auth-local=trust --auth-host=scram-sha-256 -E UTF8 >/dev/null
    fi
    as_pg "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
      -o "-p $POSTGRES_PORT -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=${PG_FSYNC:-on}" start >/dev/null
    echo "services: postgres started on $POSTGRES_PORT (data $dir)"
  fi
  local psql=("$bin/psql" -h "$dir" -p "$POSTGRES_PORT" -U postgres -v ON_ERROR_STOP=1 -qtA)
  if [ -S "$dir/.s.PGSQL.$POSTGRES_PORT" ]; then
    as_pg "${psql[@]}" -d postgres -c "DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='$POSTGRES_USER') THEN CREATE ROLE \"$POSTGRES_USER\" LOGIN CREATEDB PASSWORD '$POSTGRES_PASSWORD'; ELSE ALTER ROLE \"$POSTGRES_USER\" LOGIN CREATEDB PASSWORD '$POSTGRES_PASSWORD'; END IF; END\$\$;"
    if [ -z "$(as_pg "${psql[@]}" -d postgres -c "SELECT 1 FROM pg_database WHERE datname='$POSTGRES_DB'")" ]; then
      as_pg "${psql[@]}" -d postgres -c "CREATE DATABASE \"$POSTGRES_DB\" OWNER \"$POSTGRES_USER\""
    fi
  fi
}
stop_postgres() {
  local dir; dir="$(pg_dir)"
  [ -f "$dir/postmaster.pid" ] && as_pg "$(pg_bin)/pg_ctl" -D "$dir" -m fast stop >/dev/null && echo "services: postgres stopped" || true
}

start_redis() {
  if port_open "$REDIS_PORT"; then echo "services: redis already listening on $REDIS_PORT"; return; fi
  mkdir -p "$DATA/redis"
  local auth=(); [ -n "${REDIS_PASSWORD:-}" ] && auth=(--requirepass "$REDIS_PASSWORD")
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --dir "$DATA/redis" --daemonize yes \
    --pidfile "$DATA/redis/redis.pid" --logfile "$DATA/redis/redis.log" --appendonly yes "${auth[@]}"
  wait_port "$REDIS_PORT" redis 20
  echo "services: redis started on $REDIS_PORT"
}
stop_redis() {
  [ -f "$DATA/redis/redis.pid" ] && kill "$(cat "$DATA/redis/redis.pid")" 2>/dev/null && echo "services: redis stopped" || true
  rm -f "$DATA/redis/redis.pid"
}

start_temporal() {
  if port_open "$TEMPORAL_PORT"; then echo "services: temporal already listening on $TEMPORAL_PORT"; return; fi
  command -v temporal >/dev/null || { echo "services: temporal CLI missing; run scripts/setup.sh" >&2; exit 1; }
  mkdir -p "$DATA/temporal"
  local sa=(); for a in "${SEARCH_ATTRIBUTES[@]}"; do sa+=(--search-attribute "$a"); done
  local codec=(); [ -n "$TEMPORAL_UI_CODEC_ENDPOINT" ] && codec=(--ui-codec-endpoint "$TEMPORAL_UI_CODEC_ENDPOINT")
  nohup temporal server start-dev --ip 127.0.0.1 --port "$TEMPORAL_PORT" --ui-port "$TEMPORAL_UI_PORT" \
    --namespace "$TEMPORAL_NAMESPACE" --db-filename "$DATA/temporal/temporal.db" --log-level warn \
    --ui-disable-news-fetch "${sa[@]}" "${codec[@]}" >"$DATA/temporal/server.log" 2>&1 &
  echo $! >"$DATA/temporal/temporal.pid"
  wait_port "$TEMPORAL_PORT" temporal 60
  for _ in $(seq 1 100); do
    temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1 && break; sleep 0.2
  done
  echo "services: temporal dev server started on $TEMPORAL_PORT (Web UI http://localhost:$TEMPORAL_UI_PORT${TEMPORAL_UI_CODEC_ENDPOINT:+, codec endpoint $TEMPORAL_UI_CODEC_ENDPOINT})"
}
stop_temporal() {
  local pid
  pid="$(cat "$DATA/temporal/temporal.pid" 2>/dev/null || true)"
  if [ -n "$pid" ] && kill "$pid" 2>/dev/null; then
    # Wait until it has let go of its SQLite file (a new server would find it locked).
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    echo "services: temporal stopped"
  fi
  rm -f "$DATA/temporal/temporal.pid"
}

case "${1:-start}" in
  start) start_postgres; start_redis; start_temporal ;;
  stop) stop_temporal; stop_redis; stop_postgres ;;
  restart-temporal) stop_temporal; start_temporal ;;
  status)
    for p in "postgres:$POSTGRES_PORT" "redis:$REDIS_PORT" "temporal:$TEMPORAL_PORT" "temporal-ui:$TEMPORAL_UI_PORT"; do
      port_open "${p#*:}" && echo "${p%%:*}: up (${p#*:})" || echo "${p%%:*}: down (${p#*:})"
    done ;;
  *) echo "usage: $0 start|stop|status|restart-temporal" >&2; exit 2 ;;
esac
