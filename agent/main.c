// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * svcplaned: the svcplane agent. Loads (or adopts) the data plane, restores
 * the registry from its state file, reconciles it into the maps, restores
 * attachments, then serves the control API and metrics until SIGTERM/SIGINT.
 * Exiting leaves programs attached and maps pinned, so a restart (or a crash
 * and restart) drops nothing; --uninstall removes everything.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include "agent.h"
#include "direct.h"
#include "tiflow.h"
#include "log.h"
#include "pin.h"
#include "version.h"

/* mkdir -p with @mode for the directories it creates. */
static int mkdir_p(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];

	snprintf(tmp, sizeof(tmp), "%.4000s", path);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) && errno != EEXIST)
		return -errno;
	return 0;
}

/* One agent per state directory: an exclusive flock on STATE_DIR/lock, held until exit. */
static int take_lock(struct agent *a)
{
	char path[PATH_MAX + 8], pid[32] = "";
	ssize_t n;
	int fd, err;

	snprintf(path, sizeof(path), "%.4000s/lock", a->cfg.state_dir);
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		err = -errno;
		pr_err("lock %s: %s", path, strerror(errno));
		return err;
	}
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		err = -errno;
		if (errno == EWOULDBLOCK) {
			n = pread(fd, pid, sizeof(pid) - 1, 0);
			pid[n > 0 ? n : 0] = '\0';
			pid[strcspn(pid, "\n")] = '\0';
			pr_err("another svcplaned (pid %s) is running with state dir %s (lock %s "
			       "held)",
			       pid[0] ? pid : "?", a->cfg.state_dir, path);
		} else {
			pr_err("lock %s: %s", path, strerror(errno));
		}
		close(fd);
		return err;
	}
	n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
	if (ftruncate(fd, 0) || pwrite(fd, pid, (size_t)n, 0) != n)
		pr_warn("lock %s: could not record pid: %s", path, strerror(errno));
	a->lock_fd = fd;
	return 0;
}

/* Tells systemd (Type=notify) our state, if it asked; no libsystemd needed. */
static void sd_notify_msg(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	socklen_t len;
	int fd;

	if (!path || !*path || strlen(path) >= sizeof(sun.sun_path))
		return;
	memcpy(sun.sun_path, path, strlen(path));
	if (sun.sun_path[0] == '@')
		sun.sun_path[0] = '\0'; /* abstract namespace */
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	if (sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sun, len) < 0)
		pr_warn("sd_notify %s: %s", msg, strerror(errno));
	close(fd);
}

