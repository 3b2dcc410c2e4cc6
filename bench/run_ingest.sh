#!/usr/bin/env bash
# flockd ingest benchmark: noop vs reward-granting ingest at 64
# connections, with 10^3 and then 10^6 customers pre-loaded.
#
#   bench/run_ingest.sh            (after a build into build/)
#
# Environment: BUILD_DIR (build), DURATION (10 s per phase), CONNECTIONS
# (64), SERVER_THREADS (4), SIZES ("1000 1000000").
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$src/build}
bin=$build/bench/bench_ingest
export FLOCKD_BIN=${FLOCKD_BIN:-$build/src/flockd/flockd}
[ -x "$bin" ] || { echo "build first: cmake --build $build -j2" >&2; exit 1; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
echo "flockd:  $("$FLOCKD_BIN" --version)"
for n in ${SIZES:-1000 1000000}; do
	echo
	echo "== $n customers"
	"$bin" --customers "$n" --duration "${DURATION:-10}" \
		--connections "${CONNECTIONS:-64}" \
		--server-threads "${SERVER_THREADS:-4}"
done
