#!/usr/bin/env bash
# flock-c in one command, on a fresh Debian 12 machine, as root:
#
#   scripts/quickstart.sh
#
# 1. installs missing Debian packages (scripts/deps.sh)
# 2. builds flockd and the examples into build/ (cmake, -j2)
# 3. creates a fresh database with `flockd init` in a temp dir
# 4. starts flockd on 127.0.0.1:<free port> and waits for /readyz
# 5. creates a demo campaign with flockctl (the admin API): $10 for the
#    referrer, $10 for the invitee, paid when `purchase_completed` is
#    ingested; live in production
# 6. starts build/examples/webhook_receiver (the Express webhook route in
#    C, verifying with libflock) and subscribes it to invitee.accepted and
#    reward.created with flockctl (flockd runs with
#    --webhook-allow-private: the receiver is on loopback)
# 7. runs build/examples/quickstart: identify a referrer and an invitee,
#    validate the code, get the live campaign, create the referral, ingest
#    purchase_completed, print the rewards granted (libflock against flockd)
# 8. waits for the invitee.accepted webhook to arrive at the receiver,
#    verified (both signature schemes)
# 9. lists the rewards with flockctl
# 10. prints the dashboard's URL (flockd serves it with --dashboard-listen)
#     and how to log in; run from a terminal, flockd keeps serving the
#     dashboard until Ctrl-C (CI=true, or no terminal: it goes on at once)
# 11. stops flockd (SIGTERM, graceful) and removes the temp dir
#
# Environment: BUILD_DIR (default build), JOBS (2), KEEP=1 keeps the temp
# dir (database and flockd.log) for a look afterwards. Installed programs
# instead of a build (scripts/package.sh runs the Debian packages so):
# FLOCKD_BIN, FLOCKCTL_BIN, QUICKSTART_BIN and RECEIVER_BIN, all four set,
# skip steps 1 and 2.
set -euo pipefail

src=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$src/build}
jobs=${JOBS:-2}
step=0
pid=
rx_pid=
tmp=

say() {
	step=$((step + 1))
	printf '\n== %d. %s\n' "$step" "$*"
}

fail() {
	printf '\nquickstart: FAILED: %s\n' "$*" >&2
	if [ -n "$tmp" ] && [ -f "$tmp/flockd.log" ]; then
		echo "--- last lines of flockd.log:" >&2
		tail -n 20 "$tmp/flockd.log" >&2 || true
	fi
	exit 1
}

