// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* svcplaned settings: defaults, config file and command line (one key table for both). */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include "addr.h"
#include "config.h"
#include "etcd.h"

static int cfg_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int cfg_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

static int set_metrics(struct svc_agent_cfg *cfg, const char *v, char *err, size_t errlen);

static const char *const reinject_names[SVC_DELAY_REINJECT_MAX] = {
	[SVC_DELAY_REINJECT_AUTO] = "auto",
	[SVC_DELAY_REINJECT_LIVE] = "live",
	[SVC_DELAY_REINJECT_COPY] = "copy",
};

const char *svc_delay_reinject_name(enum svc_delay_reinject m)
{
	return m < SVC_DELAY_REINJECT_MAX ? reinject_names[m] : "?";
}

void svc_cfg_init(struct svc_agent_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->socket, sizeof(cfg->socket), "%s", SVC_DEFAULT_SOCKET);
	snprintf(cfg->pin_dir, sizeof(cfg->pin_dir), "%s", SVC_DEFAULT_PIN_DIR);
	snprintf(cfg->state_dir, sizeof(cfg->state_dir), "%s", SVC_DEFAULT_STATE_DIR);
	set_metrics(cfg, SVC_DEFAULT_METRICS, NULL, 0);
	cfg->mode = SVC_XDP_NATIVE;
	cfg->src4_pass = cfg->src6_pass = -1;
	cfg->lease = SVC_CFG_DEFAULT_LEASE;
	cfg->delay_queue = SVC_CFG_DEFAULT_DELAY_QUEUE;
	cfg->flood_insert_rate = SVC_CFG_DEFAULT_FLOOD_INSERT_RATE;
}

static int parse_u32(const char *key, const char *v, unsigned long long min, unsigned long long max,
		     __u32 *out, char *err, size_t errlen)
{
	unsigned long long x;
	char *end;

	if (!*v || !isdigit((unsigned char)*v))
		return cfg_err(err, errlen, "%s: '%s' is not a number", key, v);
	errno = 0;
	x = strtoull(v, &end, 10);
	if (errno || *end)
		return cfg_err(err, errlen, "%s: '%s' is not a number", key, v);
	if (x < min || x > max)
		return cfg_err(err, errlen, "%s: %s out of range %llu..%llu", key, v, min, max);
	*out = (__u32)x;
	return 0;
}

static int parse_bool(const char *key, const char *v, bool *out, char *err, size_t errlen)
{
	if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "1"))
		*out = true;
	else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "0"))
		*out = false;
	else
		return cfg_err(err, errlen, "%s: '%s' is not true or false", key, v);
	return 0;
}

/* "off", "ADDR:PORT" or "[V6ADDR]:PORT"; the address must be numeric. */
static int set_metrics(struct svc_agent_cfg *cfg, const char *v, char *err, size_t errlen)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&cfg->metrics_sa;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&cfg->metrics_sa;
	const char *orig = v, *colon;
	char host[64];
	size_t hlen;
	__u32 port;

	if (strlen(v) >= sizeof(cfg->metrics))
		return cfg_err(err, errlen, "metrics: '%s' too long", v);
	if (!strcmp(v, "off")) {
		cfg->metrics_on = false;
		snprintf(cfg->metrics, sizeof(cfg->metrics), "off");
		return 0;
	}
	colon = strrchr(v, ':');
	if (!colon)
		return cfg_err(err, errlen, "metrics: '%s' is not ADDR:PORT or off", v);
	hlen = (size_t)(colon - v);
	if (hlen >= 2 && v[0] == '[' && v[hlen - 1] == ']') {
		v++;
		hlen -= 2;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		return cfg_err(err, errlen, "metrics: '%s' is not ADDR:PORT or off", v);
	memcpy(host, v, hlen);
	host[hlen] = '\0';
	if (parse_u32("metrics port", colon + 1, 1, 65535, &port, err, errlen))
		return -EINVAL;
	memset(&cfg->metrics_sa, 0, sizeof(cfg->metrics_sa));
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((__u16)port);
		cfg->metrics_salen = sizeof(*sin);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((__u16)port);
		cfg->metrics_salen = sizeof(*sin6);
	} else {
		return cfg_err(err, errlen, "metrics: '%s' is not a numeric IPv4/IPv6 address",
			       host);
	}
	cfg->metrics_on = true;
	snprintf(cfg->metrics, sizeof(cfg->metrics), "%s", orig);
	return 0;
}

