#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# initrd.sh KVER: prints the path of an initrd for KVER that can mount a 9p
# root (Debian's stock initrd lacks the 9p modules); built once, cached.
set -euo pipefail
kver=$1
cache=${SVC_VM_CACHE:-/var/cache/svcplane-vm}
out=$cache/initrd-9p-$kver.img
if [ -s "$out" ] && [ "$out" -nt "/boot/vmlinuz-$kver" ]; then
	echo "$out"
	exit 0
fi
command -v mkinitramfs >/dev/null || { echo "initrd: mkinitramfs not installed (make deps: initramfs-tools)" >&2; exit 1; }
mkdir -p "$cache"
conf=$(mktemp -d)
trap 'rm -rf "$conf"' EXIT
cp -a /etc/initramfs-tools/. "$conf/"
printf '%s\n' 9p 9pnet 9pnet_virtio netfs fscache virtio_pci virtio_ring >>"$conf/modules"
sed -i 's/^MODULES=.*/MODULES=list/' "$conf/initramfs.conf"
mkinitramfs -d "$conf" -o "$out.tmp" "$kver" >&2
mv "$out.tmp" "$out"
echo "$out"
