// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* svcplane-k8s: follows Services and EndpointSlices and drives the local svcplaned to match. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <curl/curl.h>
#include "config.h"
#include "k8s.h"
#include "log.h"
#include "version.h"

static volatile sig_atomic_t stop;

static pthread_mutex_t wake_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake_cond;
static bool wake_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* A watcher changed a cache: reconcile soon. */
static void notify(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&wake_lock);
	wake_flag = true;
	pthread_cond_signal(&wake_cond);
	pthread_mutex_unlock(&wake_lock);
}

struct opts {
	const char *socket, *kubeconfig, *api_server, *token_file, *ca_file;
	bool insecure;
	unsigned int resync_s, watch_timeout_s, backoff_min_ms, backoff_max_ms;
	int verbose;
};

static struct k8s_conn conn;
static struct opts o;
static struct k8s_cache caches[2];
static const struct k8s_kind kinds[2] = {
	{ "services", "/api/v1/services", &caches[0] },
	{ "endpointslices", "/apis/discovery.k8s.io/v1/endpointslices", &caches[1] },
};

static void *follow_thread(void *arg)
{
	const struct k8s_kind *k = arg;
	struct k8s_backoff bo = { o.backoff_min_ms, o.backoff_max_ms, 0 };

	k8s_follow(&conn, k, bo, o.watch_timeout_s, notify, NULL);
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: svcplane-k8s [OPTIONS]\n"
		"Follows Kubernetes Services annotated svcplane.io/vip and their EndpointSlices,\n"
		"and makes the local svcplaned's services, bindings and instances match them.\n"
		"\n"
		"  -s, --socket PATH          the agent's API socket (default %s)\n"
		"      --kubeconfig FILE      out-of-cluster: the kubeconfig's current context\n"
		"      --api-server URL       the apiserver (e.g. https://10.0.0.1:6443); with:\n"
		"      --token-file FILE      bearer token, re-read at each request\n"
		"      --ca-file FILE         CA bundle the apiserver's certificate must chain to\n"
		"      --insecure-skip-tls-verify  do not verify the apiserver's certificate\n"
		"      --resync SECONDS       reconcile against the agent at least this often "
		"(10)\n"
		"      --watch-timeout SECONDS  ask the apiserver to end each watch after this "
		"(300)\n"
		"      --backoff-min MS       first retry delay after an API error (200)\n"
		"      --backoff-max MS       longest retry delay (10000)\n"
		"  -v, --verbose              debug messages\n"
		"  -V, --version              print the version\n"
		"  -h, --help                 this help\n"
		"Without --api-server or --kubeconfig: in-cluster config "
		"(KUBERNETES_SERVICE_HOST,\n"
		"KUBERNETES_SERVICE_PORT, the service account's token and ca.crt).\n"
		"Documentation: docs/kubernetes.md.\n",
		SVC_DEFAULT_SOCKET);
}

static int parse_uint(const char *name, const char *s, unsigned int min, unsigned int max,
		      unsigned int *out)
{
	char *end;
	unsigned long v = strtoul(s, &end, 10);

	if (!*s || *end || v < min || v > max) {
		fprintf(stderr, "svcplane-k8s: --%s: '%s' is not a number in %u..%u\n", name, s,
			min, max);
		return -1;
	}
	*out = (unsigned int)v;
	return 0;
}

