#!/usr/bin/env bash
# Install every Debian 12 package flock-c needs to build, test, benchmark
# and fuzz. Idempotent: does nothing (and needs no root) when all are
# present. Run as root, or as a user with sudo.
set -euo pipefail

packages=(
	build-essential cmake pkg-config            # toolchain, CMake, pkg-config (pkgconf)
	clang libclang-rt-14-dev                    # fuzzing: libFuzzer, sanitizer runtimes
	valgrind                                    # memory checks in scripts/test.sh
	libcurl4-openssl-dev libjansson-dev libssl-dev   # libflock: HTTP, JSON, crypto
	libmicrohttpd-dev libsqlite3-dev sqlite3    # flockd: HTTP server, storage; libflock: the queue's spool
	libpq-dev postgresql                        # flockd: PostgreSQL storage
	libjemalloc-dev                             # flockd: its allocator (src/flockd/CMakeLists.txt)
	libsystemd-dev                              # flockd: sd_notify (Type=notify)
	libcmocka-dev                               # unit tests
	wrk python3 curl ca-certificates            # benchmarks, test helpers
	chromium chromium-driver fonts-dejavu-core  # the dashboard's browser tests
	nodejs                                      # ... driven by playwright-core (Node 20 or later)
	zsh fish                                    # flockctl's completion checked by its shells
	man-db groff-base                           # man pages rendered and checked
	dpkg-dev file lintian systemd               # Debian packages: shlibdeps, lintian, systemd-analyze
)

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	if [ "$status" != "installed" ]; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "deps: all ${#packages[@]} packages present"
	exit 0
fi

echo "deps: installing ${missing[*]}"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
	if ! command -v sudo >/dev/null; then
		echo "deps: run as root (or install sudo) to install: ${missing[*]}" >&2
		exit 1
	fi
	sudo=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" \
	</dev/null >/dev/null
echo "deps: done"