static int set_src(struct svc_agent_cfg *cfg, const char *v, char *err, size_t errlen)
{
	struct svc_addr a;

	if (svc_addr_parse(v, &a))
		return cfg_err(err, errlen, "src: '%s' is not an IPv4 or IPv6 address", v);
	if (svc_addr_is_v4(&a)) {
		if (cfg->src4_pass == cfg->pass)
			return cfg_err(err, errlen,
				       "src: a second IPv4 source '%s' (one per family)", v);
		cfg->src4 = a;
		cfg->has_src4 = true;
		cfg->src4_pass = cfg->pass;
	} else {
		if (cfg->src6_pass == cfg->pass)
			return cfg_err(err, errlen,
				       "src: a second IPv6 source '%s' (one per family)", v);
		cfg->src6 = a;
		cfg->has_src6 = true;
		cfg->src6_pass = cfg->pass;
	}
	return 0;
}

static int set_path(char *dst, size_t size, const char *key, const char *v, char *err,
		    size_t errlen)
{
	if (!*v)
		return cfg_err(err, errlen, "%s: empty path", key);
	if (v[0] != '/')
		return cfg_err(err, errlen, "%s: '%s' is not an absolute path", key, v);
	if (strlen(v) >= size)
		return cfg_err(err, errlen, "%s: path longer than %zu bytes", key, size - 1);
	snprintf(dst, size, "%s", v);
	return 0;
}

int svc_opt_key_parse(const char *v, __u8 key[16])
{
	unsigned int b;
	int i;

	if (strlen(v) != 32)
		return -EINVAL;
	for (i = 0; i < 16; i++) {
		if (!isxdigit((unsigned char)v[2 * i]) || !isxdigit((unsigned char)v[2 * i + 1]) ||
		    sscanf(v + 2 * i, "%2x", &b) != 1)
			return -EINVAL;
		key[i] = (__u8)b;
	}
	return 0;
}

