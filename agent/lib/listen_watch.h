/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Watching listening sockets in this network namespace: the BPF tracepoint
 * program bpf/listen.bpf.c reports every TCP socket entering or leaving LISTEN
 * (close, exit and kill -9 alike), and svc_listen_scan() lists the listeners
 * that already exist when the agent starts.
 */
#ifndef SVC_LISTEN_WATCH_H
#define SVC_LISTEN_WATCH_H

#include "svc_listen.h"

struct svc_listen_watch;

/* Called for each event; the event is only valid during the call. */
typedef void (*svc_listen_fn)(const struct svc_listen_event *ev, void *arg);

/* svc_listen_watch_open - load and attach the tracepoint program for this netns. */
int svc_listen_watch_open(svc_listen_fn fn, void *arg, struct svc_listen_watch **wp);
/* svc_listen_watch_fd - an fd that polls readable when events are waiting. */
int svc_listen_watch_fd(const struct svc_listen_watch *w);
/* svc_listen_watch_consume - deliver every waiting event; returns how many, or -errno. */
int svc_listen_watch_consume(struct svc_listen_watch *w);
/* svc_listen_watch_lost - events lost to a full ring buffer since open (rescan if it grows). */
__u64 svc_listen_watch_lost(const struct svc_listen_watch *w);
void svc_listen_watch_close(struct svc_listen_watch *w);

/*
 * svc_listen_scan - call @fn (listening = 1) for each TCP listener that exists
 * now in this netns, from /proc/net/tcp and /proc/net/tcp6. sock_id is 0 and
 * pid/comm are unknown (zero) for these.
 */
int svc_listen_scan(svc_listen_fn fn, void *arg);

#endif /* SVC_LISTEN_WATCH_H */
