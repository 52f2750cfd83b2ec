#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The Debian packages, as a user installs them on a fresh Debian 12:
#   1. scripts/mkdeb.sh builds them from this tree (what `make deb` does):
#      svcplane and libsvcacp-dev; an application outside the tree builds
#      with the libsvcacp-dev package's files alone (unpacked here, through
#      its svcacp.pc) and exchanges a frame with the library;
#   2. a fresh `debootstrap --variant=minbase --include=systemd bookworm` root
#      (systemd for systemd-analyze) gets both with `apt-get install
#      ./svcplane_*.deb ./libsvcacp-dev_*.deb`, which pulls their dependencies
#      from the mirror this machine's apt uses;
#   3. there: svcplaned --version, servicectl --help, the man pages, the
#      conffile, bash completion, `systemd-analyze verify` on the unit and its
#      `systemd-analyze security` exposure (below 5); the agent starts (in a
#      network namespace of its own, on a bpffs of its own) and stops, leaving
#      its pins as designed; libsvcacp-dev's library, headers and svcacp.pc
#      where docs/acp.md says, with <linux/types.h> (which svc_acp.h includes);
#   4. `dpkg -r` detaches and unpins (the prerm runs svcplaned --uninstall) and
#      leaves only the conffile, and removes all of libsvcacp-dev; `dpkg --purge`
#      and `apt-get autoremove --purge` then leave the file system as it was
#      before the install (every path outside dpkg's and apt's own bookkeeping
#      compared).
# debootstrap takes ~10 minutes on a loaded machine, so the fresh root is made
# once and kept as a tarball (DEB_BASE, default /var/cache/svcplane/
# bookworm-minbase-systemd-v1.tar.gz; DEB_BASE_REFRESH=1 makes it again);
# each run unpacks it into a new directory. Everything runs in a mount
# namespace of its own and the directory is removed at the end, also on failure.
# Skips without root or without debootstrap (make deps installs it).
set -uo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
name=pkg/test_deb
base=${DEB_BASE:-/var/cache/svcplane/bookworm-minbase-systemd-v1.tar.gz}

ok() { echo "ok - $name: $*"; }
notok() { echo "not ok - $name: $*"; }
diag() { sed 's/^/# /'; }
if [ "$(id -u)" != 0 ]; then
	ok "package in a fresh chroot # SKIP not root (debootstrap, chroot, mounts)"
	exit 0
fi
if ! command -v debootstrap >/dev/null; then
	ok "package in a fresh chroot # SKIP debootstrap not installed (make deps installs it)"
	exit 0
fi
for c in dpkg-buildpackage dpkg-architecture dh help2man unshare chroot pkg-config cc; do
	command -v "$c" >/dev/null || { notok "$c not installed (make deps installs it)"; exit 1; }
done

