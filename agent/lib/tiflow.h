/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * libsvc TI-flow: loads the TI-flow sockops program (bpf/tiflow.bpf.c), pins
 * its maps under a bpffs directory (adopting maps already pinned there),
 * attaches it to cgroup v2 directories through pinned bpf links (so the
 * negotiation outlives the loader and a new loader replaces the program in
 * place), configures instance id, option kind, roles and the selected
 * destinations/services, and reads a socket's TI-flow state by its fd.
 *
 * All functions return 0 or a negative errno and log the failing object and
 * reason through log.h.
 */
#ifndef SVC_TIFLOW_LIB_H
#define SVC_TIFLOW_LIB_H

#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>
#include "svc_tiflow.h"

#define SVC_TIFLOW_DEFAULT_PIN_DIR "/sys/fs/bpf/svcplane"

struct svc_tiflow;

/**
 * svc_tiflow_open - load the sockops program, reusing the TI-flow maps pinned
 * under @pin_dir (NULL = SVC_TIFLOW_DEFAULT_PIN_DIR, created if missing) and
 * pinning those that are not there. A configuration without a PRF key gets a
 * random one (getrandom).
 */
int svc_tiflow_open(const char *pin_dir, struct svc_tiflow **tp);
/* svc_tiflow_close - free userspace state; pinned maps and attachments stay. */
void svc_tiflow_close(struct svc_tiflow *t);

/*
 * svc_tiflow_attach - run the programs for sockets of the cgroup v2 directory
 * @cgroup (and its descendants): sockops, and the cgroup get/setsockopt
 * programs serving the TI-flow socket options (SVC_TIFLOW_SOL). Their links
 * are pinned as tiflow_link_<cgroup id>, tiflow_link_<cgroup id>_setsockopt
 * and _getsockopt in the pin directory; a pin that exists has its program
 * replaced atomically. Sockets listening before the attach keep answering
 * without TI-flow.
 */
int svc_tiflow_attach(struct svc_tiflow *t, const char *cgroup);
/* svc_tiflow_detach - detach from @cgroup and remove the link pin (-ENOENT if not attached). */
int svc_tiflow_detach(const char *pin_dir, const char *cgroup);
/* svc_tiflow_unpin - detach every pinned TI-flow link, remove the TI-flow pins under @pin_dir. */
int svc_tiflow_unpin(const char *pin_dir);

/* Configuration (tiflow_cfg[0]); takes effect for the next handshake. */
int svc_tiflow_cfg_read(struct svc_tiflow *t, struct svc_tiflow_cfg *cfg);
/* svc_tiflow_set_instance - the instance id put in the top 16 bits of our responder halves. */
int svc_tiflow_set_instance(struct svc_tiflow *t, __u16 instance_id);
/* svc_tiflow_set_kind - option kind (1..255 except 0 EOL, 1 NOP); 0 = SVC_TIFLOW_KIND_DEFAULT. */
int svc_tiflow_set_kind(struct svc_tiflow *t, __u8 kind);
/* svc_tiflow_set_flags - SVC_TIFLOW_CFG_F_* (disable the initiator or responder role). */
int svc_tiflow_set_flags(struct svc_tiflow *t, __u8 flags);

/*
 * svc_tiflow_select_add - let sockets to @addr:@port (initiator) or serving
 * @addr:@port (responder) take part. @addr NULL = any address, @port (host
 * order) 0 = any port, not both. Once one entry exists only selected sockets
 * take part. -EEXIST if present.
 */
int svc_tiflow_select_add(struct svc_tiflow *t, const struct svc_addr *addr, __u16 port);
/* svc_tiflow_select_del - remove an entry (-ENOENT if absent); none left = all take part. */
int svc_tiflow_select_del(struct svc_tiflow *t, const struct svc_addr *addr, __u16 port);

/* svc_tiflow_stats_read - per-CPU event counters summed into @out[SVC_TIFLOW_EV_MAX]. */
int svc_tiflow_stats_read(struct svc_tiflow *t, __u64 *out);
/* svc_tiflow_stats_read_pinned - the same from the maps pinned under @pin_dir, without loading. */
int svc_tiflow_stats_read_pinned(const char *pin_dir, __u64 *out);

/* svc_tiflow_sk_map_open - fd of the pinned socket-state map (caller closes it). */
int svc_tiflow_sk_map_open(const char *pin_dir);
/* svc_tiflow_sk_map_fd - the loaded object's socket-state map (owned by @t). */
int svc_tiflow_sk_map_fd(struct svc_tiflow *t);
/*
 * svc_tiflow_sock_state - TI-flow state of the TCP socket @sock_fd (a socket
 * of the calling process) from the socket-state map @map_fd. -ENOENT: the
 * socket never took part (not in an attached cgroup, or not selected), which
 * is plain TCP.
 */
int svc_tiflow_sock_state(int map_fd, int sock_fd, struct svc_tiflow_sk *out);

/*
 * svc_tiflow_sk_json - @st as a new JSON object: state, reason, role, tifid,
 * initiator, responder, instance, tiseq_local, tiseq_peer (48-bit values as
 * 12 hex digits, halves as 6), isn_local, isn_peer, confirm_due. NULL = ENOMEM.
 */
struct json_object *svc_tiflow_sk_json(const struct svc_tiflow_sk *st);

/* Names: "none", "offered", "negotiated", "plain", "resume"; event labels of SVC_TIFLOW_EVENTS. */
const char *svc_tiflow_state_name(unsigned int state);
const char *svc_tiflow_event_label(unsigned int ev);
const char *svc_tiflow_event_desc(unsigned int ev);

#endif /* SVC_TIFLOW_LIB_H */
