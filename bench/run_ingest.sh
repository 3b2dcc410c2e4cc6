#!/usr/bin/env bash
# flockd ingest benchmark: noop vs reward-granting ingest at 64
# connections, with 10^3 and then 10^6 customers pre-loaded.
#
#   bench/run_ingest.sh            (after a build into build/)
#   BACKENDS="sqlite pg1 pg2" SIZES=1000 bench/run_ingest.sh
#
# BACKENDS (default "sqlite"): sqlite = a SQLite file; pg1 = PostgreSQL, one
# flockd; pg2 = PostgreSQL, two flockd nodes on the one database, the
# connections alternating between them. PostgreSQL: FLOCK_BENCH_PG (an
# admin URL, e.g. postgres://postgres@127.0.0.1:5432/postgres) or, if
# unset, a throwaway cluster started with scripts/pg-cluster.sh (and
# stopped at the end); every run gets a fresh database, dropped after.
#
# Environment: BUILD_DIR (build), DURATION (10 s per phase), CONNECTIONS
# (64), SERVER_THREADS (4), SIZES ("1000 1000000"), BACKENDS, REFEREES
# (bench_ingest's default).
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$src/build}
bin=$build/bench/bench_ingest
export FLOCKD_BIN=${FLOCKD_BIN:-$build/src/flockd/flockd}
[ -x "$bin" ] || { echo "build first: cmake --build $build -j2" >&2; exit 1; }

backends=${BACKENDS:-sqlite}
pg=${FLOCK_BENCH_PG:-}
pgdir=
cleanup() {
	if [ -n "$pgdir" ]; then
		"$src/scripts/pg-cluster.sh" stop "$pgdir"
	fi
}
trap cleanup EXIT
if [[ " $backends " == *" pg"* ]] && [ -z "$pg" ]; then
	pgdir=$(mktemp -d /tmp/flock-bench-pg-XXXXXX)
	pg=$("$src/scripts/pg-cluster.sh" start "$pgdir")
fi

# fresh_db NAME: create database NAME on the admin URL, print its URL.
fresh_db() {
	PGOPTIONS="-c client_min_messages=warning" psql -qX "$pg" -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1" >/dev/null
	echo "${pg%/*}/$1"
}

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
echo "flockd:  $("$FLOCKD_BIN" --version)"
for n in ${SIZES:-1000 1000000}; do
	for be in $backends; do
		args=(--customers "$n" --duration "${DURATION:-10}"
			--connections "${CONNECTIONS:-64}"
			--server-threads "${SERVER_THREADS:-4}")
		if [ -n "${REFEREES:-}" ]; then
			args+=(--referees "$REFEREES")
		fi
		db=
		case "$be" in
		sqlite) ;;
		pg1 | pg2)
			db=bench_ingest_$$
			args+=(--database "$(fresh_db "$db")" --nodes "${be#pg}")
			;;
		*) echo "unknown backend $be (sqlite, pg1, pg2)" >&2; exit 2 ;;
		esac
		echo
		echo "== $n customers, $be"
		"$bin" "${args[@]}"
		if [ -n "$db" ]; then
			psql -qX "$pg" -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null
		fi
	done
done
