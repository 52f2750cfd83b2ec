#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Installs the Debian packages svcplane needs to build, test, run its demo and
# its benchmarks, to run scripts/fresh-check.sh, and what make vmcheck needs to
# boot Debian 12's stock kernel under QEMU (qemu-system-x86, linux-image-amd64,
# initramfs-tools for its 9p initrd).
# Idempotent: installs only what is missing; needs root (or nothing missing).
# Every command a test, the demo or the bench calls comes from a package listed
# here: a test meets a missing one as a failure, not a skip.
set -euo pipefail

pkgs=(
	# build: toolchain, BPF compiler and skeletons, libraries
	make gcc libc6-dev clang llvm libbpf-dev bpftool libxdp-dev xdp-tools check pkg-config
	libelf-dev zlib1g-dev libjson-c-dev libmicrohttpd-dev libsodium-dev libcurl4-openssl-dev
	# tests, demo, bench: ip/ss (iproute2), nsenter/mountpoint/unshare (util-linux),
	# sysctl/ps (procps), ping, ethtool, tcpdump, jq, python3, curl, hostname
	iproute2 util-linux procps psmisc iputils-ping ethtool tcpdump jq python3 curl hostname
	# make bench: PNG plots next to its JSON (scripts/bench_plot.sh; pkg/test_bench_plot)
	gnuplot-nox
	# multi-host registry (test_etcd, test_multirouter)
	etcd-server etcd-client
	# Kubernetes (test_k8s: the fake apiserver's certificate; test_k8s_manifests:
	# YAML checks; kubectl below)
	openssl python3-yaml
	# scripts/fresh-check.sh and the package test: a fresh Debian 12 chroot
	debootstrap
	# make deb, make man: debhelper/dpkg-buildpackage (which refuses to build
	# without build-essential: found by scripts/fresh-check.sh), man pages from
	# --help; systemd-analyze (verify, security) for the unit's tests
	build-essential debhelper dpkg-dev fakeroot help2man cpio systemd
	# make vmcheck: Debian 12's stock kernel under QEMU, an initrd with 9p
	qemu-system-x86 linux-image-amd64 initramfs-tools
)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep "install ok installed" >/dev/null || missing+=("$p")
done
# kubectl for pkg/test_k8s_manifests: Debian's kubernetes-client, unless a
# kubectl from another package is installed already (the two conflict on
# /usr/bin/kubectl).
command -v kubectl >/dev/null || missing+=(kubernetes-client)
if [ ${#missing[@]} -gt 0 ]; then
	echo "deps: installing ${missing[*]}"
	if [ "$(id -u)" != 0 ]; then
		echo "deps: missing packages and not root: run as root, or: apt-get install ${missing[*]}" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	# another apt on the machine (unattended-upgrades, a test) is waited for, not an error
	"$(dirname "$0")"/apt-retry.sh apt-get update -q
	"$(dirname "$0")"/apt-retry.sh apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# bpffs: the agent pins its maps there and libxdp needs it.
if ! mountpoint -q /sys/fs/bpf 2>/dev/null; then
	if [ "$(id -u)" = 0 ]; then
		mkdir -p /sys/fs/bpf && mount -t bpf bpf /sys/fs/bpf
	fi
fi
