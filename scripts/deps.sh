#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Installs the Debian packages svcplane needs to build, test and run its demo,
# and what make vmcheck needs to boot Debian 12's stock kernel under QEMU
# (qemu-system-x86, linux-image-amd64, initramfs-tools for its 9p initrd).
# Idempotent: installs only what is missing; needs root (or nothing missing).
set -euo pipefail

pkgs=(make gcc clang llvm libbpf-dev bpftool libxdp-dev xdp-tools check pkg-config
      libelf-dev zlib1g-dev iproute2 tcpdump libjson-c-dev libmicrohttpd-dev
      libsodium-dev libcurl4-openssl-dev ethtool python3 util-linux procps psmisc
      iputils-ping curl jq qemu-system-x86 linux-image-amd64 initramfs-tools)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	if [ "$(id -u)" != 0 ]; then
		echo "deps: missing packages and not root: run as root, or: apt-get install ${missing[*]}" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# bpffs: the agent pins its maps there and libxdp needs it.
if ! mountpoint -q /sys/fs/bpf 2>/dev/null; then
	if [ "$(id -u)" = 0 ]; then
		mkdir -p /sys/fs/bpf && mount -t bpf bpf /sys/fs/bpf
	fi
fi
