#!/bin/bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# PID 1 of a vm-run.sh guest (or the command vng runs): mounts what the tests
# need over the read-only 9p root, loads the modules, runs /vmio/cmd, writes its
# output to vmio/out and its status to vmio/rc, powers off.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
io=/mnt
if [ "${1:-}" = --vng ]; then
	io=$2
else
	mount -t proc proc /proc
	mount -t sysfs sys /sys
	mount -t devtmpfs dev /dev 2>/dev/null
	mkdir -p /dev/pts /dev/shm 2>/dev/null
	mount -t devpts devpts /dev/pts
	mount -t tmpfs tmpfs /dev/shm
	for d in /tmp /run /var /root; do mount -t tmpfs tmpfs "$d"; done
	mkdir -p /var/tmp /var/lib /var/cache /var/log /run/netns
	mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 vmio "$io"
fi
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf
mountpoint -q /sys/fs/cgroup || mount -t cgroup2 cgroup2 /sys/fs/cgroup
mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
for m in veth sch_ingress cls_bpf act_bpf 9pnet_virtio; do modprobe -q "$m" 2>/dev/null; done
ip link set lo up
hostname svcvm
echo "vm: kernel $(uname -r)" >"$io/out"
bash "$io/cmd" >>"$io/out" 2>&1 </dev/null
echo $? >"$io/rc"
sync
if [ "${1:-}" != --vng ]; then
	echo o >/proc/sysrq-trigger
	poweroff -f
fi