cleanup() {
	local rc=$?
	if [ -n "$rx_pid" ] && kill -0 "$rx_pid" 2>/dev/null; then
		kill -TERM "$rx_pid" 2>/dev/null || true
		wait "$rx_pid" 2>/dev/null || true
	fi
	if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	fi
	if [ -n "$tmp" ]; then
		if [ "${KEEP:-0}" = 1 ]; then
			echo "quickstart: kept $tmp"
		else
			rm -rf "$tmp"
		fi
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# JSON field from stdin: json_get key [key...] (nested).
json_get() {
	python3 -c 'import json,sys
v=json.load(sys.stdin)
for k in sys.argv[1:]:
    v=v[int(k)] if isinstance(v,list) else v[k]
print(v)' "$@"
}

# ctl ARGS...: flockctl against this flockd, with the admin token and the
# service key from flockd init (its profile in the temp dir); JSON out.
ctl() {
	FLOCKCTL_CONFIG=$tmp/flockctl.conf "$flockctl" --json "$@"
}

if [ -n "${FLOCKD_BIN:-}" ] && [ -n "${FLOCKCTL_BIN:-}" ] &&
	[ -n "${QUICKSTART_BIN:-}" ] && [ -n "${RECEIVER_BIN:-}" ]; then
	say "installed programs: $FLOCKD_BIN, $FLOCKCTL_BIN"
	say "(no build)"
	flockd=$FLOCKD_BIN
	flockctl=$FLOCKCTL_BIN
	quickstart=$QUICKSTART_BIN
	receiver=$RECEIVER_BIN
else
	say "dependencies (scripts/deps.sh)"
	if [ -x "$src/scripts/deps.sh" ]; then
		"$src/scripts/deps.sh" || fail "scripts/deps.sh"
	else
		echo "scripts/deps.sh not found; assuming the packages are" \
			"installed"
	fi

	say "build into $build"
	cmake -S "$src" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		>/dev/null || fail "cmake configure"
	cmake --build "$build" -j "$jobs" --target flockd flockctl \
		example_quickstart example_webhook_receiver || fail "build"
	flockd=$build/src/flockd/flockd
	flockctl=$build/src/flockctl/flockctl
	quickstart=$build/examples/quickstart
	receiver=$build/examples/webhook_receiver
fi
for prog in "$flockd" "$flockctl" "$quickstart" "$receiver"; do
	[ -x "$prog" ] || fail "no $prog"
done

say "fresh database with flockd init"
tmp=$(mktemp -d /tmp/flock-quickstart.XXXXXX)
"$flockd" init --database "$tmp/flockd.db" --app-name quickstart \
	--keys-file "$tmp/init.json" 2>>"$tmp/flockd.log" || fail "flockd init"
app=$(json_get applicationId <"$tmp/init.json")
service=$(json_get serviceKey <"$tmp/init.json")
admin=$(json_get adminToken <"$tmp/init.json")
echo "application $app; keys written to $tmp/init.json (mode 0600, shown" \
	"once)"

say "start flockd"
port=$(python3 -c 'import socket
s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
base=http://127.0.0.1:$port
dash_port=$(python3 -c 'import socket
s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
dashboard=http://127.0.0.1:$dash_port/dashboard/
"$flockd" serve --listen "127.0.0.1:$port" --database "$tmp/flockd.db" \
	--dashboard-listen "127.0.0.1:$dash_port" \
	--webhook-allow-private 2>>"$tmp/flockd.log" &
pid=$!
for _ in $(seq 1 100); do
	if curl -fsS "$base/readyz" >/dev/null 2>&1; then
		break
	fi
	kill -0 "$pid" 2>/dev/null || fail "flockd exited"
	sleep 0.1
done
curl -fsS "$base/readyz" >/dev/null || fail "flockd not ready"
echo "flockd $("$flockd" --version | cut -d' ' -f2) ready at $base (pid $pid)"
curl -fsS -o /dev/null "$dashboard" || fail "no dashboard at $dashboard"
echo "dashboard at $dashboard"
# flockctl's profile: the keys from init's file, never on a command line.
FLOCKCTL_CONFIG=$tmp/flockctl.conf "$flockctl" --profile quickstart \
	--base-url "$base" config set --from-init "$tmp/init.json" ||
	fail "flockctl config set"

say "demo campaign with flockctl"
campaign=$(ctl -q campaigns create --name 'Give $10, get $10' \
	--environment production) || fail "campaign"
ctl campaigns add-reward "$campaign" --name '$10 for the referrer' \
	--type payout --party referrer --method paypal --amount 10 \
	--currency usd >/dev/null || fail "referrer reward"
ctl campaigns add-reward "$campaign" --name '$10 for the invitee' \
	--type payout --party referee --method paypal --amount 10 \
	--currency usd >/dev/null || fail "invitee reward"
ctl campaigns add-checkpoint "$campaign" --name purchase_completed \
	--trigger reward >/dev/null || fail "checkpoint"
ctl campaigns go-live "$campaign" >/dev/null || fail "go-live"
echo "campaign $campaign is live in production"

say "webhook receiver (build/examples/webhook_receiver)"
rx_port=$(python3 -c 'import socket
s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
# The secret is shown once: flockctl writes it to a file (0600); the
# receiver takes it from the environment, as the Express example does.
endpoint=$(ctl webhooks create \
	--url "http://127.0.0.1:$rx_port/webhooks/flock" \
	--event invitee.accepted --event reward.created \
	--secret-file "$tmp/whsec") || fail "webhook endpoint"
FLOCK_WEBHOOK_SECRET=$(cat "$tmp/whsec") \
	"$receiver" -p "$rx_port" \
	-o "$tmp/webhooks.jsonl" >"$tmp/receiver.log" 2>&1 &
rx_pid=$!
for _ in $(seq 1 100); do
	grep -q Listening "$tmp/receiver.log" 2>/dev/null && break
	kill -0 "$rx_pid" 2>/dev/null || fail "webhook_receiver exited"
	sleep 0.1
done
echo "endpoint $(printf '%s' "$endpoint" | json_get id) ->" \
	"http://127.0.0.1:$rx_port/webhooks/flock (invitee.accepted," \
	"reward.created)"

say "examples/quickstart (libflock against flockd)"
FLOCK_BASE_URL=$base FLOCK_ACCESS_KEY=$service \
	"$quickstart" purchase_completed ||
	fail "examples/quickstart"

say "the invitee.accepted webhook arrives, verified"
for _ in $(seq 1 150); do
	grep -q '"name":"invitee.accepted"' "$tmp/webhooks.jsonl" 2>/dev/null &&
		break
	sleep 0.1
done
grep -q '"name":"invitee.accepted"' "$tmp/webhooks.jsonl" 2>/dev/null ||
	fail "no invitee.accepted webhook (see $tmp/receiver.log)"
sed 's/^/  receiver: /' "$tmp/receiver.log"
python3 -c 'import json,sys
for line in open(sys.argv[1]):
    e=json.loads(line)
    if e["name"]=="invitee.accepted":
        d=e["data"]
        print("  verified %s %s: invitee %s, referrer %s, campaign %s" % (
              e["name"], e["id"], d["invitee"]["id"], d["referrer"]["id"],
              d["campaign"]["id"]))' "$tmp/webhooks.jsonl"

say "rewards, as flockctl lists them"
ctl --table rewards list --all | sed 's/^/  /'
ctl rewards list --all | python3 -c 'import json,sys
rewards=json.load(sys.stdin)
print("  %d reward(s)" % len(rewards))
if len(rewards) < 2: sys.exit("expected 2 rewards")' ||
	fail "rewards"

say "the dashboard"
interactive=0
if [ -t 0 ] && [ -t 1 ] && [ -z "${CI:-}" ]; then
	interactive=1
fi
echo "  open    $dashboard"
echo "  log in  with the admin token (adminToken in $tmp/init.json):"
if [ "$interactive" = 1 ]; then
	# A person at a terminal: the demo's own throwaway token, to paste.
	echo "          $admin"
	echo "  The campaign, the referral, its rewards and the webhook are"
	echo "  there. flockd serves until Ctrl-C (then the temp dir goes, unless"
	echo "  KEEP=1)."
	wait "$pid" || true
	pid=
	exit 0
fi
echo "          python3 -c 'import json; print(json.load(open(\"$tmp/init.json\"))[\"adminToken\"])'"
echo "  (not a terminal: stopping now; run scripts/quickstart.sh from a"
echo "  terminal to keep the dashboard up)"

say "stop flockd"
kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=
[ "$rc" = 0 ] || fail "flockd exited with $rc"
echo "flockd stopped cleanly"
printf '\nquickstart: OK\n'
