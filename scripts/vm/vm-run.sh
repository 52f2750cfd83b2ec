#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# vm-run.sh [-k KERNEL_RELEASE] [-m MEM_MB] [-c CPUS] [-t TIMEOUT_S] -- COMMAND...
# Boots another kernel (default: Debian 12's stock linux-image-amd64) and runs
# COMMAND inside it as root, in this directory, with the host's root file
# system shared read-only over 9p (virtme-style) and tmpfs on /tmp /run /var.
# COMMAND's output is printed; the exit status is COMMAND's. Uses `vng`
# (virtme-ng) when installed, otherwise QEMU under TCG (no KVM here).
# TIMEOUT_S bounds the whole run, boot included; QEMU is killed on any exit.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
kver=${KERNEL:-}
mem=${VM_MEM:-3072}
cpus=${VM_CPUS:-2}
tmo=${VM_TIMEOUT:-3000}
while getopts "k:m:c:t:" o; do
	case $o in
	k) kver=$OPTARG ;;
	m) mem=$OPTARG ;;
	c) cpus=$OPTARG ;;
	t) tmo=$OPTARG ;;
	*) echo "usage: $0 [-k KVER] [-m MB] [-c CPUS] [-t SECONDS] -- COMMAND..." >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ "${1:-}" = -- ] && shift
[ $# -gt 0 ] || { echo "vm-run: no command" >&2; exit 2; }

if [ -z "$kver" ]; then
	# Debian 12's stock kernel: the newest /boot/vmlinuz-6.1.* installed.
	kver=$(ls /boot/vmlinuz-6.1.* 2>/dev/null | sed 's|/boot/vmlinuz-||' | sort -V | tail -n 1)
	[ -n "$kver" ] || { echo "vm-run: no /boot/vmlinuz-6.1.* (make deps installs linux-image-amd64)" >&2; exit 1; }
fi
vmlinuz=/boot/vmlinuz-$kver
[ -r "$vmlinuz" ] || { echo "vm-run: $vmlinuz not found" >&2; exit 1; }
[ -d "/lib/modules/$kver" ] || { echo "vm-run: /lib/modules/$kver not found" >&2; exit 1; }

io=$(mktemp -d /tmp/svc-vm.XXXXXX)
qpid=
cleanup() {
	# qpid is timeout(1): it passes the signal on to QEMU and waits for it
	# (SIGKILL after 10 s), so QEMU is gone when this returns.
	if [ -n "$qpid" ]; then
		kill "$qpid" 2>/dev/null || true
		wait "$qpid" 2>/dev/null || true
	fi
	rm -rf "$io"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The command, run by the guest's init in this directory.
{
	printf 'cd %q\n' "$PWD"
	printf 'export %s\n' "PATH=$PATH" "TERM=dumb" "HOME=/root"
	[ -n "${CI:-}" ] && printf 'export CI=%q\n' "$CI"
	[ -n "${TESTS:-}" ] && printf 'export TESTS=%q\n' "$TESTS"
	printf '%q ' "$@"
	echo
} >"$io/cmd"

if command -v vng >/dev/null 2>&1; then
	echo "vm-run: using vng (virtme-ng) with kernel $kver"
	timeout --kill-after=10 "$tmo" vng --run "$vmlinuz" --memory "${mem}M" --cpus "$cpus" --rwdir "$io" -- \
		bash "$here/guest-init.sh" --vng "$io"
	exit $(cat "$io/rc" 2>/dev/null || echo 1)
fi

command -v qemu-system-x86_64 >/dev/null || { echo "vm-run: qemu-system-x86_64 not installed (make deps)" >&2; exit 1; }
initrd=$("$here/initrd.sh" "$kver")

# cache=loose: the guest keeps what it read from the host in its page cache
# (the root is read-only and the build does not change during a run); without
# it every exec re-reads binaries and libraries over 9p: starting servicectl
# took 8 s instead of 1.6 s, python3 15 s instead of 2.5 s (TCG, loaded host).
echo "vm-run: booting $kver under QEMU/TCG (${mem} MiB, $cpus vCPUs, at most $tmo s)"
timeout --kill-after=10 "$tmo" qemu-system-x86_64 -accel tcg -cpu max -smp "$cpus" -m "$mem" \
	-nographic -no-reboot -nodefaults -serial "file:$io/console" \
	-kernel "$vmlinuz" -initrd "$initrd" \
	-virtfs local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap \
	-virtfs local,path="$io",mount_tag=vmio,security_model=none,multidevs=remap \
	-append "root=hostroot rootfstype=9p rootflags=trans=virtio,version=9p2000.L,msize=262144,cache=loose ro init=$here/guest-init.sh console=ttyS0 panic=-1 no_timer_check quiet loglevel=3" \
	</dev/null &
qpid=$!
# Stream the command's output while the guest runs.
touch "$io/out"
tail -n +1 -f "$io/out" --pid=$qpid 2>/dev/null &
tpid=$!
rc=0
wait $qpid || rc=$?
qpid=
wait $tpid 2>/dev/null || true
if [ ! -f "$io/rc" ]; then
	echo "vm-run: the guest did not finish the command (qemu status $rc); console:" >&2
	tail -n 40 "$io/console" | sed 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1bc//g' >&2 || true
	exit 1
fi
exit "$(cat "$io/rc")"
