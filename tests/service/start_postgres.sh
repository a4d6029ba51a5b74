#!/usr/bin/env bash
# Start a throwaway local PostgreSQL server for the service's storage tests.
# Installs the Debian package if it is missing, initialises a cluster in a temporary
# directory (or $1), starts it on 127.0.0.1 (port $PGPORT or a free one) and prints
#   postgresql://postgres@127.0.0.1:PORT/postgres
# alone on its last line: export it as URBANGRID_TEST_POSTGRES_URL.
# Stop it with:  pg_ctl -D DIR/data stop   (as the postgres user when run as root)
set -euo pipefail

pgbin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }
if [ -z "$(pgbin)" ]; then
    echo "installing postgresql (apt-get)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >&2
fi
BIN=$(pgbin)
[ -n "$BIN" ] || { echo "no PostgreSQL binaries found" >&2; exit 1; }

DIR=${1:-$(mktemp -d /tmp/urbangrid-pg.XXXXXX)}
mkdir -p "$DIR"
PORT=${PGPORT:-$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')}

# initdb refuses to run as root: run the server as the postgres user then
if [ "$(id -u)" = 0 ]; then
    chown postgres "$DIR"
    AS=(runuser -u postgres --)
else
    AS=()
fi
if [ ! -f "$DIR/data/PG_VERSION" ]; then
    "${AS[@]}" "$BIN/initdb" -D "$DIR/data" -U postgres -A trust -E UTF8 --no-sync >&2
fi
"${AS[@]}" "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w \
    -o "-p $PORT -k $DIR -c listen_addresses=127.0.0.1 -c max_connections=200" start >&2
echo "postgresql://postgres@127.0.0.1:$PORT/postgres"
