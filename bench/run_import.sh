#!/usr/bin/env bash
# flockctl import against a local flockd: ROWS customers (default 10^6)
# from one CSV file, through flockd's bulk import with an idempotency key
# per row (bench/README.md, "flockctl import").
#
#   bench/run_import.sh                 # 10^6 rows, SQLite
#   ROWS=100000 bench/run_import.sh
#   DATABASE=postgres://... bench/run_import.sh   # a fresh, empty database
#
# 1. flockd init on a fresh database in a temp dir, flockd serve
#    (--log-level warn) on a free loopback port;
# 2. a CSV of ROWS customers (externalUserId, email, name and a custom
#    property column), made before the clock starts;
# 3. flockctl import customers FILE (default batch size and concurrency),
#    timed by flockctl itself (its JSON summary: rowsPerSecond);
# 4. checks that flockd holds ROWS customers and ROWS customer.created
#    events; then imports the same file again (every row answered from its
#    idempotency record) and prints both rates.
#
# Environment: BUILD_DIR (default build), ROWS, DATABASE, BATCH, CONCURRENCY,
# KEEP=1 (keep the temp dir).
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$src/build}
rows=${ROWS:-1000000}
flockd=$build/src/flockd/flockd
flockctl=$build/src/flockctl/flockctl
tmp=$(mktemp -d /tmp/flock-bench-import.XXXXXX)
pid=

cleanup() {
	[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" || true
	[ "${KEEP:-0}" = 1 ] && echo "kept $tmp" || rm -rf "$tmp"
}
trap cleanup EXIT

[ -x "$flockd" ] && [ -x "$flockctl" ] ||
	{ echo "build first: cmake --build $build" >&2; exit 1; }
db=${DATABASE:-$tmp/flockd.db}
"$flockd" init --database "$db" --keys-file "$tmp/keys.json" 2>/dev/null
port=$(python3 -c 'import socket
s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$flockd" serve --database "$db" --listen "127.0.0.1:$port" \
	--log-level warn 2>"$tmp/flockd.log" &
pid=$!
for _ in $(seq 100); do
	curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
	sleep 0.1
done
export FLOCKCTL_CONFIG=$tmp/flockctl.conf XDG_STATE_HOME=$tmp
"$flockctl" --base-url "http://127.0.0.1:$port" config set \
	--from-init "$tmp/keys.json" 2>/dev/null

python3 - "$tmp/customers.csv" "$rows" <<'EOF'
import sys
with open(sys.argv[1], "w") as f:
    f.write("externalUserId,email,name,plan\n")
    for i in range(int(sys.argv[2])):
        f.write("bench-%d,bench-%d@example.com,Customer %d,%s\n"
                % (i, i, i, ("free", "pro", "team")[i % 3]))
EOF
backend=SQLite
[ -n "${DATABASE:-}" ] && backend=PostgreSQL
echo "flockd $("$flockd" --version | cut -d' ' -f2) on $backend," \
	"$rows rows ($(du -h "$tmp/customers.csv" | cut -f1)), $(nproc) cores"

opts=()
[ -n "${BATCH:-}" ] && opts+=(--batch-size "$BATCH")
[ -n "${CONCURRENCY:-}" ] && opts+=(--concurrency "$CONCURRENCY")
rate() {
	python3 -c 'import json,sys
s=json.load(sys.stdin)
print("%s: %d rows in %.1f s: %.0f rows/s (created %d, already imported %d, rejected %d)" % (
      sys.argv[1], s["rows"], s["seconds"], s["rowsPerSecond"], s["created"],
      s["replayed"], s["rejected"]))' "$1"
}
"$flockctl" --json import customers "$tmp/customers.csv" --no-progress \
	"${opts[@]}" | rate "first import"
n=$(sqlite3 "$db" "SELECT count(*) FROM customers" 2>/dev/null ||
	psql -tA "$db" -c "SELECT count(*) FROM customers")
e=$(sqlite3 "$db" "SELECT count(*) FROM outbox WHERE name = 'customer.created'" 2>/dev/null ||
	psql -tA "$db" -c "SELECT count(*) FROM outbox WHERE name = 'customer.created'")
echo "flockd holds $n customers, $e customer.created events"
[ "$n" = "$rows" ] && [ "$e" = "$rows" ] || { echo "expected $rows" >&2; exit 1; }
"$flockctl" --json import customers "$tmp/customers.csv" --no-progress \
	"${opts[@]}" | rate "again (idempotent replays)"
