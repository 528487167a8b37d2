#!/bin/sh
# A PostgreSQL primary with a synchronous standby, both on loopback, in a directory the
# caller owns (never the system's clusters). Used by the failover chaos test; usable by hand:
#
#   scripts/chaos/pg-pair.sh up DIR PRIMARY_PORT STANDBY_PORT   # init, start, wait for sync
#   scripts/chaos/pg-pair.sh kill-primary DIR                   # kill -9 postmaster + backends
#   scripts/chaos/pg-pair.sh promote DIR                        # standby becomes the primary
#   scripts/chaos/pg-pair.sh down DIR                           # stop both, remove DIR
#
# Clusters run as the postgres user (runuser when called as root). Trust authentication on
# 127.0.0.1 only: this is a test rig, not a deployment (see docs/deployment.md for that).
# PG_BIN overrides the server binaries (default: the newest /usr/lib/postgresql/*/bin).
set -eu

PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
[ -x "$PG_BIN/pg_ctl" ] || { echo "pg-pair: no PostgreSQL server binaries (PG_BIN=$PG_BIN)" >&2; exit 2; }
STANDBY_NAME=keyhold_standby

as_pg() {
  if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi
}

usage() { echo "usage: $0 up DIR PRIMARY_PORT STANDBY_PORT | kill-primary DIR | promote DIR | down DIR" >&2; exit 2; }

up() {
  dir=$1 p1=$2 p2=$3
  mkdir -p "$dir"
  [ "$(id -un)" = postgres ] || chown postgres:postgres "$dir"
  as_pg "$PG_BIN/initdb" -D "$dir/primary" -U postgres --auth=trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  # Appended settings win over initdb's defaults.
  as_pg sh -c "cat >>'$dir/primary/postgresql.conf'" <<CONF
listen_addresses = '127.0.0.1'
port = $p1
unix_socket_directories = '$dir'
wal_level = replica
max_wal_senders = 5
wal_keep_size = 128MB
hot_standby = on
synchronous_commit = on
synchronous_standby_names = '$STANDBY_NAME'
shared_buffers = 32MB
max_connections = 60
CONF
  as_pg "$PG_BIN/pg_ctl" -D "$dir/primary" -l "$dir/primary.log" -w -t 60 start >/dev/null
  # The base backup must not wait for a synchronous standby that does not exist yet: it
  # only reads, and -X stream uses its own replication connection.
  as_pg "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$p1" -U postgres -D "$dir/standby" -R -X stream -c fast
  as_pg sh -c "cat >>'$dir/standby/postgresql.auto.conf'" <<CONF
port = $p2
primary_conninfo = 'host=127.0.0.1 port=$p1 user=postgres application_name=$STANDBY_NAME'
# Once promoted it has no standby of its own: commits must not wait for one.
synchronous_standby_names = ''
CONF
  as_pg "$PG_BIN/pg_ctl" -D "$dir/standby" -l "$dir/standby.log" -w -t 60 start >/dev/null
  i=0
  while :; do
    state=$("$PG_BIN/psql" -h 127.0.0.1 -p "$p1" -U postgres -d postgres -Atc \
      "SELECT sync_state FROM pg_stat_replication WHERE application_name = '$STANDBY_NAME'" 2>/dev/null || true)
    [ "$state" = sync ] && break
    i=$((i + 1))
    [ $i -lt 300 ] || { echo "pg-pair: standby did not become synchronous (state '$state')" >&2; exit 1; }
    sleep 0.1
  done
  echo "pg-pair: primary 127.0.0.1:$p1, synchronous standby 127.0.0.1:$p2"
}

postmaster_pid() { [ -f "$1/postmaster.pid" ] && head -n 1 "$1/postmaster.pid" || true; }

kill_primary() {
  pid=$(postmaster_pid "$1/primary")
  [ -n "$pid" ] || { echo "pg-pair: primary not running" >&2; exit 1; }
  # The whole server at once, as when its machine dies: postmaster and every backend.
  kill -9 "$pid" $(pgrep -P "$pid" || true) 2>/dev/null || true
  echo "pg-pair: killed primary (postmaster $pid)"
}

promote() {
  as_pg "$PG_BIN/pg_ctl" -D "$1/standby" -w -t 60 promote >/dev/null
  echo "pg-pair: standby promoted"
}

down() {
  dir=$1
  for c in primary standby; do
    pid=$(postmaster_pid "$dir/$c")
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      as_pg "$PG_BIN/pg_ctl" -D "$dir/$c" -m immediate -w -t 30 stop >/dev/null 2>&1 || kill -9 "$pid" 2>/dev/null || true
    fi
  done
  rm -rf "$dir"
}

[ $# -ge 2 ] || usage
cmd=$1
shift
case $cmd in
  up) [ $# -eq 3 ] || usage; up "$@" ;;
  kill-primary) kill_primary "$1" ;;
  promote) promote "$1" ;;
  down) down "$1" ;;
  *) usage ;;
esac
