#!/usr/bin/env bash
# Instructions per reward-granting ingest, by thread (callgrind): the
# writer thread (fd-writer: every job, group commit) and all the others
# (HTTP, syncer, checkpointer, delivery).
#
#   bench/callgrind_ingest.sh            (after a build into build/)
#   BUILD_DIR=build/release DURATION=5 bench/callgrind_ingest.sh
#   bench/callgrind_ingest.sh --idempotency-key 1   (more bench_ingest options)
#
# bench_ingest starts `flockd serve` under valgrind --tool=callgrind
# --instr-atstart=no --separate-threads=yes; instrumentation is switched on
# (callgrind_control -i on) right before the ingest phase and off right
# after it (BENCH_INGEST_HOOK), so setup and /noop are not counted. Each
# thread's total Ir is divided by the ingests bench_ingest reports.
#
# Environment: BUILD_DIR (build), DURATION (5 s of ingest under valgrind),
# CONNECTIONS (16), REFEREES (3000), KEEP=1 keeps the callgrind files.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${BUILD_DIR:-$src/build}" && pwd)
bin=$build/bench/bench_ingest
flockd=$build/src/flockd/flockd
[ -x "$bin" ] && [ -x "$flockd" ] || { echo "build first: cmake --build $build -j2" >&2; exit 1; }
command -v valgrind >/dev/null || { echo "valgrind is needed" >&2; exit 1; }

work=$(mktemp -d /tmp/callgrind-ingest-XXXXXX)
cleanup() { [ "${KEEP:-0}" = 1 ] || rm -rf "$work"; }
trap cleanup EXIT

# flockd serve under callgrind; init and bench-seed as they are.
cat >"$work/flockd" <<EOS
#!/bin/sh
if [ "\$1" = serve ]; then
	exec valgrind --tool=callgrind --instr-atstart=no --separate-threads=yes \\
		--callgrind-out-file=$work/cg.out "$flockd" "\$@"
fi
exec "$flockd" "\$@"
EOS
cat >"$work/hook" <<'EOS'
#!/bin/sh
case "$1" in
ingest-start) callgrind_control -i on "$2" >/dev/null ;;
ingest-end) callgrind_control -i off "$2" >/dev/null ;;
esac
EOS
chmod +x "$work/flockd" "$work/hook"

out=$(BENCH_INGEST_HOOK="$work/hook" "$bin" --flockd "$work/flockd" \
	--duration "${DURATION:-5}" --connections "${CONNECTIONS:-16}" \
	--referees "${REFEREES:-3000}" --customers 1000 "$@")
echo "$out"
ingests=$(echo "$out" | sed -n 's/^ingest .*(\([0-9]*\) ok.*/\1/p')
[ -n "$ingests" ] && [ "$ingests" -gt 0 ] || { echo "no ingests" >&2; exit 1; }

# One file per thread (cg.out-01, -02, ...); the writer's runs writer_main.
writer=0 others=0
for f in "$work"/cg.out*; do
	ir=$(sed -n 's/^totals: *\([0-9]*\).*/\1/p' "$f" | head -1)
	[ -n "$ir" ] || ir=$(sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$f" | head -1)
	[ -n "$ir" ] || continue
	if grep -q 'writer_main' "$f"; then
		writer=$((writer + ir))
	else
		others=$((others + ir))
	fi
done
echo "callgrind: $ingests ingests"
echo "writer   $((writer / ingests)) instructions per ingest"
echo "others   $((others / ingests)) instructions per ingest"
echo "total    $(((writer + others) / ingests)) instructions per ingest"
