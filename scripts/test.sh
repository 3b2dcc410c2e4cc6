#!/usr/bin/env bash
# The whole test suite, as CI runs it. On a fresh Debian 12 machine, as root:
#
#   scripts/test.sh
#
# Stages (each in its own build directory under BUILD_ROOT):
#   deps      scripts/deps.sh: install missing Debian packages
#   release   RelWithDebInfo build + ctest (everything)
#   asan      -DFLOCK_SANITIZE=address,undefined build + ctest (everything)
#   quickstart scripts/quickstart.sh on the release build: flockd, a demo
#             campaign, examples/quickstart end to end and the
#             invitee.accepted webhook arriving at examples/webhook_receiver
#             (the README's main command must keep working)
#   tsan      -DFLOCK_SANITIZE=thread build + ctest of libflock's and
#             flockd's tests (labels lib, common, flockd): the SDK's
#             threads, and every flockd the integration tests start, run
#             under ThreadSanitizer; any report (they go to BUILD_ROOT/
#             logs/tsan/, flockd's included) fails the stage
#   clang     the whole tree built with clang, warnings as errors (no
#             tests): clang's -Wall adds checks gcc 12 lacks, such as
#             -Wsometimes-uninitialized for a variable a branch leaves unset
#   valgrind  the unit test programs of tests/common and tests/lib under
#             valgrind (flockd's integration tests are left out for time:
#             they run under ASan+UBSan in the asan stage)
#   fuzz      fuzz/run.sh: libFuzzer targets with clang, FUZZ_SECONDS each
#   browser   the dashboard in Debian's chromium (tests/browser, playwright-
#             core from tests/browser/package-lock.json, `npm ci` when
#             node_modules is missing) against the release build's flockd
#             and examples/quickstart; screenshots of every page into
#             SHOTS_DIR (default BUILD_ROOT/screenshots; docs/dashboard/
#             holds the committed ones); then Flock's hosted pages in a
#             phone-sized chromium with stand-ins for the mobile SDKs'
#             bridges (pages.test.mjs), screenshots into PAGES_SHOTS_DIR
#             (default BUILD_ROOT/screenshots/mobile-sdks; docs/mobile-sdks/)
#   package   scripts/package.sh (as root): the Debian packages built with
#             CPack, lintian, installed with apt, the packaged flockd
#             started and the quick start run against it, then purged
#
# PostgreSQL: with FLOCK_TEST_PG set to an admin URL (.ci/run starts a
# throwaway cluster with scripts/pg-cluster.sh and sets it), the release and
# asan stages also run every flockd test on PostgreSQL (ctest's flockd-pg/
# tests); without it those are reported as skipped.
#
# Environment: BUILD_ROOT (default build/test), JOBS (2), FUZZ_SECONDS (60),
# STAGES (default "deps release quickstart browser asan tsan clang
# valgrind fuzz package": a subset).
# Every stage runs even if an earlier one failed; the exit status is 0 only
# if all passed. Logs: BUILD_ROOT/logs/<stage>.log.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
root=${BUILD_ROOT:-$src/build/test}
jobs=${JOBS:-2}
fuzz_seconds=${FUZZ_SECONDS:-60}
stages=${STAGES:-deps release quickstart browser asan tsan clang valgrind fuzz package}
logs=$root/logs
mkdir -p "$logs"

summary=()
failed=0
failed_stages=()

stage_deps() {
	"$src/scripts/deps.sh"
}

# configure_build <dir> [cmake args...]
configure_build() {
	local dir=$1
	shift
	cmake -S "$src" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
	cmake --build "$dir" -j "$jobs"
}

stage_release() {
	configure_build "$root/release"
	(cd "$root/release" && ctest -j "$jobs" --output-on-failure)
}

stage_quickstart() {
	if [ ! -x "$src/scripts/quickstart.sh" ]; then
		echo "quickstart: no scripts/quickstart.sh, skipped"
		return 0
	fi
	BUILD_DIR=$root/release JOBS=$jobs "$src/scripts/quickstart.sh"
}

stage_asan() {
	# Benchmarks are built (and kept honest) by the release stage.
	configure_build "$root/asan" -DFLOCK_SANITIZE=address,undefined \
		-DFLOCK_BUILD_BENCH=OFF
	(cd "$root/asan" &&
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest -j "$jobs" --output-on-failure)
}

