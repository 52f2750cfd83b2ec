#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Fresh-machine proof: `make deps && make check` on a fresh Debian 12, as a new user meets it.
#
# Creates a `debootstrap --variant=minbase bookworm` chroot from the Debian mirror this
# machine's apt uses, puts a clean `git clone` of this repository's HEAD (committed state
# only) in it, and runs there as root, in a mount namespace of its own with /proc, /sys,
# /dev, bpffs at /sys/fs/bpf, cgroup v2 at /sys/fs/cgroup (Debian 12's layout) and a
# tmpfs /run (for /run/netns):
#     apt-get install make     (the one thing a user installs by hand, as .ci/run does)
#     make deps && make check
# Prints how long each step took and how many packages `make deps` installed. Removes
# the chroot and everything mounted for it at the end, also on failure or Ctrl-C.
#
# Usage: scripts/fresh-check.sh            (root; needs debootstrap: make deps installs it)
#   FRESH_MIRROR=URL     Debian mirror (default: the first bookworm source of /etc/apt)
#   FRESH_APT_CACHE=0    download every package (default: reuse /var/cache/apt/archives)
#   FRESH_DIR=DIR        where the chroot is made (default /var/tmp)
#   FRESH_KEEP=1         keep the chroot afterwards (its path is printed)
#   FRESH_CMD="..."      run this instead of "make deps && make check" (e.g. with TESTS=...)
# The network namespaces, pins and cgroups the tests create are the host kernel's: the
# tests' own cleanup removes them, as on any machine.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD

say() { printf 'fresh-check: %s\n' "$*"; }
die() {
	say "$*" >&2
	exit 1
}

[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot, mounts)"
for c in debootstrap unshare chroot git findmnt; do
	command -v "$c" >/dev/null || die "$c not installed (make deps installs debootstrap)"
done

mirror=${FRESH_MIRROR:-$(scripts/apt-mirror.sh | head -n 1)}
[ -n "$mirror" ] || die "no bookworm source in /etc/apt: set FRESH_MIRROR"
cache=/var/cache/apt/archives
[ "${FRESH_APT_CACHE:-1}" = 1 ] && [ -d "$cache" ] || cache=
commit=$(git -C "$repo" rev-parse HEAD)
[ -z "$(git -C "$repo" status --porcelain --untracked-files=no)" ] ||
	say "note: uncommitted changes are not part of the check (it tests commit ${commit:0:12})"
cmd=${FRESH_CMD:-make deps \&\& make check}

root=$(mktemp -d "${FRESH_DIR:-/var/tmp}/svc-fresh.XXXXXX")
chmod 755 "$root"
t_start=$SECONDS

# mounts_under: mount points at or below the chroot, deepest first.
mounts_under() {
	findmnt -rn -o TARGET | awk -v r="$root" 'index($0, r) == 1' | sort -r
}
cleanup() {
	local rc=$? p m
	trap - EXIT INT TERM
	# processes still running in the chroot were started by this check
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && kill -KILL "${p#/proc/}" 2>/dev/null
	done
	# the chroot's mounts live in their own mount namespace and end with it; anything
	# left in this namespace (none expected) is unmounted before the directory goes
	for m in $(mounts_under); do
		umount -R "$m" 2>/dev/null || umount -R -l "$m" 2>/dev/null
	done
	if [ "${FRESH_KEEP:-0}" = 1 ]; then
		say "kept $root"
	elif [ -n "$(mounts_under)" ]; then
		say "still mounted under $root, not removed: $(mounts_under | tr '\n' ' ')" >&2
		rc=1
	else
		rm -rf --one-file-system "$root"
	fi
	say "total $((SECONDS - t_start)) s, exit status $rc"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "debootstrap --variant=minbase bookworm from $mirror into $root${cache:+ (package cache $cache)}"
t=$SECONDS
debootstrap --variant=minbase ${cache:+--cache-dir="$cache"} bookworm "$root" "$mirror" \
	>"$root.debootstrap.log" 2>&1 ||
	{ tail -n 30 "$root.debootstrap.log" >&2; rm -f "$root.debootstrap.log"; die "debootstrap failed"; }
rm -f "$root.debootstrap.log"
say "debootstrap: $((SECONDS - t)) s"
cp /etc/resolv.conf "$root/etc/resolv.conf"

git clone -q --no-hardlinks "$repo" "$root/root/svcplane"
git -C "$root/root/svcplane" checkout -q --detach "$commit"
say "clean clone of $commit in /root/svcplane"

# What runs inside the chroot (as root, in /root/svcplane).
cat >"$root/root/fresh-run.sh" <<EOF
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
cd /root/svcplane
installed() { dpkg-query -W -f='\${Status}\n' | grep -c 'install ok installed'; }
n0=\$(installed)
t=\$SECONDS
scripts/apt-retry.sh apt-get update -q >/tmp/apt-update.log 2>&1 || { cat /tmp/apt-update.log; exit 1; }
scripts/apt-retry.sh apt-get install -y -q --no-install-recommends make >/tmp/apt-make.log 2>&1 ||
	{ cat /tmp/apt-make.log; exit 1; }
n1=\$(installed)
echo "fresh-check: minbase has \$n0 packages; apt-get install make: +\$((n1 - n0)) (\$((SECONDS - t)) s)"
t=\$SECONDS
rc=0
if [ "$cmd" = "make deps && make check" ]; then
	make deps || rc=\$?
	n2=\$(installed)
	echo "fresh-check: make deps: exit \$rc, +\$((n2 - n1)) packages (\$n2 installed), \$((SECONDS - t)) s"
	[ \$rc = 0 ] || exit \$rc
	t=\$SECONDS
	make check || rc=\$?
	echo "fresh-check: make check: exit \$rc, \$((SECONDS - t)) s"
else
	$cmd || rc=\$?
	echo "fresh-check: $cmd: exit \$rc, \$((SECONDS - t)) s"
fi
exit \$rc
EOF

# A mount namespace of its own: every mount below (and /run/netns's, made by the tests)
# disappears with it, whatever happens.
set +e
unshare --mount --propagation private -- bash -euc '
	r=$1 cache=$2
	# the root of a real machine is a mount point (`ip -n NS` makes it a slave mount)
	mount --bind "$r" "$r"
	mount -t proc proc "$r/proc"
	mount -t sysfs sysfs "$r/sys"
	mount -t bpf bpf "$r/sys/fs/bpf"
	mount -t cgroup2 cgroup2 "$r/sys/fs/cgroup"
	mount --rbind /dev "$r/dev"
	mount -t tmpfs -o mode=755 tmpfs "$r/run"
	if [ -n "$cache" ]; then mount --bind "$cache" "$r/var/cache/apt/archives"; fi
	exec chroot "$r" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root TERM=dumb LANG=C.UTF-8 CI="${CI:-}" bash /root/fresh-run.sh
' fresh-check "$root" "$cache"
rc=$?
set -e
if [ $rc = 0 ]; then say "PASS: $cmd in a fresh Debian 12 chroot"; else say "FAIL ($rc): $cmd"; fi
exit $rc
