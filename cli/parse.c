// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * servicectl's argument parser: finds the command of the table (commands.c)
 * by its exact words, validates each argument and option locally (addr.h) and
 * builds the API request; nothing is sent from here.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "addr.h"
#include "api.h"
#include "ctl.h"
#include "registry.h"

static int usage_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int usage_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return SVC_CTL_EXIT_USAGE;
}

const char *svc_ctl_cmd_words(const struct svc_ctl_cmd *cmd, char *buf, size_t len)
{
	if (cmd->name)
		snprintf(buf, len, "%s %s", cmd->group, cmd->name);
	else
		snprintf(buf, len, "%s", cmd->group);
	return buf;
}

static bool group_exists(const char *g)
{
	for (const struct svc_ctl_cmd *c = svc_ctl_commands; c->group; c++)
		if (!strcmp(c->group, g))
			return true;
	return false;
}

static const struct svc_ctl_cmd *find_cmd(const char *g, const char *name)
{
	for (const struct svc_ctl_cmd *c = svc_ctl_commands; c->group; c++) {
		if (strcmp(c->group, g))
			continue;
		if ((!name && !c->name) || (name && c->name && !strcmp(c->name, name)))
			return c;
	}
	return NULL;
}

/* two_word_prefix - @w is the first of a two-word subcommand of group @g ("select"). */
static bool two_word_prefix(const char *g, const char *w)
{
	size_t n = strlen(w);

	for (const struct svc_ctl_cmd *c = svc_ctl_commands; c->group; c++)
		if (!strcmp(c->group, g) && c->name && !strncmp(c->name, w, n) && c->name[n] == ' ')
			return true;
	return false;
}

static const char *const state_words[] = { "up", "down", NULL };

static int one_of(const char *v, const char *const *names)
{
	for (int i = 0; names[i]; i++)
		if (!strcmp(v, names[i]))
			return i;
	return -1;
}

static const char *const action_words[] = { "forward", "demux", "delay", "drop", NULL };

/*
 * Validates @v as @type and stores it under @key in @args (appending for
 * HOP). @what names the argument in errors ("SID", "--weight").
 */
