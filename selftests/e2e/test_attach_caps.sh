#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# An agent without CAP_SYS_ADMIN (an operator's narrowed unit or container):
# `servicectl attach` fails with an error that names the missing capability,
# and the agent lives on and keeps serving its API. libxdp 1.3 dereferences
# NULL inside libbpf when it cannot look up its dispatcher by id, which used to
# kill the agent on the first attach. With the capability back, the same
# attach works on the same interface (the program is really there: ip link).
set -uo pipefail
source "$(dirname "$0")/lib.sh"

e2e_init
e2e_require setpriv
NS=$(ns_name host)
step "setup: namespace and veth" ns_add "$NS"
step "setup: veth" ip -n "$NS" link add a0 type veth peer name a1
ip -n "$NS" link set a0 up && ip -n "$NS" link set a1 up || bail "setup: links up" ""

# The unit's capabilities (deploy/svcplaned.service.in) less CAP_SYS_ADMIN.
SVC_AGENT_WRAP="setpriv --bounding-set=-all,+net_admin,+net_raw,+bpf,+perfmon --inh-caps=-all"
step "setup: agent without CAP_SYS_ADMIN" agent_start nosys "$NS"
unset SVC_AGENT_WRAP

out=$(sctl nosys attach a0 router 2>&1)
rc=$?
if [ "$rc" != 0 ] && grep -q "CAP_SYS_ADMIN" <<<"$out"; then
	tap_ok "without CAP_SYS_ADMIN: attach fails (exit $rc) naming the capability"
else
	tap_fail "without CAP_SYS_ADMIN: attach fails naming the capability" "exit $rc: $out"
fi
if pid_running "${AGENT_PID[nosys]}" && sctl nosys status >/dev/null 2>&1; then
	tap_ok "without CAP_SYS_ADMIN: the agent survives the attach and answers status"
else
	tap_fail "without CAP_SYS_ADMIN: the agent survives the attach and answers status" \
		"$(tail -n 30 "$(agent_log nosys)")"
fi
if ip -n "$NS" -d link show a0 | grep -q "prog/xdp"; then
	tap_fail "without CAP_SYS_ADMIN: nothing attached to a0" "$(ip -n "$NS" -d link show a0)"
else
	tap_ok "without CAP_SYS_ADMIN: nothing attached to a0"
fi
if grep -qE "AddressSanitizer|runtime error|Segmentation" "$(agent_log nosys)"; then
	tap_fail "without CAP_SYS_ADMIN: no sanitizer finding or crash in the agent's log" \
		"$(grep -E -A5 "AddressSanitizer|runtime error|Segmentation" "$(agent_log nosys)")"
else
	tap_ok "without CAP_SYS_ADMIN: no sanitizer finding or crash in the agent's log"
fi

# The same agent state, restarted with every capability: the attach works.
stop_pid "${AGENT_PID[nosys]}"
step "agent restarted as root" agent_restart nosys
out=$(sctl nosys attach a0 router 2>&1)
rc=$?
if [ "$rc" = 0 ] && ip -n "$NS" -d link show a0 | grep -q "prog/xdp"; then
	tap_ok "with CAP_SYS_ADMIN: attach works and a0 has the XDP program"
else
	tap_fail "with CAP_SYS_ADMIN: attach works and a0 has the XDP program" \
		"exit $rc: $out; $(ip -n "$NS" -d link show a0)"
fi
exit 0
