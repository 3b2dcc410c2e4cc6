#!/usr/bin/env bash
# The Debian packages, end to end, as CI runs them (scripts/test.sh stage
# `package`). On a Debian 12 machine, as root (it installs and removes
# packages):
#
#   scripts/package.sh [BUILD_DIR]        # default build/package
#
# 1. builds the tree for /usr without tests (cmake, -j JOBS) and makes the
#    packages with CPack: libflock<SONAME>, libflock-dev, flockd, flockctl
# 2. lintian on each: no error, no warning
# 3. installs them with apt (their dependencies must resolve)
# 4. checks the installed unit: systemd-analyze verify, and security
#    (exposure at most 2.0); the man pages render without warnings; the
#    completions are where the shells look
# 5. starts the packaged flockd (there is no systemd as PID 1 in CI: the
#    binary itself, as the unit would, with --if-new and a keys file) and
#    runs the quick start (scripts/quickstart.sh) against it with the
#    packaged flockctl and the examples compiled against libflock-dev
#    (pkg-config flock)
# 6. purges the packages and checks that nothing of them is left
#
# Environment: JOBS (2). Exits 0 only if every step passed.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build/package}
jobs=${JOBS:-2}
tmp=
pid=
installed=()

say() { printf '\n== package: %s\n' "$*"; }
fail() {
	printf '\npackage: FAILED: %s\n' "$*" >&2
	exit 1
}