static int open_signals(struct agent *a)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL))
		return -errno;
	a->signal_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (a->signal_fd < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* Loads the state file; a corrupt one stops the start unless --discard-corrupt-state. */
static int load_state(struct agent *a)
{
	char why[512], aside[PATH_MAX + 32];
	int err = agent_state_load(a, why, sizeof(why));

	if (err == -ENOENT) {
		pr_info("no state file %s: starting with an empty registry", a->state_path);
		return 0;
	}
	if (!err) {
		pr_info("state restored from %s: %zu services, %zu instances, %zu bindings, %zu "
			"rules",
			a->state_path, a->reg.n_services, a->reg.n_instances, a->reg.n_bindings,
			a->reg.n_rules);
		return 0;
	}
	if (err != -EBADMSG || !a->cfg.discard_corrupt) {
		pr_err("state file %s cannot be loaded: %s", a->state_path, why);
		if (err == -EBADMSG)
			pr_err("refusing to start: move the file away or start with "
			       "--discard-corrupt-state (it is then kept as %s.corrupt)",
			       a->state_path);
		return err;
	}
	snprintf(aside, sizeof(aside), "%s.corrupt", a->state_path);
	if (rename(a->state_path, aside)) {
		err = -errno;
		pr_err("move corrupt state file %s to %s: %s", a->state_path, aside,
		       strerror(errno));
		return err;
	}
	pr_warn("%s; kept as %s, starting with an empty registry", why, aside);
	return 0;
}

/*
 * --uninstall: detach every svcplane program found on this namespace's
 * interfaces, then remove the pins. Works without opening the data plane, so
 * it also cleans up after an incompatible (older or newer) version.
 */
static int uninstall(struct agent *a)
{
	struct if_nameindex *ifs = if_nameindex();
	int ret = 0, err, n = 0;

	if (!ifs)
		pr_warn("uninstall: list interfaces: %s", strerror(errno));
	for (struct if_nameindex *p = ifs; p && p->if_index; p++) {
		/* The direct path's tc programs too (-ENOENT: none there). */
		err = svc_direct_detach(p->if_name);
		if (!err)
			pr_info("uninstall: direct path detached from %s", p->if_name);
		else if (err != -ENOENT)
			ret = ret ?: err;
		if (svc_dp_attached(p->if_name, NULL, NULL) != 1)
			continue;
		err = svc_dp_detach(NULL, p->if_name);
		if (err && err != -ENOENT) {
			ret = ret ?: err;
			continue;
		}
		pr_info("uninstall: detached from %s", p->if_name);
		n++;
	}
	if (ifs)
		if_freenameindex(ifs);
	/* TI-flow links (cgroups) and maps pinned in the same directory, if any. */
	err = svc_tiflow_unpin(a->cfg.pin_dir);
	if (err && err != -ENOENT) {
		pr_warn("uninstall: remove TI-flow pins under %s: %s", a->cfg.pin_dir,
			strerror(-err));
		ret = ret ?: err;
	}
	err = svc_direct_unpin(a->cfg.pin_dir);
	if (err && err != -ENOENT) {
		pr_warn("uninstall: remove direct-path pins under %s: %s", a->cfg.pin_dir,
			strerror(-err));
		ret = ret ?: err;
	}
	err = svc_dp_unpin(a->cfg.pin_dir);
	ret = ret ?: err;
	if (!err)
		pr_info("uninstall: removed pins under %s", a->cfg.pin_dir);
	pr_info("uninstall: %s (%d interface(s) detached; state file %s kept)",
		ret ? "incomplete" : "done", n, a->state_path);
	return ret;
}

static void run_loop(struct agent *a)
{
	struct pollfd pfds[SVC_AGENT_MAX_CLIENTS + 10 + SVC_AGENT_HC_POLL_MAX];

	for (;;) {
		int n = 0, nsrv, nhc, mfd, timeout = 1000, r, lfd, li = -1, dfd, di = -1, ni = -1;

		pfds[n++] = (struct pollfd){ .fd = a->signal_fd, .events = POLLIN };
		/* neighbour, route and link changes: the next hops' cached egress */
		if (a->nhe_fd >= 0) {
			ni = n;
			pfds[n++] = (struct pollfd){ .fd = a->nhe_fd, .events = POLLIN };
		}
		mfd = agent_metrics_fd(a, &timeout);
		if (mfd >= 0)
			pfds[n++] = (struct pollfd){ .fd = mfd, .events = POLLIN };
		lfd = agent_register_fd(a);
		if (lfd >= 0) {
			li = n;
			pfds[n++] = (struct pollfd){ .fd = lfd, .events = POLLIN };
		}
		dfd = agent_delay_fd(a);
		if (dfd >= 0) {
			di = n;
			pfds[n++] = (struct pollfd){ .fd = dfd, .events = POLLIN };
		}
		/* the etcd watch: its events are applied by agent_etcd_run on any wake-up */
		n += agent_etcd_pollfds(a, pfds + n, 4, &timeout);
		/* leases and registration refreshes are checked at least this often */
		if (timeout > SVC_AGENT_TICK_MS)
			timeout = SVC_AGENT_TICK_MS;
		nsrv = agent_server_pollfds(a, pfds + n, SVC_AGENT_MAX_CLIENTS + 10 - n);
		/* health checks in progress: wake on their readiness or deadline */
		nhc = agent_health_pollfds(a, pfds + n + nsrv, SVC_AGENT_HC_POLL_MAX, &timeout);
		r = poll(pfds, (nfds_t)(n + nsrv + nhc), timeout);
		if (r < 0 && errno != EINTR) {
			pr_err("poll: %s", strerror(errno));
			return;
		}
		if (r > 0 && (pfds[0].revents & POLLIN)) {
			struct signalfd_siginfo si;

			if (read(a->signal_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				if (si.ssi_signo == SIGHUP) {
					pr_info("SIGHUP: ignored (restart to apply config "
						"changes)");
				} else {
					pr_info("%s: exiting; programs stay attached, maps stay "
						"pinned",
						strsignal((int)si.ssi_signo));
					return;
				}
			}
		}
		if (r > 0 && ni >= 0 && (pfds[ni].revents & POLLIN))
			svc_dp_nh_watch_run(a->dp); /* logs its own failures */
		if (r > 0)
			agent_server_dispatch(a, pfds + n, nsrv);
		agent_etcd_run(a);
		agent_register_run(a, r > 0 && li >= 0 && (pfds[li].revents & POLLIN));
		agent_delay_run(a, r > 0 && di >= 0 && (pfds[di].revents & POLLIN));
		agent_leases_expire(a);
		agent_health_run(a);
		/* MHD keeps its own timers: run it on readiness and on every wake-up. */
		agent_metrics_run(a);
		agent_server_expire(a);
		if (agent_now_s() >= (double)a->next_gc) {
			agent_gc(a);
			a->next_gc = (time_t)agent_now_s() + SVC_AGENT_GC_PERIOD_S;
		}
		if (agent_now_s() >= (double)a->next_neigh) {
			if (a->next_neigh)
				agent_neigh_refresh(a);
			a->next_neigh = (time_t)agent_now_s() + SVC_AGENT_NEIGH_PERIOD_S;
		}
	}
}

static int start(struct agent *a)
{
	struct svc_dp_config dcfg = {
		.pin_dir = a->cfg.pin_dir,
		.max_flows = a->cfg.flows,
		.ch_seed = a->cfg.seed,
	};
	struct svc_err serr;
	char why[512];
	bool dirty = false;
	int err;

	err = load_state(a);
	if (err)
		return err;
	/* Before any load: if one fails, the log already says what the kernel lacks. */
	svc_features_probe(&a->features);
	svc_features_log(&a->features);
	err = agent_delay_choose(a);
	if (err)
		return err;
	/* --src (command line or config) overrides the recorded source addresses. */
	if (a->cfg.has_src4 && !svc_reg_src_set(&a->reg, &a->cfg.src4, &serr))
		dirty = true;
	if (a->cfg.has_src6 && !svc_reg_src_set(&a->reg, &a->cfg.src6, &serr))
		dirty = true;
	err = svc_dp_open(&dcfg, &a->dp, &a->adopted);
	if (err) {
		pr_err("open the data plane under %s: %s", a->cfg.pin_dir, strerror(-err));
		return err;
	}
	if (a->adopted)
		pr_info("adopted pinned maps under %s", a->cfg.pin_dir);
	else
		pr_info("no pinned maps under %s: created them, rebuilding from the registry",
			a->cfg.pin_dir);
	/*
	 * Maps created just now hold nothing the registry does not: skip the first
	 * reconcile's scan for strays (4,096 single lookups of ch_tables took
	 * minutes of a QEMU/TCG guest agent's start).
	 */
	a->full_scan_done = !a->adopted;
	err = agent_opt_key_setup(a);
	if (err)
		return err;
	err = svc_dp_set_flood_rate(a->dp, a->cfg.flood_insert_rate);
	if (err)
		return err;
	if (a->cfg.flood_insert_rate)
		pr_info("flood guard: at most %u flow inserts of new TCP connections per CPU per s",
			a->cfg.flood_insert_rate);
	else
		pr_info("flood guard: off");
	err = agent_reconcile(a);
	if (err) {
		pr_err("initial reconcile failed: %s", strerror(-err));
		return err;
	}
	/*
	 * After the first reconcile (next hops written): resolve every up next
	 * hop's egress, adopted ones too, and follow the kernel's changes. A
	 * failure leaves the router on FIB lookups (counted ev_fib_fallback).
	 */
	a->nhe_fd = svc_dp_nh_watch_start(a->dp);
	if (a->nhe_fd < 0) {
		pr_err("next-hop egress cache: %s; the router falls back to a FIB lookup per "
		       "packet (ev_fib_fallback)",
		       strerror(-a->nhe_fd));
		a->nhe_fd = -1;
	}
	agent_attachments_restore(a);
	agent_tiflow_restore(a);
	agent_direct_restore(a);
	if (dirty || access(a->state_path, F_OK)) {
		err = agent_state_save(a, why, sizeof(why));
		if (err)
			return err;
	}
	/* the shared registry replaces the cached one once etcd answers */
	err = agent_etcd_start(a);
	if (err)
		return err;
	err = agent_server_open(a);
	if (err)
		return err;
	err = agent_register_start(a);
	if (err)
		return err;
	err = agent_delay_start(a);
	if (err)
		return err;
	err = agent_metrics_start(a);
	if (err)
		return err;
	return 0;
}

int main(int argc, char **argv)
{
	static struct agent agent; /* large (set cache): not on the stack */
	struct agent *a = &agent;
	char err_msg[512];
	int err;

	svc_cfg_init(&a->cfg);
	if (svc_cfg_parse_args(&a->cfg, argc, argv, err_msg, sizeof(err_msg))) {
		fprintf(stderr, "svcplaned: %s\nTry 'svcplaned --help'.\n", err_msg);
		return 2;
	}
	if (a->cfg.help) {
		fputs(svc_cfg_usage(), stdout);
		return 0;
	}
	if (a->cfg.version) {
		printf("svcplaned %s\n", svc_version());
		return 0;
	}
	svc_log_init("svcplaned", a->cfg.verbose ? SVC_LOG_DEBUG : SVC_LOG_INFO);
	svc_reg_init(&a->reg);
	a->lock_fd = a->pin_lock_fd = a->listen_fd = a->signal_fd = a->nhe_fd = -1;
	clock_gettime(CLOCK_MONOTONIC, &a->started);
	snprintf(a->state_path, sizeof(a->state_path), "%.4000s/state.json", a->cfg.state_dir);

	err = mkdir_p(a->cfg.state_dir, 0700);
	if (err) {
		pr_err("state dir %s: %s", a->cfg.state_dir, strerror(-err));
		return 1;
	}
	/* A program the kernel refuses: its whole verifier log goes there. */
	svc_log_set_verifier_dir(a->cfg.state_dir);
	err = take_lock(a);
	if (err)
		return 1;
	/*
	 * The pins are shared state too: an agent with another state directory
	 * on the same pins would reconcile its (empty) registry into them.
	 * --uninstall of a directory that does not exist has nothing to lock.
	 */
	a->pin_lock_fd = svc_pin_dir_lock(a->cfg.pin_dir, !a->cfg.uninstall);
	if (a->pin_lock_fd < 0 && !(a->cfg.uninstall && a->pin_lock_fd == -ENOENT)) {
		close(a->lock_fd);
		return 1;
	}
	if (a->cfg.uninstall) {
		err = uninstall(a);
		goto out;
	}
	err = open_signals(a);
	if (err) {
		pr_err("signals: %s", strerror(-err));
		goto out;
	}
	err = start(a);
	if (err)
		goto out;
	/* The agreed readiness line: the API socket accepts connections from now on. */
	fprintf(stderr, "svcplaned: ready\n");
	sd_notify_msg("READY=1");
	run_loop(a);
	sd_notify_msg("STOPPING=1");
out:
	agent_health_stop(a);
	agent_delay_stop(a);
	agent_register_stop(a);
	agent_etcd_stop(a);
	agent_metrics_stop(a);
	agent_server_close(a);
	agent_tiflow_stop(a);
	agent_direct_stop(a);
	svc_route_close(a->route); /* before the data plane whose maps it shares */
	svc_dp_close(a->dp);
	agent_set_cache_free(a);
	svc_reg_free(&a->reg);
	if (a->signal_fd >= 0)
		close(a->signal_fd);
	if (a->pin_lock_fd >= 0)
		close(a->pin_lock_fd);
	if (a->lock_fd >= 0)
		close(a->lock_fd);
	return err ? 1 : 0;
}