work=$(mktemp -d /var/tmp/svc-debtest.XXXXXX)
chmod 755 "$work"
cleanup() {
	local p
	# processes left in the chroot were started by this test
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null)" = "$work/root" ] && kill -KILL "${p#/proc/}" 2>/dev/null
	done
	# the mounts lived in the test's own mount namespace; nothing should be left here
	if findmnt -rn -o TARGET | grep "^$work" >/dev/null; then
		echo "# still mounted under $work, not removed"
	else
		rm -rf --one-file-system "$work"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# in_root SCRIPT: run SCRIPT (bash) in the chroot, in a mount namespace with
# /proc, /dev, sysfs, a bpffs of its own at /sys/fs/bpf, a tmpfs /run and the
# host's apt package cache.
in_root() {
	unshare --mount --propagation private -- bash -euc '
		r=$1
		mount --bind "$r" "$r"
		mount -t proc proc "$r/proc"
		mount -t sysfs sysfs "$r/sys"
		mount -t bpf bpf "$r/sys/fs/bpf"
		mount --rbind /dev "$r/dev"
		mount -t tmpfs -o mode=755 tmpfs "$r/run"
		mount --bind /var/cache/apt/archives "$r/var/cache/apt/archives"
		exec chroot "$r" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root \
			LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive bash -euo pipefail -c "$2"
	' in_root "$work/root" "$1"
}

# ---- 1. the packages (DEB_FILE=PATH: test that svcplane package instead, and
# the libsvcacp-dev package of its version beside it, as make deb leaves them) ----
ver=$(scripts/version.sh)
if [ -n "${DEB_FILE:-}" ]; then
	deb=$DEB_FILE
	ver=$(dpkg-deb -f "$deb" Version)
	echo "# testing $deb (DEB_FILE), version $ver"
	devdeb=$(ls "$(dirname "$deb")"/libsvcacp-dev_"$ver"_*.deb 2>/dev/null)
	[ -n "$devdeb" ] || { notok "no libsvcacp-dev_${ver}_*.deb beside $deb"; exit 1; }
elif ! out=$(scripts/mkdeb.sh "$work/deb" "$ver" 2>&1); then
	notok "make deb (scripts/mkdeb.sh) failed"
	diag <<<"$out"
	exit 1
else
	deb=$(ls "$work"/deb/svcplane_"$ver"_*.deb)
	devdeb=$(ls "$work"/deb/libsvcacp-dev_"$ver"_*.deb)
	ok "packages built with dpkg-buildpackage: $(basename "$deb") $(basename "$devdeb")"
fi

# The application is built here, on the packaged files unpacked: the fresh root
# has no compiler. The .pc names /usr paths; the sysroot puts the unpacked tree
# before its -I and -L, and PKG_CONFIG_LIBDIR alone keeps this machine's .pc files out.
ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
dev=$work/dev
dpkg-deb -x "$devdeb" "$dev"
pc() { PKG_CONFIG_LIBDIR=$dev/usr/lib/$ma/pkgconfig PKG_CONFIG_SYSROOT_DIR=$dev pkg-config "$@"; }
if [ "$(pc --modversion svcacp 2>&1)" = "$ver" ] &&
	[ "$(PKG_CONFIG_LIBDIR=$dev/usr/lib/$ma/pkgconfig pkg-config --variable=libdir svcacp)" = "/usr/lib/$ma" ]; then
	ok "libsvcacp-dev: svcacp.pc in /usr/lib/$ma/pkgconfig, version $ver"
else
	notok "libsvcacp-dev: svcacp.pc in /usr/lib/$ma/pkgconfig, version $ver"
	dpkg-deb -c "$devdeb" | diag
fi
mkdir "$work/app"
cp selftests/pkg/acp_app.c "$work/app/"
out=
# shellcheck disable=SC2086 # $flags is a list of words
if flags=$(pc --cflags --libs svcacp 2>&1) &&
	out=$(cd "$work/app" && cc -Wall -Wextra -Werror acp_app.c $flags -o acp_app 2>&1) &&
	out=$("$work/app/acp_app" 2>&1); then
	ok "an application builds with libsvcacp-dev's files alone and exchanges a frame"
else
	notok "an application builds with libsvcacp-dev's files alone and exchanges a frame"
	diag <<<"${out:-$flags}"
fi

# ---- 2. a fresh root ----
if [ ! -f "$base" ] || [ "${DEB_BASE_REFRESH:-0}" = 1 ]; then
	mirror=$(scripts/apt-mirror.sh)
	[ -n "$mirror" ] || { notok "no bookworm source in /etc/apt"; exit 1; }
	echo "# making the fresh root: debootstrap from $mirror (kept as $base)"
	t=$SECONDS
	if ! debootstrap --variant=minbase --include=systemd --cache-dir=/var/cache/apt/archives \
		bookworm "$work/root" "$mirror" >"$work/debootstrap.log" 2>&1; then
		notok "debootstrap failed"
		tail -n 20 "$work/debootstrap.log" | diag
		exit 1
	fi
	# the package lists, so that the test's apt-get install needs no update
	in_root 'apt-get update -q >/dev/null' || { notok "apt-get update in the fresh root failed"; exit 1; }
	mkdir -p "$(dirname "$base")"
	tar -C "$work/root" --numeric-owner -czf "$base.tmp" . && mv "$base.tmp" "$base"
	echo "# fresh root made in $((SECONDS - t)) s"
else
	mkdir -p "$work/root"
	tar -C "$work/root" --numeric-owner -xzf "$base" || { notok "unpack $base"; exit 1; }
	echo "# fresh root from $base ($(date -r "$base" +%F))"
fi
cp /etc/resolv.conf "$work/root/etc/resolv.conf"
cp "$deb" "$devdeb" "$work/root/tmp/"
# The package cache is the host's (bind mount), so is its lock: wait for another apt.
cp scripts/apt-retry.sh "$work/root/tmp/"

# every path, for the before/after comparison (dpkg's and apt's bookkeeping,
# caches, logs and the pseudo file systems left out)
snapshot='find / -xdev \( -path /proc -o -path /sys -o -path /dev -o -path /run -o -path /tmp \
	-o -path /var/lib/dpkg -o -path /var/lib/apt -o -path /var/cache -o -path /var/log \) -prune \
	-o -print | sort'

# ---- 3. install and smoke test ----
script=$(cat <<EOF
$snapshot >/tmp/before
cd /tmp
debs="./$(basename "$deb") ./$(basename "$devdeb")"
/tmp/apt-retry.sh apt-get install -y -q \$debs >/tmp/apt.log 2>&1 ||
	{ /tmp/apt-retry.sh apt-get update -q >/dev/null 2>&1 &&
		/tmp/apt-retry.sh apt-get install -y -q \$debs >/tmp/apt.log 2>&1; } ||
	{ echo "apt-get install failed:"; tail -n 20 /tmp/apt.log; exit 1; }
echo "installed: \$(dpkg-query -W -f='\${Package} \${Version} \${Status}' svcplane)"
check() { if eval "\$2" >/tmp/check.out 2>&1; then echo "ok - $name: \$1"; else echo "not ok - $name: \$1"; sed 's/^/# /' /tmp/check.out; fi; }
check "svcplaned --version prints $ver" '[ "\$(svcplaned --version)" = "svcplaned $ver" ]'
check "servicectl --version prints $ver" '[ "\$(servicectl --version)" = "servicectl $ver" ]'
check "servicectl --help" 'servicectl --help | grep "^Usage: servicectl" >/dev/null'
check "programs in /usr/sbin and /usr/bin" '[ -x /usr/sbin/svcplaned ] && [ -x /usr/sbin/svcplane-k8s ] && [ -x /usr/bin/servicectl ]'
check "man pages svcplaned(8), servicectl(8)" 'zcat /usr/share/man/man8/svcplaned.8.gz | grep "^\.TH SVCPLANED" >/dev/null && zcat /usr/share/man/man8/servicectl.8.gz | grep "^\.SS \"instance add\"" >/dev/null'
check "conffile /etc/svcplane/svcplaned.conf" 'dpkg-query -W -f="\\\${Conffiles}" svcplane | grep " /etc/svcplane/svcplaned.conf " >/dev/null'
check "bash completion" 'grep -q _servicectl /usr/share/bash-completion/completions/servicectl'
check "docs in /usr/share/doc/svcplane" '[ -f /usr/share/doc/svcplane/svcplaned.md ] && [ -f /usr/share/doc/svcplane/design.md ] && [ -f /usr/share/doc/svcplane/copyright ]'
check "libsvcacp-dev: /usr/lib/$ma/libsvcacp.a, /usr/include/svcplane/{acp.h,svc_acp.h}, /usr/lib/$ma/pkgconfig/svcacp.pc" '[ -f /usr/lib/$ma/libsvcacp.a ] && [ -f /usr/include/svcplane/acp.h ] && [ -f /usr/include/svcplane/svc_acp.h ] && grep -qx "Version: $ver" /usr/lib/$ma/pkgconfig/svcacp.pc'
check "libsvcacp-dev brings <linux/types.h>, which svc_acp.h includes" '[ -f /usr/include/linux/types.h ]'
check "svcplane itself ships no library or header" '! dpkg-query -L svcplane | grep -E "/usr/include|libsvcacp|svcacp\.pc"'
check "the unit names /usr/sbin/svcplaned" 'grep -q "^ExecStart=/usr/sbin/svcplaned " /lib/systemd/system/svcplaned.service && ! grep -q /usr/local /lib/systemd/system/svcplaned.service'
check "systemd-analyze verify svcplaned.service" 'systemd-analyze verify --man=no /lib/systemd/system/svcplaned.service; [ ! -s /tmp/check.out ] || { cat /tmp/check.out; false; }'
exposure=\$(systemd-analyze security --offline=yes /lib/systemd/system/svcplaned.service 2>&1 | sed -n 's/.*Overall exposure level for svcplaned.service: \([0-9.]*\).*/\1/p')
check "systemd-analyze security: exposure \$exposure < 5" 'awk -v e="\$exposure" "BEGIN { exit !(e != \"\" && e + 0 < 5) }"'
# the agent runs in a network namespace of its own (kept in /run/svc-netns),
# attaches its endpoint program to that namespace's lo through libxdp (the
# installed library and dispatcher), and stops; programs and pins stay
touch /run/svc-netns
unshare --net=/run/svc-netns true
innet() { nsenter --net=/run/svc-netns "\$@"; }
nsenter --net=/run/svc-netns svcplaned --config /etc/svcplane/svcplaned.conf --metrics off >/tmp/agent.log 2>&1 &
pid=\$!
for i in \$(seq 1 1200); do grep -q "svcplaned: ready" /tmp/agent.log && break; kill -0 \$pid 2>/dev/null || break; sleep 0.1; done
check "svcplaned starts (unit's config file, own netns)" 'grep -q "svcplaned: ready" /tmp/agent.log || { cat /tmp/agent.log; false; }'
check "servicectl attach lo endpoint --mode skb (libxdp)" 'innet ip link set lo up && servicectl attach lo endpoint --mode skb && st=\$(servicectl -j status) && { grep -E "\"attached\": ?true" <<<"\$st" >/dev/null || { echo "\$st"; false; }; }'
kill -TERM \$pid
st=0
wait \$pid || st=\$?
check "svcplaned stops with status 0, maps stay pinned" '[ \$st = 0 ] && [ -n "\$(ls /sys/fs/bpf/svcplane)" ]'
dpkg-query -L svcplane | sort >/tmp/files
dpkg-query -L libsvcacp-dev | sort >/tmp/devfiles

# ---- 4. removal ----
# (in the agent's namespace: the prerm's svcplaned --uninstall detaches from its interfaces)
innet dpkg -r svcplane >/tmp/remove.log 2>&1 || { echo "not ok - $name: dpkg -r failed"; sed 's/^/# /' /tmp/remove.log; exit 1; }
check "dpkg -r: the prerm detached and unpinned (no /sys/fs/bpf/svcplane, no XDP on lo)" '[ ! -e /sys/fs/bpf/svcplane ] && ! innet ip link show lo | grep xdp >/dev/null || { innet ip link show lo; ls -R /sys/fs/bpf; cat /tmp/remove.log; false; }'
check "dpkg -r: no file of the package left but the conffile" 'left=\$(while read -r f; do [ -f "\$f" ] && echo "\$f"; done </tmp/files); [ "\$left" = /etc/svcplane/svcplaned.conf ] || { echo "left: \$left"; false; }'
dpkg -r libsvcacp-dev >/tmp/remove.log 2>&1 || { echo "not ok - $name: dpkg -r libsvcacp-dev failed"; sed 's/^/# /' /tmp/remove.log; exit 1; }
check "dpkg -r libsvcacp-dev: no file of it left" 'left=\$(while read -r f; do [ -f "\$f" ] && echo "\$f"; done </tmp/devfiles); [ -z "\$left" ] || { echo "left: \$left"; false; }'
dpkg --purge svcplane libsvcacp-dev >/tmp/purge.log 2>&1 || { echo "not ok - $name: dpkg --purge failed"; sed 's/^/# /' /tmp/purge.log; exit 1; }
# the dependencies apt-get installed for it go too (recommended ones included)
/tmp/apt-retry.sh apt-get autoremove --purge -y -q -o APT::AutoRemove::RecommendsImportant=false \
	-o APT::AutoRemove::SuggestsImportant=false >/tmp/autoremove.log 2>&1 || { cat /tmp/autoremove.log; exit 1; }
$snapshot >/tmp/after
check "purge + autoremove: the file system is as before the install" 'diff /tmp/before /tmp/after | grep "^[<>]" | head -n 40; cmp -s /tmp/before /tmp/after'
EOF
)
t=$SECONDS
out=$(in_root "$script" 2>&1)
rc=$?
grep -E '^(not )?ok ' <<<"$out"
grep -vE '^(not )?ok ' <<<"$out" | diag
echo "# chroot part: $((SECONDS - t)) s"
if [ $rc != 0 ]; then
	notok "the chroot script failed (exit status $rc)"
	exit 1
fi
! grep -q '^not ok ' <<<"$out"
