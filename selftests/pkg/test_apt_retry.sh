#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# scripts/apt-retry.sh: an apt command that meets a lock held by another process waits
# for it instead of failing (make deps, pkg/test_deb and scripts/fresh-check.sh use it:
# a second apt on the machine once failed pkg/test_deb). Works on a private cache
# directory (Dir::Cache), so the machine's apt state is never touched:
#   - the lock really stops apt-get: without apt-retry it fails naming the lock;
#   - with apt-retry it says it waits, and succeeds once the holder lets go;
#   - a failure that is not a lock is not retried: its status and output come back;
#   - a lock held past APT_LOCK_WAIT gives apt's own error.
set -uo pipefail
cd "$(dirname "$0")/../.."
name=pkg/test_apt_retry
fail=0
ok() { echo "ok - $name: $1"; }
notok() {
	echo "not ok - $name: $1"
	[ -n "${2:-}" ] && sed 's/^/# /' <<<"$2"
	fail=1
}

command -v apt-get >/dev/null || { notok "apt-get not found"; exit 1; }
command -v python3 >/dev/null || { notok "python3 not found (make deps)"; exit 1; }
work=$(mktemp -d /tmp/svc-aptretry.XXXXXX)
holder=
cleanup() {
	[ -n "$holder" ] && kill "$holder" 2>/dev/null && wait "$holder" 2>/dev/null
	rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/archives/partial"
apt_clean=(apt-get -o "Dir::Cache=$work" -o "Dir::Cache::archives=$work/archives/" clean)

# hold_lock: hold apt's lock of the private archive directory (fcntl, as apt takes it)
# until $work/release exists; $work/held says it is held.
hold_lock() {
	rm -f "$work/release" "$work/held"
	python3 - "$work" <<'PY' &
import fcntl, os, sys, time
w = sys.argv[1]
f = open(os.path.join(w, "archives", "lock"), "w")
fcntl.lockf(f, fcntl.LOCK_EX)
open(os.path.join(w, "held"), "w").close()
while not os.path.exists(os.path.join(w, "release")):
    time.sleep(0.1)
PY
	holder=$!
	for _ in $(seq 600); do [ -e "$work/held" ] && return 0; sleep 0.1; done
	return 1
}

# wait_for FILE PATTERN: poll (60 s deadline) until FILE holds PATTERN.
wait_for() {
	for _ in $(seq 600); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
	return 1
}

hold_lock || { notok "could not take the lock"; exit 1; }
out=$("${apt_clean[@]}" 2>&1)
rc=$?
if [ "$rc" != 0 ] && grep -q "Could not get lock" <<<"$out"; then
	ok "without apt-retry, apt-get fails on the held lock (exit $rc)"
else
	notok "apt-get did not fail on the held lock (exit $rc)" "$out"
fi

scripts/apt-retry.sh "${apt_clean[@]}" >"$work/out" 2>"$work/err" &
r=$!
if wait_for "$work/err" "waits (up to"; then
	touch "$work/release"
	wait "$r"
	rc=$?
	wait "$holder" 2>/dev/null
	holder=
	if [ "$rc" = 0 ] && grep -q "waited" "$work/err"; then
		ok "with apt-retry it waits for the holder and succeeds once the lock is free"
	else
		notok "apt-retry exit $rc after the lock was freed" "$(cat "$work/out" "$work/err")"
	fi
else
	kill "$r" 2>/dev/null
	notok "apt-retry never said it was waiting" "$(cat "$work/out" "$work/err")"
fi

out=$(scripts/apt-retry.sh apt-get -o "Dir::Cache=$work" no-such-command 2>&1)
rc=$?
if [ "$rc" = 100 ] && grep -q "no-such-command" <<<"$out" && ! grep -q "waits" <<<"$out"; then
	ok "a failure that is not a lock comes back at once, with apt's status (100) and message"
else
	notok "non-lock failure: exit $rc" "$out"
fi

hold_lock || { notok "could not take the lock again"; exit 1; }
out=$(APT_LOCK_WAIT=1 scripts/apt-retry.sh "${apt_clean[@]}" 2>&1)
rc=$?
touch "$work/release"
if [ "$rc" = 100 ] && grep -q "Could not get lock" <<<"$out"; then
	ok "a lock held past APT_LOCK_WAIT gives apt's own error (exit 100)"
else
	notok "past APT_LOCK_WAIT: exit $rc" "$out"
fi
exit $fail