static int put_value(json_object *args, const char *key, enum svc_ctl_type type, const char *v,
		     const char *what, char *err, size_t errlen)
{
	char buf[SVC_ADDR_STRLEN];
	json_object *val = NULL;
	unsigned long n;
	char *end;

	if (strlen(v) >= 256)
		return usage_err(err, errlen, "%s: value too long", what);
	switch (type) {
	case SVC_CTL_SID: {
		struct svc_sid sid;

		if (svc_sid_parse(v, &sid))
			return usage_err(err, errlen,
					 "invalid %s '%s': a serviceID is written like an IPv6 "
					 "address",
					 what, v);
		val = json_object_new_string(svc_sid_format(&sid, buf, sizeof(buf)));
		break;
	}
	case SVC_CTL_PREFIX: {
		struct svc_lpm_key p;

		if (svc_prefix_parse(v, &p))
			return usage_err(err, errlen,
					 "invalid %s '%s': expected SID/LEN, LEN 0..128, no bits "
					 "set past LEN",
					 what, v);
		val = json_object_new_string(svc_prefix_format(&p, buf, sizeof(buf)));
		break;
	}
	case SVC_CTL_BINDING: {
		struct svc_binding_key k;

		memset(&k, 0, sizeof(k));
		if (svc_binding_parse(v, &k))
			return usage_err(err, errlen,
					 "invalid %s '%s': expected VIP:PORT/tcp|udp, IPv6 as "
					 "[VIP]:PORT/PROTO",
					 what, v);
		val = json_object_new_string(svc_binding_format(&k, buf, sizeof(buf)));
		break;
	}
	case SVC_CTL_ADDR: {
		struct svc_addr a;

		if (svc_addr_parse(v, &a))
			return usage_err(err, errlen,
					 "invalid %s '%s': not an IPv4 or IPv6 address", what, v);
		val = json_object_new_string(svc_addr_format(&a, buf, sizeof(buf)));
		break;
	}
	case SVC_CTL_HOP: {
		struct svc_addr a;
		unsigned int w;
		json_object *arr;

		if (svc_hop_parse(v, &a, &w))
			return usage_err(err, errlen,
					 "invalid %s '%s': expected ADDR[:WEIGHT] or "
					 "[V6ADDR]:WEIGHT, WEIGHT 1..%d",
					 what, v, SVC_MAX_WEIGHT);
		val = json_object_new_object();
		json_object_object_add(
			val, "addr", json_object_new_string(svc_addr_format(&a, buf, sizeof(buf))));
		json_object_object_add(val, "weight", json_object_new_int((int)w));
		if (!json_object_object_get_ex(args, key, &arr)) {
			arr = json_object_new_array();
			json_object_object_add(args, key, arr);
		}
		json_object_array_add(arr, val);
		return 0;
	}
	case SVC_CTL_WEIGHT:
	case SVC_CTL_COUNT: {
		unsigned long max = type == SVC_CTL_WEIGHT ? SVC_MAX_WEIGHT : 100000;

		errno = 0;
		n = strtoul(v, &end, 10);
		if (!*v || *v < '0' || *v > '9' || *end || errno || n < 1 || n > max)
			return usage_err(err, errlen, "invalid %s '%s': expected an integer 1..%lu",
					 what, v, max);
		val = json_object_new_int64((int64_t)n);
		break;
	}
	case SVC_CTL_NAME:
		if (!svc_name_valid(v))
			return usage_err(err, errlen,
					 "invalid %s '%s': 1-%d characters of A-Z a-z 0-9 . _ -, "
					 "starting with a letter or digit",
					 what, v, SVC_NAME_MAX);
		val = json_object_new_string(v);
		break;
	case SVC_CTL_IFACE:
		if (!svc_iface_valid(v))
			return usage_err(err, errlen, "invalid %s '%s': not an interface name",
					 what, v);
		val = json_object_new_string(v);
		break;
	case SVC_CTL_STATE:
		if (one_of(v, state_words) < 0)
			return usage_err(err, errlen, "invalid %s '%s': expected up or down", what,
					 v);
		val = json_object_new_string(v);
		break;
	case SVC_CTL_PROG:
		if (one_of(v, svc_prog_names) < 0)
			return usage_err(err, errlen,
					 "invalid %s '%s': expected router or endpoint", what, v);
		val = json_object_new_string(v);
		break;
	case SVC_CTL_MODE:
		if (one_of(v, svc_mode_names) < 0)
			return usage_err(err, errlen, "invalid %s '%s': expected native or skb",
					 what, v);
		val = json_object_new_string(v);
		break;
	case SVC_CTL_ACTION:
		if (one_of(v, action_words) < 0)
			return usage_err(err, errlen,
					 "invalid %s '%s': expected forward, demux, delay or drop",
					 what, v);
		val = json_object_new_string(v);
		break;
	case SVC_CTL_FLAG:
		val = json_object_new_boolean(1);
		break;
	case SVC_CTL_PORT:
		errno = 0;
		n = strtoul(v, &end, 10);
		if (!*v || *v < '0' || *v > '9' || *end || errno || n < 1 || n > 65535)
			return usage_err(err, errlen, "invalid %s '%s': expected a port 1..65535",
					 what, v);
		val = json_object_new_int64((int64_t)n);
		break;
	case SVC_CTL_FILE:
		if (!*v || strlen(v) >= PATH_MAX)
			return usage_err(err, errlen, "invalid %s '%s': empty or too long", what,
					 v);
		val = json_object_new_string(v);
		break;
	case SVC_CTL_CGROUP:
		if (!svc_cgroup_path_valid(v))
			return usage_err(err, errlen,
					 "invalid %s '%s': an absolute path of at most %d bytes "
					 "without '.', '..' or empty components",
					 what, v, SVC_REG_CGROUP_MAX);
		val = json_object_new_string(v);
		break;
	case SVC_CTL_SELECT: {
		struct svc_reg_tiflow_sel sel;

		if (svc_tiflow_sel_parse(v, &sel))
			return usage_err(err, errlen,
					 "invalid %s '%s': expected ADDR, :PORT, ADDR:PORT or "
					 "[V6]:PORT, PORT 1..65535",
					 what, v);
		val = json_object_new_string(svc_tiflow_sel_format(&sel, buf, sizeof(buf)));
		break;
	}
	case SVC_CTL_INSTID:
	case SVC_CTL_OPTKIND: {
		unsigned long lo = type == SVC_CTL_INSTID ? 0 : 2;
		unsigned long hi = type == SVC_CTL_INSTID ? 65535 : 255;

		errno = 0;
		n = strtoul(v, &end, 10);
		if (!*v || *v < '0' || *v > '9' || *end || errno || n < lo || n > hi)
			return usage_err(err, errlen,
					 "invalid %s '%s': expected an integer %lu..%lu", what, v,
					 lo, hi);
		val = json_object_new_int64((int64_t)n);
		break;
	}
	case SVC_CTL_KEYWORD:
		if (strcmp(v, what))
			return usage_err(err, errlen, "expected '%s', got '%s'", what, v);
		return 0;
	case SVC_CTL_ENDPOINT: {
		struct svc_addr a;
		__u16 port;

		if (svc_endpoint_parse(v, &a, &port))
			return usage_err(
				err, errlen,
				"invalid %s '%s': expected ADDR:PORT, IPv6 as [ADDR]:PORT, "
				"PORT 1..65535",
				what, v);
		val = json_object_new_string(svc_endpoint_format(&a, port, buf, sizeof(buf)));
		break;
	}
	case SVC_CTL_PATH:
		if (v[0] != '/' || strlen(v) > SVC_HC_PATH_MAX || strpbrk(v, " \t\r\n"))
			return usage_err(err, errlen,
					 "invalid %s '%s': a path starts with '/', has no spaces, "
					 "at most %d bytes",
					 what, v, SVC_HC_PATH_MAX);
		val = json_object_new_string(v);
		break;
	}
	json_object_object_add(args, key, val);
	return 0;
}