static int parse_opts(int argc, char **argv)
{
	enum {
		O_KUBECONFIG = 256,
		O_API,
		O_TOKEN,
		O_CA,
		O_INSECURE,
		O_RESYNC,
		O_WTMO,
		O_BMIN,
		O_BMAX
	};
	static const struct option lo[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "kubeconfig", required_argument, NULL, O_KUBECONFIG },
		{ "api-server", required_argument, NULL, O_API },
		{ "token-file", required_argument, NULL, O_TOKEN },
		{ "ca-file", required_argument, NULL, O_CA },
		{ "insecure-skip-tls-verify", no_argument, NULL, O_INSECURE },
		{ "resync", required_argument, NULL, O_RESYNC },
		{ "watch-timeout", required_argument, NULL, O_WTMO },
		{ "backoff-min", required_argument, NULL, O_BMIN },
		{ "backoff-max", required_argument, NULL, O_BMAX },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c, idx;

	o.socket = SVC_DEFAULT_SOCKET;
	o.resync_s = 10;
	o.watch_timeout_s = 300;
	o.backoff_min_ms = 200;
	o.backoff_max_ms = 10000;
	/* exact option names: getopt_long would take a prefix ("--kube") */
	for (int i = 1; i < argc && strcmp(argv[i], "--"); i++) {
		size_t n = strcspn(argv[i], "=");
		bool known = false;

		if (strncmp(argv[i], "--", 2) || n == 2)
			continue;
		for (const struct option *p = lo; p->name; p++)
			if (strlen(p->name) == n - 2 && !strncmp(argv[i] + 2, p->name, n - 2))
				known = true;
		if (!known) {
			fprintf(stderr, "svcplane-k8s: unknown option '%s'\n", argv[i]);
			return 2;
		}
		/* skip the value of an option that takes one */
		for (const struct option *p = lo; p->name; p++)
			if (strlen(p->name) == n - 2 && !strncmp(argv[i] + 2, p->name, n - 2) &&
			    p->has_arg && !argv[i][n])
				i++;
	}
	while ((c = getopt_long(argc, argv, "s:vVh", lo, &idx)) != -1) {
		switch (c) {
		case 's':
			o.socket = optarg;
			break;
		case O_KUBECONFIG:
			o.kubeconfig = optarg;
			break;
		case O_API:
			o.api_server = optarg;
			break;
		case O_TOKEN:
			o.token_file = optarg;
			break;
		case O_CA:
			o.ca_file = optarg;
			break;
		case O_INSECURE:
			o.insecure = true;
			break;
		case O_RESYNC:
			if (parse_uint("resync", optarg, 1, 86400, &o.resync_s))
				return 2;
			break;
		case O_WTMO:
			if (parse_uint("watch-timeout", optarg, 1, 3600, &o.watch_timeout_s))
				return 2;
			break;
		case O_BMIN:
			if (parse_uint("backoff-min", optarg, 1, 600000, &o.backoff_min_ms))
				return 2;
			break;
		case O_BMAX:
			if (parse_uint("backoff-max", optarg, 1, 600000, &o.backoff_max_ms))
				return 2;
			break;
		case 'v':
			o.verbose = 1;
			break;
		case 'V':
			printf("svcplane-k8s %s\n", svc_version());
			exit(0);
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "svcplane-k8s: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (o.backoff_max_ms < o.backoff_min_ms) {
		fprintf(stderr, "svcplane-k8s: --backoff-max is below --backoff-min\n");
		return 2;
	}
	if (o.api_server && o.kubeconfig) {
		fprintf(stderr, "svcplane-k8s: --api-server and --kubeconfig exclude each other\n");
		return 2;
	}
	if (!o.api_server && (o.token_file || o.ca_file)) {
		fprintf(stderr, "svcplane-k8s: --token-file and --ca-file go with --api-server\n");
		return 2;
	}
	return 0;
}

/* Warnings about Services are printed when they appear, not at every pass. */
static json_object *warned, *warned_next;

static void warn_once(const char *key, const char *msg)
{
	char k[1024];

	snprintf(k, sizeof(k), "%s: %s", key, msg);
	if (!json_object_object_get_ex(warned, k, NULL))
		pr_warn("Service %s", k);
	json_object_object_add(warned_next, k, NULL);
}

/* pass - one reconcile, when both kinds have been listed. */
static void pass(bool *ready)
{
	json_object *svcs, *slices;
	struct k8s_desired d = { 0 };
	struct k8s_reconcile_stats st;
	bool s1, s2;
	size_t inst = 0;

	svcs = k8s_cache_snapshot(&caches[0], NULL, &s1);
	slices = k8s_cache_snapshot(&caches[1], NULL, &s2);
	/* before both lists, the desired state is unknown: change nothing */
	if (!s1 || !s2)
		goto out;
	warned_next = json_object_new_object();
	if (k8s_desired_build(svcs, slices, &d, warn_once)) {
		pr_err("Error: building the desired state: out of memory");
		json_object_put(warned_next);
		goto out;
	}
	json_object_put(warned);
	warned = warned_next;
	if (k8s_reconcile(o.socket, &d, &st)) {
		pr_warn("agent %s: not readable, retrying at the next pass", o.socket);
		goto out;
	}
	for (size_t i = 0; i < d.n; i++)
		inst += d.svc[i].n_inst;
	pr_debug("pass: %zu services, %zu instances: %u changes, %u refused", d.n, inst, st.ops,
		 st.errors);
	if (st.ops)
		pr_info("reconciled: %zu services, %zu instances: %u changes, %u refused", d.n,
			inst, st.ops, st.errors);
	if (!*ready && !st.errors) {
		*ready = true;
		pr_info("ready: %zu services, %zu instances", d.n, inst);
	}
out:
	k8s_desired_free(&d);
	json_object_put(svcs);
	json_object_put(slices);
}

int main(int argc, char **argv)
{
	pthread_t th[2];
	pthread_condattr_t ca;
	struct sigaction sa = { .sa_handler = on_signal };
	bool ready = false;
	int r, err = 1;

	r = parse_opts(argc, argv);
	if (r)
		return r;
	svc_log_init("svcplane-k8s", o.verbose ? SVC_LOG_DEBUG : SVC_LOG_INFO);
	conn.stop = &stop;
	if (o.api_server) {
		snprintf(conn.server, sizeof(conn.server), "%s", o.api_server);
		if (o.token_file)
			snprintf(conn.token_file, sizeof(conn.token_file), "%s", o.token_file);
		if (o.ca_file)
			snprintf(conn.ca_file, sizeof(conn.ca_file), "%s", o.ca_file);
	} else if (o.kubeconfig) {
		if (k8s_conn_kubeconfig(&conn, o.kubeconfig))
			return 1;
	} else if (k8s_conn_incluster(&conn)) {
		pr_err("Error: no apiserver: not in a cluster (KUBERNETES_SERVICE_HOST unset); "
		       "give --kubeconfig or --api-server");
		return 1;
	}
	if (o.insecure)
		conn.insecure = true;
	while (strlen(conn.server) && conn.server[strlen(conn.server) - 1] == '/')
		conn.server[strlen(conn.server) - 1] = '\0';
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		pr_err("Error: curl_global_init failed");
		return 1;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&wake_cond, &ca);
	warned = json_object_new_object();
	pr_info("following %s, agent %s", conn.server, o.socket);
	for (int i = 0; i < 2; i++)
		k8s_cache_init(&caches[i]);
	for (int i = 0; i < 2; i++) {
		r = pthread_create(&th[i], NULL, follow_thread, (void *)&kinds[i]);
		if (r) {
			pr_err("Error: pthread_create: %s", strerror(r));
			stop = 1;
			for (int j = 0; j < i; j++)
				pthread_join(th[j], NULL);
			goto out;
		}
	}
	while (!stop) {
		struct timespec deadline;

		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += o.resync_s;
		pthread_mutex_lock(&wake_lock);
		/* wake at a change, at the resync deadline, or (polling) to see a signal */
		while (!wake_flag && !stop) {
			struct timespec now, t;

			clock_gettime(CLOCK_MONOTONIC, &now);
			if (now.tv_sec > deadline.tv_sec ||
			    (now.tv_sec == deadline.tv_sec && now.tv_nsec >= deadline.tv_nsec))
				break;
			t = now;
			t.tv_nsec += 200000000L;
			if (t.tv_nsec >= 1000000000L) {
				t.tv_sec++;
				t.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&wake_cond, &wake_lock, &t);
		}
		wake_flag = false;
		pthread_mutex_unlock(&wake_lock);
		if (!stop)
			pass(&ready);
	}
	for (int i = 0; i < 2; i++)
		pthread_join(th[i], NULL);
	err = 0;
	pr_info("stopped");
out:
	for (int i = 0; i < 2; i++)
		k8s_cache_fini(&caches[i]);
	json_object_put(warned);
	k8s_conn_fini(&conn);
	curl_global_cleanup();
	return err;
}
