#!/usr/bin/env bash
# Start (or reuse) a throwaway PostgreSQL cluster on a loopback port and print its SQLAlchemy URL.
# Installs Debian's postgresql package when the server binaries are missing.
set -euo pipefail
PORT=${MATCHING_PG_PORT:-54329}
DATA=${MATCHING_PG_DATA:-/tmp/matching-pg-$PORT}
DB=matching_test

if ! ls -d /usr/lib/postgresql/*/bin >/dev/null 2>&1; then
  echo "installing PostgreSQL from Debian packages..." >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq postgresql >&2
fi
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)

as_pg() {  # run a command as the postgres user when we are root (initdb refuses root)
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi
}

if ! as_pg "$PGBIN/pg_isready -h 127.0.0.1 -p $PORT" >/dev/null 2>&1; then
  rm -rf "$DATA"
  mkdir -p "$DATA"
  [ "$(id -u)" = 0 ] && chown postgres "$DATA"
  as_pg "$PGBIN/initdb -D $DATA -A trust -U postgres" >/dev/null
  as_pg "$PGBIN/pg_ctl -D $DATA -w -l $DATA/server.log -o \"-p $PORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off\" start" >/dev/null
fi
as_pg "$PGBIN/psql -h 127.0.0.1 -p $PORT -U postgres -tAc \"SELECT 1 FROM pg_database WHERE datname='$DB'\"" | grep -q 1 \
  || as_pg "$PGBIN/createdb -h 127.0.0.1 -p $PORT -U postgres $DB"
echo "postgresql+psycopg://postgres@127.0.0.1:$PORT/$DB"
