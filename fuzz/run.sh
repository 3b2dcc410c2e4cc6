#!/bin/sh
# Build the libFuzzer targets with clang and run each for a bounded time
# on a scratch copy of its seed corpus (the seeds in git stay as they are).
#
#   fuzz/run.sh [BUILD_DIR] [SECONDS]     defaults: build-fuzz, 60
#
# SECONDS is the time of each libflock target (envelope, webhook, result);
# each flockd target (request bodies: identify, ingest, referrals, trigger,
# campaign; and jdump) runs BODY_SECONDS, by default a quarter of SECONDS
# (at least 5), so the whole run stays within about 4.5 x SECONDS.
#
# Extra libFuzzer flags can be given in FUZZ_FLAGS (e.g. "-jobs=2").
# Exits non-zero if a target fails to build or finds a crash; crash inputs
# are left in BUILD_DIR/fuzz-out/<target>/.
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build-fuzz}
seconds=${2:-60}
jobs=${JOBS:-2}
body_seconds=${BODY_SECONDS:-$((seconds / 4 > 5 ? seconds / 4 : 5))}

CC=${CC:-clang} CXX=${CXX:-clang++} cmake -S "$src" -B "$build" \
	-DFLOCK_BUILD_FUZZ=ON -DFLOCK_SANITIZE=address,undefined \
	-DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

status=0
for seeds in "$src"/fuzz/corpus/*/; do
	name=$(basename "$seeds")
	target=fuzz_$name
	case $name in
	envelope | webhook | result) t=$seconds ;;
	*) t=$body_seconds ;;
	esac
	cmake --build "$build" -j "$jobs" --target "$target"
	out=$build/fuzz-out/$target
	rm -rf "$out"
	mkdir -p "$out/corpus"
	cp "$seeds"* "$out/corpus/"
	echo "== $target: $t s"
	# shellcheck disable=SC2086
	if ! "$build/fuzz/$target" -max_total_time="$t" \
		-artifact_prefix="$out/" -print_final_stats=1 \
		${FUZZ_FLAGS:-} "$out/corpus"; then
		echo "== $target: FAILED, see $out/" >&2
		status=1
	fi
done
exit $status