stage_tsan() {
	local reports=$logs/tsan status=0
	configure_build "$root/tsan" -DFLOCK_SANITIZE=thread \
		-DFLOCK_BUILD_BENCH=OFF
	rm -rf "$reports"
	mkdir -p "$reports"
	# log_path: a report of a flockd child (whose exit status a test may
	# not see) lands in a file too, and fails the stage below.
	(cd "$root/tsan" &&
		TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1 log_path=$reports/tsan" \
		ctest -j "$jobs" -L "lib|common|flockd" --output-on-failure) ||
		status=1
	if compgen -G "$reports/tsan*" >/dev/null; then
		echo "tsan: ThreadSanitizer reports:"
		cat "$reports"/tsan*
		status=1
	fi
	return $status
}

stage_valgrind() {
	local dir=$root/release prog status=0 n=0
	if [ ! -d "$dir/tests" ]; then
		configure_build "$dir"
	fi
	for prog in "$dir"/tests/common_test_* "$dir"/tests/lib_test_*; do
		[ -x "$prog" ] || continue
		n=$((n + 1))
		echo "== valgrind $(basename "$prog")"
		if ! (cd "$dir/tests" && timeout 900 valgrind -q \
			--leak-check=full --error-exitcode=1 \
			--errors-for-leak-kinds=definite,possible \
			--show-leak-kinds=definite,possible \
			--track-origins=yes "$prog"); then
			echo "== valgrind $(basename "$prog"): FAILED"
			status=1
		fi
	done
	echo "valgrind: $n test programs, $([ $status -eq 0 ] && echo "no errors" || echo "ERRORS")"
	[ $n -gt 0 ] && return $status
	echo "valgrind: no test programs found in $dir/tests" >&2
	return 1
}

stage_clang() {
	CC=clang configure_build "$root/clang"
}

stage_fuzz() {
	if [ ! -x "$src/fuzz/run.sh" ]; then
		echo "fuzz: no fuzz/run.sh, skipped"
		return 0
	fi
	JOBS=$jobs "$src/fuzz/run.sh" "$root/fuzz" "$fuzz_seconds"
}

stage_browser() {
	local dir=$root/release web=$src/tests/browser
	if [ ! -x "$dir/src/flockd/flockd" ] || [ ! -x "$dir/examples/quickstart" ]; then
		cmake -S "$src" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo
		cmake --build "$dir" -j "$jobs" --target flockd example_quickstart
	fi
	command -v node >/dev/null || { echo "browser: no node (scripts/deps.sh)" >&2; return 1; }
	[ -x /usr/bin/chromium ] || { echo "browser: no /usr/bin/chromium (scripts/deps.sh)" >&2; return 1; }
	if [ ! -d "$web/node_modules/playwright-core" ]; then
		(cd "$web" && npm ci --no-audit --no-fund)
	fi
	(cd "$web" && FLOCKD_BIN=$dir/src/flockd/flockd \
		QUICKSTART_BIN=$dir/examples/quickstart \
		SHOTS_DIR=${SHOTS_DIR:-$root/screenshots} \
		PAGES_SHOTS_DIR=${PAGES_SHOTS_DIR:-$root/screenshots/mobile-sdks} \
		timeout 1200 node --test --test-concurrency=1 --test-timeout=600000 \
		dashboard.test.mjs pages.test.mjs)
}

stage_package() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "package: needs root (it installs the packages): skipped"
		return 0
	fi
	JOBS=$jobs "$src/scripts/package.sh" "$root/package"
}

run_stage() {
	local name=$1 start end rc
	start=$(date +%s)
	echo
	echo "=================== $name ==================="
	set +e
	(set -e; "stage_$name") 2>&1 | tee "$logs/$name.log"
	rc=${PIPESTATUS[0]}
	set -e
	end=$(date +%s)
	if [ "$rc" -eq 0 ]; then
		summary+=("$(printf '%-10s PASS  %5ss' "$name" $((end - start)))")
	else
		summary+=("$(printf '%-10s FAIL  %5ss  (log: %s)' "$name" \
			$((end - start)) "$logs/$name.log")")
		failed=1
		failed_stages+=("$name")
	fi
}

t0=$(date +%s)
for s in $stages; do
	if ! declare -F "stage_$s" >/dev/null; then
		echo "unknown stage: $s" >&2
		exit 2
	fi
	run_stage "$s"
done

echo
echo "=================== summary ==================="
for line in "${summary[@]}"; do
	echo "$line"
done
for s in release asan tsan; do
	if [ -f "$logs/$s.log" ] && [[ " $stages " == *" $s "* ]]; then
		grep -E "tests passed|tests failed out of" "$logs/$s.log" |
			sed "s/^/$s ctest: /" || echo "$s ctest: no summary (build failed?)"
		grep -E "^[[:space:]]+[0-9]+ - .*\((Failed|Timeout|SEGFAULT|Subprocess aborted|Not Run|Exception).*\)" \
			"$logs/$s.log" | sed "s/^/$s failed: /" || true
	fi
done
# What each failed stage said, here at the end where a CI log cut to its
# head and tail still shows it: a browser test's failures with their
# errors, the last lines of any other stage (ctest's failures are listed
# above by name).
for s in "${failed_stages[@]}"; do
	echo
	echo "=================== $s: how it failed ==================="
	if [ "$s" = browser ]; then
		awk '/^ *not ok /{n=14} n>0{print; n--}' "$logs/$s.log" | tail -n 60
	else
		tail -n 25 "$logs/$s.log"
	fi
done
echo "total: $(($(date +%s) - t0))s, $([ $failed -eq 0 ] && echo PASSED || echo FAILED)"
exit $failed