/* Global options, accepted before the command and among its options. */
static int global_opt(char **argv, int argc, int *i, struct svc_ctl_inv *inv, char *err,
		      size_t errlen)
{
	const char *a = argv[*i];

	if (!strcmp(a, "-j") || !strcmp(a, "--json")) {
		inv->json = true;
		return 1;
	}
	if (!strcmp(a, "-s") || !strcmp(a, "--socket")) {
		if (*i + 1 >= argc)
			return -usage_err(err, errlen, "option '%s' needs a PATH", a);
		inv->socket = argv[++*i];
		if (!*inv->socket)
			return -usage_err(err, errlen, "option '%s': empty PATH", a);
		return 1;
	}
	if (!strncmp(a, "--socket=", 9)) {
		inv->socket = a + 9;
		if (!*inv->socket)
			return -usage_err(err, errlen, "option '--socket': empty PATH");
		return 1;
	}
	return 0;
}

static const struct svc_ctl_opt *find_opt(const struct svc_ctl_cmd *c, const char *a,
					  const char **inline_val)
{
	*inline_val = NULL;
	if (!c->opts)
		return NULL;
	for (const struct svc_ctl_opt *o = c->opts; o->long_name; o++) {
		size_t n = strlen(o->long_name);

		if (a[1] != '-') {
			if (o->short_name && a[1] == o->short_name && !a[2])
				return o;
			continue;
		}
		if (strncmp(a + 2, o->long_name, n))
			continue;
		if (!a[2 + n])
			return o;
		if (a[2 + n] == '=') {
			*inline_val = a + 3 + n;
			return o;
		}
	}
	return NULL;
}

/* Parses the words after the command name into inv->request. */
static int parse_cmd_args(const struct svc_ctl_cmd *c, int argc, char **argv, int i,
			  struct svc_ctl_inv *inv, char *err, size_t errlen)
{
	char words[64], sub[256];
	const struct svc_ctl_arg *pos = c->args;
	json_object *args = json_object_new_object();
	bool opts_done = false;
	int r;

