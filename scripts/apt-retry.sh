#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# apt-retry.sh CMD [ARG...]: run an apt-get (or dpkg) command; while it fails only because
# another apt or dpkg holds one of their locks (unattended-upgrades, a second apt-get, a
# test beside it sharing /var/cache/apt/archives), run it again, polling every 5 s, for up
# to APT_LOCK_WAIT seconds (default 900). The last attempt's output and exit status are
# the command's; a wait is said on stderr when it starts.
# (apt's DPkg::Lock::Timeout waits for dpkg's lock only, not for the archives' lock.)
set -u
deadline=$((SECONDS + ${APT_LOCK_WAIT:-900}))
log=$(mktemp)
trap 'rm -f "$log"' EXIT
waiting=0
while :; do
	"$@" >"$log" 2>&1
	rc=$?
	if [ "$rc" = 0 ] || [ "$SECONDS" -ge "$deadline" ] ||
		! grep -qE 'Could not get lock|Unable to lock|Unable to acquire the dpkg frontend lock' "$log"; then
		cat "$log"
		[ "$waiting" = 1 ] && echo "apt-retry: waited $((SECONDS - t0)) s for the lock" >&2
		exit "$rc"
	fi
	if [ "$waiting" = 0 ]; then
		echo "apt-retry: $1 waits (up to ${APT_LOCK_WAIT:-900} s) for a lock: $(grep -m1 -E 'lock' "$log")" >&2
		waiting=1
		t0=$SECONDS
	fi
	sleep 5
done
