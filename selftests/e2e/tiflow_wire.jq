# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# jq definitions shared by test_tiflow and test_ctl_tiflow: which packets of a connection
# carry the TI-flow option. Input: an array of decoded packets (tiflow-dump or
# `servicectl -j dump`); $cp: the client's port.

# opt_pkts($cp): the connection's packets that carry the option, a retransmitted SYN or
# SYN-ACK (same direction, flags and sequence number) counted once.
def opt_pkts($cp): reduce (.[] | select((.sport == $cp or .dport == $cp) and .tiflow)) as $x
	([]; if any(.[]; .sport == $x.sport and .flags == $x.flags and .seq == $x.seq and
		(.flags | startswith("S"))) then . else . + [$x] end);

# opt_token($cp): "S" / "S." for the handshake's SYNs, ".+" for the client's other segments
# (the confirmations), "server:FLAGS" for a server segment after its SYN-ACK (never expected).
def opt_token($cp): if (.flags | startswith("S")) then .flags
	elif .sport == $cp then ".+" else "server:\(.flags)" end;

# opt_summary($cp): the tokens of opt_pkts in order, a run of ".+" written once:
# "S,S.,.+" for a negotiated connection, "S" for an unanswered offer, "" for none.
def opt_summary($cp): [ opt_pkts($cp)[] | opt_token($cp) ] |
	reduce .[] as $t ([]; if $t == ".+" and length > 0 and .[-1] == ".+" then . else . + [$t] end) |
	join(",");
