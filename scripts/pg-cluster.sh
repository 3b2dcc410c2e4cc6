#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on loopback for flockd's PostgreSQL tests
# and benchmarks (the same one CI uses).
#
#   scripts/pg-cluster.sh start [DIR]   initdb in DIR (default: a new temp
#                                       dir), start on a free 127.0.0.1 port,
#                                       print the admin URL on stdout
#   scripts/pg-cluster.sh stop DIR      stop the cluster and remove DIR
#   scripts/pg-cluster.sh pause DIR     stop the server (immediate), keep DIR
#   scripts/pg-cluster.sh resume DIR    start it again on the same port
#                                       (outage tests: a real server gone)
#
# Typical use:
#   dir=$(mktemp -d); export FLOCK_TEST_PG=$(scripts/pg-cluster.sh start "$dir")
#   ...; scripts/pg-cluster.sh stop "$dir"
#
# The server runs as an unprivileged user (postgres when run as root, else
# the caller), trusts local connections on 127.0.0.1 only, and keeps its
# data, socket and log inside DIR. Needs the postgresql Debian package
# (scripts/deps.sh installs it).
set -euo pipefail

bindir=${PG_BINDIR:-}
if [ -z "$bindir" ]; then
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] && bindir=$d
	done
fi
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
	echo "pg-cluster: initdb not found (install postgresql: scripts/deps.sh)" >&2
	exit 1
fi

as_user() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# Start the server of $dir on port $1. 0 if it runs.
serve() {
	# fsync stays on: durability is what flockd's tests check.
	as_user "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" \
		-w -t 60 -o "-c listen_addresses=127.0.0.1 -p $1 \
		-c unix_socket_directories=$dir -c max_connections=300 \
		-c shared_buffers=64MB" start >/dev/null 2>&1
}

cmd=${1:-}
case "$cmd" in
start)
	dir=${2:-$(mktemp -d /tmp/flock-pg-XXXXXX)}
	mkdir -p "$dir"
	if [ "$(id -u)" -eq 0 ]; then
		chown postgres: "$dir"
	fi
	chmod 700 "$dir"
	as_user "$bindir/initdb" -D "$dir/data" -U postgres -A trust \
		--no-sync -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
		cat "$dir/initdb.log" >&2
		exit 1
	}
	user=postgres
	for attempt in 1 2 3 4 5; do
		port=$(free_port)
		if serve "$port"; then
			echo "$port" >"$dir/port"
			echo "postgres://$user@127.0.0.1:$port/postgres"
			exit 0
		fi
	done
	echo "pg-cluster: could not start; see $dir/server.log" >&2
	tail -20 "$dir/server.log" >&2 || true
	exit 1
	;;
stop)
	dir=${2:?usage: pg-cluster.sh stop DIR}
	if [ -d "$dir/data" ]; then
		as_user "$bindir/pg_ctl" -D "$dir/data" -m fast -w stop \
			>/dev/null 2>&1 || true
	fi
	rm -rf "$dir"
	;;
pause)
	dir=${2:?usage: pg-cluster.sh pause DIR}
	as_user "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop \
		>/dev/null 2>&1
	;;
resume)
	dir=${2:?usage: pg-cluster.sh resume DIR}
	serve "$(cat "$dir/port")" || {
		tail -20 "$dir/server.log" >&2 || true
		exit 1
	}
	;;
*)
	echo "usage: pg-cluster.sh start [DIR] | stop DIR | pause DIR |" \
		"resume DIR" >&2
	exit 2
	;;
esac