int svc_cfg_set(struct svc_agent_cfg *cfg, const char *key, const char *v, char *err, size_t errlen)
{
	if (!strcmp(key, "socket"))
		return set_path(cfg->socket, sizeof(cfg->socket), key, v, err, errlen);
	if (!strcmp(key, "pin-dir"))
		return set_path(cfg->pin_dir, sizeof(cfg->pin_dir), key, v, err, errlen);
	if (!strcmp(key, "state-dir"))
		return set_path(cfg->state_dir, sizeof(cfg->state_dir), key, v, err, errlen);
	if (!strcmp(key, "metrics"))
		return set_metrics(cfg, v, err, errlen);
	if (!strcmp(key, "mode")) {
		if (!strcmp(v, "native"))
			cfg->mode = SVC_XDP_NATIVE;
		else if (!strcmp(v, "skb"))
			cfg->mode = SVC_XDP_SKB;
		else
			return cfg_err(err, errlen, "mode: '%s' is not native or skb", v);
		return 0;
	}
	if (!strcmp(key, "src"))
		return set_src(cfg, v, err, errlen);
	if (!strcmp(key, "flows"))
		return parse_u32(key, v, SVC_CFG_MIN_FLOWS, SVC_CFG_MAX_FLOWS, &cfg->flows, err,
				 errlen);
	if (!strcmp(key, "seed"))
		return parse_u32(key, v, 0, 0xffffffffULL, &cfg->seed, err, errlen);
	if (!strcmp(key, "flood-insert-rate"))
		return parse_u32(key, v, 0, 0xffffffffULL, &cfg->flood_insert_rate, err, errlen);
	if (!strcmp(key, "opt-key")) {
		if (svc_opt_key_parse(v, cfg->opt_key))
			return cfg_err(err, errlen, "opt-key: not 32 hexadecimal digits");
		cfg->has_opt_key = true;
		return 0;
	}
	if (!strcmp(key, "verbose"))
		return parse_bool(key, v, &cfg->verbose, err, errlen);
	if (!strcmp(key, "register-to"))
		return set_path(cfg->register_to, sizeof(cfg->register_to), key, v, err, errlen);
	if (!strcmp(key, "registry")) {
		struct svc_etcd_url u;
		char why[160];

		if (!strcmp(v, "local")) {
			cfg->registry[0] = '\0';
			return 0;
		}
		if (strlen(v) >= sizeof(cfg->registry))
			return cfg_err(err, errlen, "registry: longer than %zu bytes",
				       sizeof(cfg->registry) - 1);
		if (svc_etcd_url_parse(v, &u, why, sizeof(why)))
			return cfg_err(err, errlen, "registry: %s", why);
		snprintf(cfg->registry, sizeof(cfg->registry), "%s", v);
		return 0;
	}
	if (!strcmp(key, "instance-addr")) {
		if (svc_addr_parse(v, &cfg->instance_addr))
			return cfg_err(err, errlen, "instance-addr: '%s' is not an address", v);
		cfg->has_instance_addr = true;
		return 0;
	}
	if (!strcmp(key, "lease"))
		return parse_u32(key, v, 1, SVC_CFG_MAX_LEASE, &cfg->lease, err, errlen);
	if (!strcmp(key, "delay-unresolvable")) {
		if (!strcmp(v, "rst"))
			cfg->delay_rst = true;
		else if (!strcmp(v, "drop"))
			cfg->delay_rst = false;
		else
			return cfg_err(err, errlen, "delay-unresolvable: '%s' is not rst or drop",
				       v);
		return 0;
	}
	if (!strcmp(key, "delay-queue"))
		return parse_u32(key, v, 1, SVC_CFG_MAX_DELAY_QUEUE, &cfg->delay_queue, err,
				 errlen);
	if (!strcmp(key, "delay-reinject")) {
		for (int m = 0; m < SVC_DELAY_REINJECT_MAX; m++) {
			if (!strcmp(v, reinject_names[m])) {
				cfg->delay_reinject = (enum svc_delay_reinject)m;
				return 0;
			}
		}
		return cfg_err(err, errlen, "delay-reinject: '%s' is not auto, live or copy", v);
	}
	if (!strcmp(key, "discard-corrupt-state"))
		return parse_bool(key, v, &cfg->discard_corrupt, err, errlen);
	return cfg_err(err, errlen, "unknown setting '%s'", key);
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

int svc_cfg_load_file(struct svc_agent_cfg *cfg, const char *path, char *err, size_t errlen)
{
	char *line = NULL, sub[256];
	int lineno = 0, ret = 0;
	size_t cap = 0;
	ssize_t n;
	FILE *f;

	f = fopen(path, "re");
	if (!f)
		return cfg_err(err, errlen, "config %s: %s", path, strerror(errno));
	cfg->pass++;
	while ((n = getline(&line, &cap, f)) >= 0) {
		char *s, *eq, *key, *val;

		lineno++;
		if (n > SVC_CFG_LINE_MAX) {
			ret = cfg_err(err, errlen, "%s:%d: line longer than %d bytes", path, lineno,
				      SVC_CFG_LINE_MAX);
			goto out;
		}
		if (memchr(line, '\0', (size_t)n)) {
			ret = cfg_err(err, errlen, "%s:%d: NUL byte in line", path, lineno);
			goto out;
		}
		s = trim(line);
		if (!*s || *s == '#')
			continue;
		eq = strchr(s, '=');
		if (!eq) {
			ret = cfg_err(err, errlen, "%s:%d: expected 'key = value'", path, lineno);
			goto out;
		}
		*eq = '\0';
		key = trim(s);
		val = trim(eq + 1);
		if (!strcmp(key, "config")) {
			ret = cfg_err(err, errlen, "%s:%d: 'config' cannot be set in a config file",
				      path, lineno);
			goto out;
		}
		if (svc_cfg_set(cfg, key, val, sub, sizeof(sub))) {
			ret = cfg_err(err, errlen, "%s:%d: %s", path, lineno, sub);
			goto out;
		}
	}
	if (ferror(f))
		ret = cfg_err(err, errlen, "config %s: read error", path);
out:
	free(line);
	fclose(f);
	return ret;
}

/* Command-line options: long name, short letter, takes a value. */
static const struct {
	const char *name;
	char short_name;
	bool has_arg;
} agent_opts[] = {
	{ "config", 0, true },
	{ "socket", 0, true },
	{ "pin-dir", 0, true },
	{ "state-dir", 0, true },
	{ "metrics", 0, true },
	{ "mode", 0, true },
	{ "src", 0, true },
	{ "flows", 0, true },
	{ "seed", 0, true },
	{ "flood-insert-rate", 0, true },
	{ "opt-key", 0, true },
	{ "register-to", 0, true },
	{ "registry", 0, true },
	{ "instance-addr", 0, true },
	{ "lease", 0, true },
	{ "delay-unresolvable", 0, true },
	{ "delay-queue", 0, true },
	{ "delay-reinject", 0, true },
	{ "uninstall", 0, false },
	{ "verbose", 'v', false },
	{ "help", 'h', false },
	{ "version", 0, false },
	{ "discard-corrupt-state", 0, false },
};

/* Resolves argv[*i] to an option index and its value; advances *i past a separate value. */
static int match_opt(int argc, char **argv, int *i, const char **val, char *err, size_t errlen)
{
	const char *a = argv[*i], *eq;
	size_t n;

	*val = NULL;
	if (a[0] == '-' && a[1] && a[1] != '-' && !a[2]) {
		for (size_t k = 0; k < sizeof(agent_opts) / sizeof(agent_opts[0]); k++)
			if (agent_opts[k].short_name == a[1])
				return (int)k;
		return cfg_err(err, errlen, "unknown option '%s'", a);
	}
	if (strncmp(a, "--", 2) || !a[2])
		return cfg_err(err, errlen, "unexpected argument '%s'", a);
	a += 2;
	eq = strchr(a, '=');
	n = eq ? (size_t)(eq - a) : strlen(a);
	for (size_t k = 0; k < sizeof(agent_opts) / sizeof(agent_opts[0]); k++) {
		if (strlen(agent_opts[k].name) != n || strncmp(agent_opts[k].name, a, n))
			continue;
		if (!agent_opts[k].has_arg) {
			if (eq)
				return cfg_err(err, errlen, "option '--%s' takes no value",
					       agent_opts[k].name);
			return (int)k;
		}
		if (eq) {
			*val = eq + 1;
		} else {
			if (*i + 1 >= argc)
				return cfg_err(err, errlen, "option '--%s' needs a value",
					       agent_opts[k].name);
			*val = argv[++*i];
		}
		return (int)k;
	}
	return cfg_err(err, errlen, "unknown option '%s'", argv[*i]);
}

int svc_cfg_parse_args(struct svc_agent_cfg *cfg, int argc, char **argv, char *err, size_t errlen)
{
	const char *val;
	char sub[256];
	int k, ret;

	/* Pass 1: find --config (and reject unknown options before touching any file). */
	for (int i = 1; i < argc; i++) {
		k = match_opt(argc, argv, &i, &val, err, errlen);
		if (k < 0)
			return k;
		if (!strcmp(agent_opts[k].name, "config")) {
			ret = set_path(cfg->config, sizeof(cfg->config), "config", val, err,
				       errlen);
			if (ret)
				return ret;
		}
	}
	if (cfg->config[0]) {
		ret = svc_cfg_load_file(cfg, cfg->config, err, errlen);
		if (ret)
			return ret;
	}
	/* Pass 2: the command line overrides the file. */
	cfg->pass++;
	for (int i = 1; i < argc; i++) {
		const char *name;

		k = match_opt(argc, argv, &i, &val, err, errlen);
		if (k < 0)
			return k;
		name = agent_opts[k].name;
		if (!strcmp(name, "config"))
			continue;
		if (!strcmp(name, "help")) {
			cfg->help = true;
		} else if (!strcmp(name, "version")) {
			cfg->version = true;
		} else if (!strcmp(name, "uninstall")) {
			cfg->uninstall = true;
		} else if (!agent_opts[k].has_arg) {
			ret = svc_cfg_set(cfg, name, "true", err, errlen);
			if (ret)
				return ret;
		} else if (svc_cfg_set(cfg, name, val, sub, sizeof(sub))) {
			return cfg_err(err, errlen, "--%s", sub);
		}
	}
	return 0;
}

const char *svc_cfg_usage(void)
{
	return "Usage: svcplaned [OPTIONS]\n"
	       "The svcplane agent: loads and attaches the XDP programs, keeps the service\n"
	       "registry, serves the control API and Prometheus metrics. Runs in the foreground.\n"
	       "\n"
	       "  --config FILE        config file: 'key = value' lines, keys as the long options\n"
	       "  --socket PATH        control API socket (default " SVC_DEFAULT_SOCKET ")\n"
	       "  --pin-dir DIR        bpffs pin directory (default " SVC_DEFAULT_PIN_DIR ")\n"
	       "  --state-dir DIR      registry state file and lock (default " SVC_DEFAULT_STATE_DIR
	       ")\n"
	       "  --metrics ADDR:PORT  Prometheus endpoint (default " SVC_DEFAULT_METRICS
	       "; 'off' disables)\n"
	       "  --mode native|skb    default XDP attach mode (default native; no fallback)\n"
	       "  --src ADDR           router outer source address (repeatable: one IPv4, one "
	       "IPv6)\n"
	       "  --flows N            flow table size (default 262144)\n"
	       "  --seed N             deployment seed: flow hash and consistent-hash tables\n"
	       "                       (the same on every router of a deployment)\n"
	       "  --flood-insert-rate N  flood guard: flow-table inserts of new TCP connections\n"
	       "                       per CPU per second; SYNs over it are forwarded by the\n"
	       "                       consistent hash, not recorded (default 10000, 0 = off)\n"
	       "  --opt-key HEX32      deployment option key (128 bits): routers trust a\n"
	       "                       flowID/TIFID only if keyed with it; the same on every\n"
	       "                       router and endpoint (default: the one in the state dir,\n"
	       "                       generated at first start)\n"
	       "  --registry etcd://HOST:PORT[,HOST:PORT...][/PREFIX]  keep the desired state\n"
	       "                       in etcd, shared by every agent of the deployment\n"
	       "                       (default 'local': the state file alone)\n"
	       "  --register-to SOCKET register on bind: a listener on a local binding's\n"
	       "                       VIP:PORT registers this host at that router agent\n"
	       "  --instance-addr ADDR this host's address as the router reaches it\n"
	       "  --lease SECONDS      registration lease, refreshed every third (default 3)\n"
	       "  --delay-unresolvable rst|drop  DELAY: answer a held TCP packet whose serviceID\n"
	       "                       cannot be resolved with a RST, or drop it (default drop)\n"
	       "  --delay-queue N      DELAY: held packets handled per wake-up, more are dropped\n"
	       "                       and counted (default 64, 1..4096)\n"
	       "  --delay-reinject auto|live|copy  DELAY: how a resolved held packet is sent on:\n"
	       "                       live (the kernel transmits the router program's result,\n"
	       "                       BPF_F_TEST_XDP_LIVE_FRAMES), copy (the program's output\n"
	       "                       sent with AF_PACKET), auto (live if the kernel allows it;\n"
	       "                       the default)\n"
	       "  --discard-corrupt-state  start empty if the state file is corrupt (it is kept\n"
	       "                       aside as state.json.corrupt)\n"
	       "  --uninstall          detach every svcplane program, remove the pins, exit\n"
	       "  -v, --verbose        debug logging\n"
	       "  -h, --help           this text\n"
	       "  --version            print the version and exit\n"
	       "\n"
	       "Exit status: 0 clean exit (programs stay attached), 1 start failed or runtime\n"
	       "error, 2 bad option or config file (a restart cannot fix it).\n";
}