cleanup() {
	local rc=$?
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" || true
		wait "$pid" || true
	fi
	# Never leave the packages on the machine, even after a failure.
	if [ ${#installed[@]} -gt 0 ] && dpkg-query -W flockd >/dev/null 2>&1; then
		apt-get purge -y -qq "${installed[@]}" >/dev/null 2>&1 || true
	fi
	[ -n "$tmp" ] && rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT

[ "$(id -u)" -eq 0 ] || fail "run as root: it installs packages"

say "build for /usr and make the packages (cpack -G DEB)"
# Debian's build flags, hardening included (fortify, stack protector,
# relro and bindnow), as a Debian package build would use them; CMake
# reads CFLAGS and LDFLAGS on the first configure, so start afresh.
export DEB_BUILD_MAINT_OPTIONS=hardening=+all
CFLAGS="$(dpkg-buildflags --get CPPFLAGS) $(dpkg-buildflags --get CFLAGS)"
CXXFLAGS="$(dpkg-buildflags --get CPPFLAGS) $(dpkg-buildflags --get CXXFLAGS)"
LDFLAGS=$(dpkg-buildflags --get LDFLAGS)
export CFLAGS CXXFLAGS LDFLAGS
rm -rf "$build"
cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	-DCMAKE_INSTALL_PREFIX=/usr -DBUILD_TESTING=OFF \
	-DFLOCK_BUILD_EXAMPLES=OFF -DFLOCK_BUILD_BENCH=OFF >/dev/null
cmake --build "$build" -j "$jobs"
rm -f "$build"/*.deb
(cd "$build" && cpack -G DEB) || fail "cpack"
mapfile -t debs < <(ls "$build"/*.deb)
[ ${#debs[@]} -eq 4 ] || fail "expected 4 packages, got ${#debs[@]}"
for d in "${debs[@]}"; do
	echo "-- $(basename "$d")"
	dpkg-deb --field "$d" Package Version Depends | sed 's/^/   /'
done
lib=$(basename "$(ls "$build"/libflock[0-9]*.deb)" | cut -d_ -f1)

say "lintian"
# --fail-on: errors and warnings fail; info and pedantic tags are shown.
lintian --fail-on error,warning --info --display-info "${debs[@]}" ||
	fail "lintian"

say "install with apt (dependencies from the archive)"
installed=("$lib" libflock-dev flockd flockctl)
apt-get install -y -qq --no-install-recommends "${debs[@]}" </dev/null ||
	fail "apt-get install"
dpkg-query -W "${installed[@]}"
version=$(flockd --version)
echo "$version"
grep -q "(jemalloc " <<<"$version" ||
	fail "the packaged flockd does not run on jemalloc: $version"
flockctl --version
# ldd's output is taken whole first: `ldd | grep -q` under pipefail fails
# whenever grep exits at its match before ldd has written its last line
# (ldd dies of SIGPIPE), which is how this check once failed with the
# right library in its message.
linked=$(ldd /usr/bin/flockctl)
grep -Eq "libflock[.]so[.][0-9]+ => /(usr/)?lib/" <<<"$linked" ||
	fail "flockctl does not use the installed libflock: $(grep libflock <<<"$linked")"

say "the installed unit, man pages and completions"
unit=$(dpkg -L flockd | grep '/flockd.service$')
echo "unit: $unit"
systemd-analyze verify "$unit" || fail "systemd-analyze verify"
systemd-analyze security --offline=yes --threshold=20 "$unit" | tail -n 1 ||
	fail "systemd-analyze security: exposure above 2.0"
for page in flockctl.1 flockd.8 libflock.3; do
	path=$(man -w "${page%.*}" 2>/dev/null | head -n 1)
	[ -n "$path" ] || fail "man ${page%.*}: not installed"
	warn=$(LC_ALL=C.UTF-8 MANROFFSEQ='' MANWIDTH=80 man --warnings -E UTF-8 \
		-l -Tutf8 -Z "$path" 2>&1 >/dev/null)
	[ -z "$warn" ] || fail "man $path: $warn"
	echo "man: $path renders without warnings"
done
for f in /usr/share/bash-completion/completions/flockctl \
	/usr/share/zsh/vendor-completions/_flockctl \
	/usr/share/fish/vendor_completions.d/flockctl.fish; do
	[ -s "$f" ] || fail "no $f"
done
bash -c 'source /usr/share/bash-completion/completions/flockctl &&
	COMP_WORDS=(flockctl webhooks liste) COMP_CWORD=2 && _flockctl &&
	[ "${COMPREPLY[*]}" = listen ]' || fail "bash completion"

say "the packaged flockd, and the quick start against it"
tmp=$(mktemp -d /tmp/flock-package.XXXXXX)
# The examples against the installed SDK, as a user of libflock-dev would.
cc -o "$tmp/quickstart" "$src/examples/quickstart.c" \
	$(pkg-config --cflags --libs flock) || fail "examples/quickstart.c"
cc -o "$tmp/webhook_receiver" "$src/examples/webhook_receiver.c" \
	$(pkg-config --cflags --libs flock libmicrohttpd jansson) -pthread ||
	fail "examples/webhook_receiver.c"
# What the unit runs before serving, on a fresh state directory.
install -d -m 0700 "$tmp/state"
FLOCKD_DATABASE=$tmp/state/flockd.db flockd init --if-new \
	--keys-file "$tmp/state/initial-keys.json" || fail "flockd init"
[ "$(stat -c %a "$tmp/state/flockd.db")" = 600 ] || fail "database not 0600"
[ "$(stat -c %a "$tmp/state/initial-keys.json")" = 600 ] ||
	fail "keys file not 0600"
FLOCKD_DATABASE=$tmp/state/flockd.db flockd init --if-new \
	--keys-file "$tmp/state/initial-keys.json" || fail "flockd init again"
FLOCKD_BIN=/usr/bin/flockd FLOCKCTL_BIN=/usr/bin/flockctl \
	QUICKSTART_BIN=$tmp/quickstart RECEIVER_BIN=$tmp/webhook_receiver \
	"$src/scripts/quickstart.sh" || fail "quick start on the packages"

say "purge, and nothing left"
apt-get purge -y -qq "${installed[@]}" </dev/null || fail "apt-get purge"
installed=()
for p in "$lib" libflock-dev flockd flockctl; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	if [ -n "$status" ] && [ "$status" != not-installed ]; then
		fail "$p still installed"
	fi
done
for f in /usr/bin/flockd /usr/bin/flockctl /usr/include/flock.h \
	/usr/lib/x86_64-linux-gnu/pkgconfig/flock.pc "$unit" \
	/etc/systemd/system/multi-user.target.wants/flockd.service; do
	[ ! -e "$f" ] || fail "$f left after purge"
done
echo "package: OK"
