// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Where the apiserver is and how to authenticate: in-cluster service account or a kubeconfig. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "k8s.h"
#include "log.h"

#define SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

int k8s_conn_incluster(struct k8s_conn *c)
{
	const char *host = getenv("KUBERNETES_SERVICE_HOST");
	const char *port = getenv("KUBERNETES_SERVICE_PORT");
	FILE *f;

	if (!host || !*host || !port || !*port)
		return -ENOENT;
	snprintf(c->server, sizeof(c->server), "https://%s%s%s:%s", strchr(host, ':') ? "[" : "",
		 host, strchr(host, ':') ? "]" : "", port);
	snprintf(c->token_file, sizeof(c->token_file), "%s/token", SA_DIR);
	snprintf(c->ca_file, sizeof(c->ca_file), "%s/ca.crt", SA_DIR);
	f = fopen(c->token_file, "r");
	if (!f) {
		pr_err("Error: in-cluster config: %s: %s", c->token_file, strerror(errno));
		return -errno;
	}
	fclose(f);
	return 0;
}

void k8s_conn_fini(struct k8s_conn *c)
{
	free(c->ca_pem);
	c->ca_pem = NULL;
}

/* One list item of a kubeconfig section: the scalar keys we read, wherever nested. */
struct kc_item {
	char name[256], server[512], ca[512], ca_data[16384], insecure[16];
	char cluster[256], user[256], token[4096], token_file[512];
};

static void kc_set(struct kc_item *it, const char *k, const char *v)
{
	static const struct {
		const char *key;
		size_t off, len;
	} keys[] = {
#define K(k, f) { k, offsetof(struct kc_item, f), sizeof(((struct kc_item *)0)->f) }
		K("name", name),
		K("server", server),
		K("certificate-authority", ca),
		K("certificate-authority-data", ca_data),
		K("insecure-skip-tls-verify", insecure),
		K("cluster", cluster),
		K("user", user),
		K("token", token),
		K("tokenFile", token_file),
#undef K
	};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(k, keys[i].key) && *v)
			snprintf((char *)it + keys[i].off, keys[i].len, "%s", v);
}

static int b64_val(int ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	return ch == '+' ? 62 : ch == '/' ? 63 : -1;
}

static char *b64_decode(const char *s, size_t *len)
{
	char *out = malloc(strlen(s) + 1);
	unsigned int acc = 0, bits = 0;
	size_t n = 0;

	if (!out)
		return NULL;
	for (; *s && *s != '='; s++) {
		int v = b64_val((unsigned char)*s);

		if (v < 0)
			continue;
		acc = (acc << 6) | (unsigned int)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (char)((acc >> bits) & 0xff);
		}
	}
	*len = n;
	return out;
}

/* strip - trim blanks and one level of quotes in place. */
static char *strip(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		*--e = '\0';
	if (e - s >= 2 && (*s == '"' || *s == '\'') && e[-1] == *s) {
		e[-1] = '\0';
		s++;
	}
	return s;
}

/* rel_path - a kubeconfig's file reference: relative ones are to the kubeconfig's directory. */
static void rel_path(char *out, size_t len, const char *kubeconfig, const char *ref)
{
	const char *slash = strrchr(kubeconfig, '/');

	if (ref[0] == '/' || !slash)
		snprintf(out, len, "%s", ref);
	else
		snprintf(out, len, "%.*s/%s", (int)(slash - kubeconfig), kubeconfig, ref);
}

int k8s_conn_kubeconfig(struct k8s_conn *c, const char *path)
{
	enum { NONE, CLUSTERS, CONTEXTS, USERS } sec = NONE;
	struct kc_item *items[3] = { NULL, NULL, NULL }, cur;
	size_t n[3] = { 0, 0, 0 };
	char line[20000], current[256] = "";
	const struct kc_item *ctx = NULL, *cl = NULL, *us = NULL;
	bool in_item = false;
	int err = -EINVAL;
	FILE *f = fopen(path, "r");

	if (!f) {
		err = -errno;
		pr_err("Error: kubeconfig %s: %s", path, strerror(errno));
		return err;
	}
	memset(&cur, 0, sizeof(cur));
	for (;;) {
		bool eof = !fgets(line, sizeof(line), f);
		char *l = line, *colon;

		/* an item ends at the next "- " of its section, a new section or EOF */
		if (in_item && (eof || line[0] != ' ' || !strncmp(line, "- ", 2))) {
			int s = sec - 1;
			struct kc_item *ni = realloc(items[s], (n[s] + 1) * sizeof(cur));

			if (!ni) {
				err = -ENOMEM;
				goto out;
			}
			items[s] = ni;
			items[s][n[s]++] = cur;
			memset(&cur, 0, sizeof(cur));
			in_item = false;
		}
		if (eof)
			break;
		if (line[0] != ' ' && line[0] != '-') {
			l = strip(line);
			sec = !strcmp(l, "clusters:")	? CLUSTERS
			      : !strcmp(l, "contexts:") ? CONTEXTS
			      : !strcmp(l, "users:")	? USERS
							: NONE;
			if (!strncmp(l, "current-context:", 16))
				snprintf(current, sizeof(current), "%s", strip(l + 16));
			continue;
		}
		if (sec == NONE)
			continue;
		if (!strncmp(line, "- ", 2)) {
			in_item = true;
			l = line + 2;
		}
		colon = strchr(l, ':');
		if (!in_item || !colon)
			continue;
		*colon = '\0';
		kc_set(&cur, strip(l), strip(colon + 1));
	}
	for (size_t i = 0; i < n[CONTEXTS - 1]; i++)
		if (!strcmp(items[CONTEXTS - 1][i].name, current))
			ctx = &items[CONTEXTS - 1][i];
	if (!ctx) {
		pr_err("Error: kubeconfig %s: current-context '%s' not found", path, current);
		goto out;
	}
	for (size_t i = 0; i < n[CLUSTERS - 1]; i++)
		if (!strcmp(items[CLUSTERS - 1][i].name, ctx->cluster))
			cl = &items[CLUSTERS - 1][i];
	for (size_t i = 0; i < n[USERS - 1]; i++)
		if (!strcmp(items[USERS - 1][i].name, ctx->user))
			us = &items[USERS - 1][i];
	if (!cl || !cl->server[0]) {
		pr_err("Error: kubeconfig %s: cluster '%s' of context '%s' not found or has no "
		       "server",
		       path, ctx->cluster, current);
		goto out;
	}
	snprintf(c->server, sizeof(c->server), "%s", cl->server);
	if (cl->ca[0])
		rel_path(c->ca_file, sizeof(c->ca_file), path, cl->ca);
	if (cl->ca_data[0]) {
		c->ca_pem = b64_decode(cl->ca_data, &c->ca_pem_len);
		if (!c->ca_pem) {
			err = -ENOMEM;
			goto out;
		}
	}
	c->insecure = !strcmp(cl->insecure, "true");
	if (us) {
		snprintf(c->token, sizeof(c->token), "%s", us->token);
		if (us->token_file[0])
			rel_path(c->token_file, sizeof(c->token_file), path, us->token_file);
	}
	err = 0;
out:
	for (int s = 0; s < 3; s++)
		free(items[s]);
	fclose(f);
	return err;
}