	svc_ctl_cmd_words(c, words, sizeof(words));
	if (!args)
		return usage_err(err, errlen, "out of memory");
	for (; i < argc; i++) {
		const char *a = argv[i];

		if (!opts_done && !strcmp(a, "--")) {
			opts_done = true;
			continue;
		}
		if (!opts_done && (!strcmp(a, "-h") || !strcmp(a, "--help"))) {
			inv->help = true;
			json_object_put(args);
			return SVC_CTL_EXIT_OK;
		}
		if (!opts_done && a[0] == '-' && a[1]) {
			const struct svc_ctl_opt *o;
			const char *val;

			r = global_opt(argv, argc, &i, inv, err, errlen);
			if (r < 0)
				goto fail_usage;
			if (r > 0)
				continue;
			o = find_opt(c, a, &val);
			if (!o) {
				r = usage_err(err, errlen, "%s: unknown option '%s'", words, a);
				goto fail;
			}
			if (json_object_object_get_ex(args, o->key, NULL)) {
				r = usage_err(err, errlen, "%s: option '--%s' given twice", words,
					      o->long_name);
				goto fail;
			}
			if (o->type == SVC_CTL_FLAG) {
				if (val) {
					r = usage_err(err, errlen,
						      "%s: option '--%s' takes no value", words,
						      o->long_name);
					goto fail;
				}
			} else if (!val) {
				if (i + 1 >= argc) {
					r = usage_err(err, errlen, "%s: option '--%s' needs %s",
						      words, o->long_name, o->metavar);
					goto fail;
				}
				val = argv[++i];
			}
			snprintf(sub, sizeof(sub), "--%s", o->long_name);
			if (put_value(args, o->key, o->type, val ? val : "", sub, err, errlen)) {
				r = SVC_CTL_EXIT_USAGE;
				goto fail_prefix;
			}
			continue;
		}
		if (!pos || !pos->metavar) {
			r = usage_err(err, errlen, "%s: unexpected argument '%s'", words, a);
			goto fail;
		}
		if (put_value(args, pos->key, pos->type, a, pos->metavar, err, errlen)) {
			r = SVC_CTL_EXIT_USAGE;
			goto fail_prefix;
		}
		if (!(pos->flags & SVC_CTL_REPEAT))
			pos++;
	}
	for (; pos && pos->metavar; pos++) {
		if (!(pos->flags & (SVC_CTL_OPTIONAL | SVC_CTL_REPEAT))) {
			r = usage_err(err, errlen, "%s: missing %s (usage: servicectl %s %s)",
				      words, pos->metavar, words, c->usage);
			goto fail;
		}
	}
	if (c->check && c->check(args, sub, sizeof(sub))) {
		r = usage_err(err, errlen, "%s: %s", words, sub);
		goto fail;
	}
	inv->request = svc_api_request_new(c->op, args);
	if (!inv->request)
		return usage_err(err, errlen, "out of memory");
	return SVC_CTL_EXIT_OK;
fail_prefix:
	/* Prefix the value error with the command words. */
	snprintf(sub, sizeof(sub), "%s", err);
	usage_err(err, errlen, "%s: %s", words, sub);
	goto fail;
fail_usage:
	r = SVC_CTL_EXIT_USAGE;
fail:
	json_object_put(args);
	return r;
}

int svc_ctl_parse(int argc, char **argv, struct svc_ctl_inv *inv, char *err, size_t errlen)
{
	const struct svc_ctl_cmd *c;
	const char *g;
	int i, r;

	memset(inv, 0, sizeof(*inv));
	err[0] = '\0';
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help") || !strcmp(a, "help")) {
			inv->help = true;
			return SVC_CTL_EXIT_OK;
		}
		if (!strcmp(a, "--version")) {
			inv->version = true;
			return SVC_CTL_EXIT_OK;
		}
		r = global_opt(argv, argc, &i, inv, err, errlen);
		if (r < 0)
			return SVC_CTL_EXIT_USAGE;
		if (r > 0)
			continue;
		if (a[0] == '-')
			return usage_err(err, errlen, "unknown option '%s'", a);
		break;
	}
	if (i >= argc)
		return usage_err(err, errlen, "missing COMMAND (servicectl --help lists them)");
	g = argv[i++];
	if (!group_exists(g))
		return usage_err(err, errlen, "unknown command '%s' (servicectl --help lists them)",
				 g);
	/* A subcommand word, if the group has subcommands and the next word is one. */
	c = NULL;
	if (i + 1 < argc && argv[i][0] != '-' && argv[i + 1][0] != '-') {
		char two[128];

		/* "tiflow select add": a subcommand of two words. */
		snprintf(two, sizeof(two), "%.60s %.60s", argv[i], argv[i + 1]);
		c = find_cmd(g, two);
		if (c)
			i++;
	}
	if (!c && i < argc && argv[i][0] != '-')
		c = find_cmd(g, argv[i]);
	if (c) {
		i++;
	} else {
		c = find_cmd(g, NULL);
		if (!c) {
			if (i < argc && (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))) {
				inv->help = true;
				inv->group = g;
				return SVC_CTL_EXIT_OK;
			}
			if (i >= argc)
				return usage_err(err, errlen,
						 "%s: missing subcommand (servicectl %s --help)", g,
						 g);
			if (two_word_prefix(g, argv[i]))
				return usage_err(err, errlen,
						 "%s %s: missing or unknown subcommand '%s' "
						 "(servicectl %s --help)",
						 g, argv[i], i + 1 < argc ? argv[i + 1] : "", g);
			return usage_err(err, errlen,
					 "%s: unknown subcommand '%s' (servicectl %s --help)", g,
					 argv[i], g);
		}
	}
	inv->cmd = c;
	return parse_cmd_args(c, argc, argv, i, inv, err, errlen);
}

void svc_ctl_inv_free(struct svc_ctl_inv *inv)
{
	json_object_put(inv->request);
	inv->request = NULL;
}

