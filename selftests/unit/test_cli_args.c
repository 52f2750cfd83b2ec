// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit tests of servicectl's argument parsing (agent/lib/ctl.c): good and bad command lines. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "api.h"
#include "ctl.h"

/* Splits @line on single spaces into argv (argv[0] = "servicectl"); returns argc. */
static int split(const char *line, char *buf, size_t len, char **argv, int max)
{
	int argc = 0;
	char *p;

	argv[argc++] = "servicectl";
	snprintf(buf, len, "%s", line);
	for (p = strtok(buf, " "); p && argc < max - 1; p = strtok(NULL, " "))
		argv[argc++] = p;
	argv[argc] = NULL;
	return argc;
}

/* Accepted command lines and the exact request each one sends. */
static const struct {
	const char *line;
	const char *request; /* expected request JSON */
	int json;	     /* expected -j */
} good[] = {
	{ "service add 2001:db8:5::1",
	  "{\"v\":1,\"op\":\"service.add\",\"args\":{\"sid\":\"2001:db8:5::1\"}}" },
	{ "service add 2001:DB8:5:0:0:0:0:1 --name web",
	  "{\"v\":1,\"op\":\"service.add\",\"args\":{\"sid\":\"2001:db8:5::1\",\"name\":\"web\"}"
	  "}" },
	{ "service add --name=web 2001:db8:5::1", "{\"v\":1,\"op\":\"service.add\",\"args\":{"
						  "\"name\":\"web\",\"sid\":\"2001:db8:5::1\"}}" },
	{ "-j service list", "{\"v\":1,\"op\":\"service.list\",\"args\":{}}", 1 },
	{ "service list --json", "{\"v\":1,\"op\":\"service.list\",\"args\":{}}", 1 },
	{ "--json -s /tmp/x.sock service show 2001:db8:5::1",
	  "{\"v\":1,\"op\":\"service.show\",\"args\":{\"sid\":\"2001:db8:5::1\"}}", 1 },
	{ "service del 2001:db8:5::1",
	  "{\"v\":1,\"op\":\"service.del\",\"args\":{\"sid\":\"2001:db8:5::1\"}}" },
	{ "bind add 198.19.0.10:80/tcp 2001:db8:5::1",
	  "{\"v\":1,\"op\":\"bind.add\",\"args\":{\"binding\":\"198.19.0.10:80/tcp\","
	  "\"sid\":\"2001:db8:5::1\"}}" },
	{ "bind add [2001:db8:19::10]:53/udp 2001:db8:5::1",
	  "{\"v\":1,\"op\":\"bind.add\",\"args\":{\"binding\":\"[2001:db8:19::10]:53/udp\","
	  "\"sid\":\"2001:db8:5::1\"}}" },
	{ "bind del 198.19.0.10:0/udp",
	  "{\"v\":1,\"op\":\"bind.del\",\"args\":{\"binding\":\"198.19.0.10:0/udp\"}}" },
	{ "bind list", "{\"v\":1,\"op\":\"bind.list\",\"args\":{}}" },
	{ "instance add 2001:db8:5::1 10.0.1.2 --weight 3 --name a",
	  "{\"v\":1,\"op\":\"instance.add\",\"args\":{\"sid\":\"2001:db8:5::1\",\"addr\":"
	  "\"10.0.1.2\",\"weight\":3,\"name\":\"a\"}}" },
	{ "instance add 2001:db8:5::1 2001:db8:18:1::2 -w 1000",
	  "{\"v\":1,\"op\":\"instance.add\",\"args\":{\"sid\":\"2001:db8:5::1\",\"addr\":"
	  "\"2001:db8:18:1::2\",\"weight\":1000}}" },
	{ "instance set 2001:db8:5::1 10.0.1.2 --state down",
	  "{\"v\":1,\"op\":\"instance.set\",\"args\":{\"sid\":\"2001:db8:5::1\",\"addr\":"
	  "\"10.0.1.2\",\"state\":\"down\"}}" },
	{ "instance set 2001:db8:5::1 10.0.1.2 --weight 2 --state up",
	  "{\"v\":1,\"op\":\"instance.set\",\"args\":{\"sid\":\"2001:db8:5::1\",\"addr\":"
	  "\"10.0.1.2\",\"weight\":2,\"state\":\"up\"}}" },
	{ "instance del 2001:db8:5::1 10.0.1.2",
	  "{\"v\":1,\"op\":\"instance.del\",\"args\":{\"sid\":\"2001:db8:5::1\",\"addr\":"
	  "\"10.0.1.2\"}}" },
	{ "instance list", "{\"v\":1,\"op\":\"instance.list\",\"args\":{}}" },
	{ "instance list 2001:db8:5::1",
	  "{\"v\":1,\"op\":\"instance.list\",\"args\":{\"sid\":\"2001:db8:5::1\"}}" },
	{ "instance show 2001:db8:5::1 10.0.1.2",
	  "{\"v\":1,\"op\":\"instance.show\",\"args\":{\"sid\":\"2001:db8:5::1\",\"addr\":"
	  "\"10.0.1.2\"}}" },
	{ "rule add 2001:db8:6::/48 forward 10.0.2.1:3 [2001:db8::9]:1 10.0.2.2",
	  "{\"v\":1,\"op\":\"rule.add\",\"args\":{\"prefix\":\"2001:db8:6::/48\",\"action\":"
	  "\"forward\",\"hops\":[{\"addr\":\"10.0.2.1\",\"weight\":3},{\"addr\":\"2001:db8::9\","
	  "\"weight\":1},{\"addr\":\"10.0.2.2\",\"weight\":1}]}}" },
	{ "rule add 2001:db8:6::/48 drop",
	  "{\"v\":1,\"op\":\"rule.add\",\"args\":{\"prefix\":\"2001:db8:6::/48\",\"action\":"
	  "\"drop\"}}" },
	{ "rule add 2001:db8:6::1 demux",
	  "{\"v\":1,\"op\":\"rule.add\",\"args\":{\"prefix\":\"2001:db8:6::1/128\",\"action\":"
	  "\"demux\"}}" },
	{ "rule add ::/0 delay",
	  "{\"v\":1,\"op\":\"rule.add\",\"args\":{\"prefix\":\"::/0\",\"action\":\"delay\"}}" },
	{ "rule del 2001:db8:6::/48",
	  "{\"v\":1,\"op\":\"rule.del\",\"args\":{\"prefix\":\"2001:db8:6::/48\"}}" },
	{ "rule list", "{\"v\":1,\"op\":\"rule.list\",\"args\":{}}" },
	{ "prefix add 2001:db8:5::/48",
	  "{\"v\":1,\"op\":\"prefix.add\",\"args\":{\"prefix\":\"2001:db8:5::/48\"}}" },
	{ "prefix list", "{\"v\":1,\"op\":\"prefix.list\",\"args\":{}}" },
	{ "src set 10.0.0.1", "{\"v\":1,\"op\":\"src.set\",\"args\":{\"addr\":\"10.0.0.1\"}}" },
	{ "src show", "{\"v\":1,\"op\":\"src.show\",\"args\":{}}" },
	{ "decap add 2001:db8::1",
	  "{\"v\":1,\"op\":\"decap.add\",\"args\":{\"addr\":\"2001:db8::1\"}}" },
	{ "decap del 10.0.0.1", "{\"v\":1,\"op\":\"decap.del\",\"args\":{\"addr\":\"10.0.0.1\"}}" },
	{ "decap list", "{\"v\":1,\"op\":\"decap.list\",\"args\":{}}" },
	{ "attach veth0 router",
	  "{\"v\":1,\"op\":\"attach\",\"args\":{\"iface\":\"veth0\",\"prog\":\"router\"}}" },
	{ "attach veth0 endpoint --mode skb",
	  "{\"v\":1,\"op\":\"attach\",\"args\":{\"iface\":\"veth0\",\"prog\":\"endpoint\","
	  "\"mode\":\"skb\"}}" },
	{ "detach veth0", "{\"v\":1,\"op\":\"detach\",\"args\":{\"iface\":\"veth0\"}}" },
	{ "flows", "{\"v\":1,\"op\":\"flows.list\",\"args\":{}}" },
	{ "flows --count", "{\"v\":1,\"op\":\"flows.list\",\"args\":{\"count_only\":true}}" },
	{ "flows --limit 5", "{\"v\":1,\"op\":\"flows.list\",\"args\":{\"limit\":5}}" },
	{ "flows clear", "{\"v\":1,\"op\":\"flows.clear\",\"args\":{}}" },
	{ "route get 198.19.0.10:80/tcp from 198.18.0.1:40000",
	  "{\"v\":1,\"op\":\"route.get\",\"args\":{\"dst\":\"198.19.0.10:80/tcp\","
	  "\"src\":\"198.18.0.1:40000\"}}" },
	{ "route get [2001:DB8:19::10]:53/UDP from [2001:db8:18:0::1]:4000 --syn --iif eth0",
	  "{\"v\":1,\"op\":\"route.get\",\"args\":{\"dst\":\"[2001:db8:19::10]:53/udp\","
	  "\"src\":\"[2001:db8:18::1]:4000\",\"syn\":true,\"iif\":\"eth0\"}}" },
	{ "stats", "{\"v\":1,\"op\":\"stats\",\"args\":{}}" },
	{ "status -j", "{\"v\":1,\"op\":\"status\",\"args\":{}}", 1 },
	{ "service show -- 2001:db8:5::1",
	  "{\"v\":1,\"op\":\"service.show\",\"args\":{\"sid\":\"2001:db8:5::1\"}}" },
	{ "tiflow enable /sys/fs/cgroup/web",
	  "{\"v\":1,\"op\":\"tiflow.enable\",\"args\":{\"cgroup\":\"/sys/fs/cgroup/web\"}}" },
	{ "tiflow enable /sys/fs/cgroup/web --instance-id 0 --kind 253 --respond-only",
	  "{\"v\":1,\"op\":\"tiflow.enable\",\"args\":{\"cgroup\":\"/sys/fs/cgroup/web\","
	  "\"instance_id\":0,\"kind\":253,\"roles\":\"responder\"}}" },
	{ "tiflow set -I 65535 --initiate-only",
	  "{\"v\":1,\"op\":\"tiflow.set\",\"args\":{\"instance_id\":65535,"
	  "\"roles\":\"initiator\"}}" },
	{ "tiflow set --both-roles",
	  "{\"v\":1,\"op\":\"tiflow.set\",\"args\":{\"roles\":\"both\"}}" },
	{ "tiflow disable /sys/fs/cgroup/web",
	  "{\"v\":1,\"op\":\"tiflow.disable\",\"args\":{\"cgroup\":\"/sys/fs/cgroup/web\"}}" },
	{ "tiflow select add 10.0.1.2:8080",
	  "{\"v\":1,\"op\":\"tiflow.select.add\",\"args\":{\"select\":\"10.0.1.2:8080\"}}" },
	{ "tiflow select add :80",
	  "{\"v\":1,\"op\":\"tiflow.select.add\",\"args\":{\"select\":\":80\"}}" },
	{ "tiflow select del [2001:DB8::1]:443",
	  "{\"v\":1,\"op\":\"tiflow.select.del\",\"args\":{\"select\":\"[2001:db8::1]:443\"}}" },
	{ "tiflow select del 2001:db8::1",
	  "{\"v\":1,\"op\":\"tiflow.select.del\",\"args\":{\"select\":\"2001:db8::1\"}}" },
	{ "tiflow show", "{\"v\":1,\"op\":\"tiflow.show\",\"args\":{}}" },
	{ "direct client eth0",
	  "{\"v\":1,\"op\":\"direct.client\",\"args\":{\"iface\":\"eth0\"}}" },
	{ "direct instance eth0 --instance-id 3",
	  "{\"v\":1,\"op\":\"direct.instance\",\"args\":{\"iface\":\"eth0\",\"instance_id\":3}}" },
	{ "direct off eth0", "{\"v\":1,\"op\":\"direct.off\",\"args\":{\"iface\":\"eth0\"}}" },
	{ "direct vip add 198.19.0.10",
	  "{\"v\":1,\"op\":\"direct.vip.add\",\"args\":{\"addr\":\"198.19.0.10\"}}" },
	{ "direct vip del 2001:DB8:19::10",
	  "{\"v\":1,\"op\":\"direct.vip.del\",\"args\":{\"addr\":\"2001:db8:19::10\"}}" },
	{ "direct map 65535 10.0.1.2",
	  "{\"v\":1,\"op\":\"direct.map\",\"args\":{\"id\":65535,\"addr\":\"10.0.1.2\"}}" },
	{ "direct unmap 3", "{\"v\":1,\"op\":\"direct.unmap\",\"args\":{\"id\":3}}" },
	{ "direct show", "{\"v\":1,\"op\":\"direct.show\",\"args\":{}}" },
};

START_TEST(test_good)
{
	char buf[512], err[256];
	char *argv[32];
	int argc = split(good[_i].line, buf, sizeof(buf), argv, 32);
	struct svc_ctl_inv inv;
	json_object *want = json_tokener_parse(good[_i].request);
	int r;

	ck_assert_ptr_nonnull(want);
	r = svc_ctl_parse(argc, argv, &inv, err, sizeof(err));
	ck_assert_msg(r == SVC_CTL_EXIT_OK, "'%s' rejected: %s", good[_i].line, err);
	ck_assert(!inv.help);
	ck_assert_ptr_nonnull(inv.request);
	ck_assert_msg(json_object_equal(inv.request, want), "'%s' sends %s, expected %s",
		      good[_i].line, json_object_to_json_string(inv.request), good[_i].request);
	ck_assert_int_eq(inv.json, good[_i].json);
	svc_ctl_inv_free(&inv);
	json_object_put(want);
}
END_TEST

/* Rejected command lines: exit 2 and a message naming the bad word. */
static const struct {
	const char *line;
	const char *msg;
} bad[] = {
	{ "", "missing COMMAND" },
	{ "-j", "missing COMMAND" },
	{ "servce list", "unknown command 'servce'" },
	{ "serv list", "unknown command 'serv'" },
	{ "--bogus status", "unknown option '--bogus'" },
	{ "-s", "needs a PATH" },
	{ "service", "service: missing subcommand" },
	{ "service ad 2001:db8::1", "service: unknown subcommand 'ad'" },
	{ "service add", "service add: missing SID" },
	{ "service add 2001:db8::zz", "service add: invalid SID '2001:db8::zz'" },
	{ "service add 10.0.0.1", "service add: invalid SID '10.0.0.1'" },
	{ "service add 2001:db8::1 extra", "service add: unexpected argument 'extra'" },
	{ "service add 2001:db8::1 --name", "service add: option '--name' needs NAME" },
	{ "service add 2001:db8::1 --name web!", "service add: invalid --name 'web!'" },
	{ "service add 2001:db8::1 --name -web", "service add: invalid --name '-web'" },
	{ "service add 2001:db8::1 --nam web", "service add: unknown option '--nam'" },
	{ "service add 2001:db8::1 --name a --name b", "option '--name' given twice" },
	{ "service list x", "service list: unexpected argument 'x'" },
	{ "service show", "service show: missing SID" },
	{ "bind add 198.19.0.10:80 2001:db8::1", "bind add: invalid VIP:PORT/PROTO" },
	{ "bind add 198.19.0.10:80/sctp 2001:db8::1",
	  "invalid VIP:PORT/PROTO '198.19.0.10:80/sctp'" },
	{ "bind add 198.19.0.10:65536/tcp 2001:db8::1", "invalid VIP:PORT/PROTO" },
	{ "bind add 2001:db8::10:80/tcp 2001:db8::1", "invalid VIP:PORT/PROTO" },
	{ "bind add 198.19.0.10:80/tcp", "bind add: missing SID" },
	{ "bind del", "bind del: missing VIP:PORT/PROTO" },
	{ "instance add 2001:db8::1", "instance add: missing ADDR" },
	{ "instance add 2001:db8::1 10.0.0.300", "instance add: invalid ADDR '10.0.0.300'" },
	{ "instance add 2001:db8::1 10.0.0.3 --weight 0", "invalid --weight '0'" },
	{ "instance add 2001:db8::1 10.0.0.3 --weight 1001", "invalid --weight '1001'" },
	{ "instance add 2001:db8::1 10.0.0.3 --weight -1", "invalid --weight '-1'" },
	{ "instance add 2001:db8::1 10.0.0.3 --weight 2x", "invalid --weight '2x'" },
	{ "instance add 2001:db8::1 10.0.0.3 --weight +2", "invalid --weight '+2'" },
	{ "instance add 2001:db8::1 10.0.0.3 --state down", "unknown option '--state'" },
	{ "instance set 2001:db8::1 10.0.0.3", "nothing to set" },
	{ "instance set 2001:db8::1 10.0.0.3 --state sideways", "invalid --state 'sideways'" },
	{ "instance del 2001:db8::1", "instance del: missing ADDR" },
	{ "instance list 10.0.0.1", "instance list: invalid SID '10.0.0.1'" },
	{ "rule add 2001:db8:6::/48", "rule add: missing ACTION" },
	{ "rule add 2001:db8:6::/48 forward", "forward needs at least one next hop" },
	{ "rule add 2001:db8:6::/48 drop 10.0.0.1", "drop takes no next hops" },
	{ "rule add 2001:db8:6::/48 shove", "invalid ACTION 'shove'" },
	{ "rule add 2001:db8:6::1/48 drop", "invalid PREFIX '2001:db8:6::1/48'" },
	{ "rule add 2001:db8:6::/129 drop", "invalid PREFIX" },
	{ "rule add 2001:db8:6::/48 forward 10.0.0.1:0", "invalid HOP '10.0.0.1:0'" },
	{ "rule add 2001:db8:6::/48 forward [2001:db8::1]:x", "invalid HOP '[2001:db8::1]:x'" },
	{ "rule add 2001:db8:6::/48 forward 10.0.0.1:1001", "invalid HOP" },
	{ "rule del", "rule del: missing PREFIX" },
	{ "src set", "src set: missing ADDR" },
	{ "src set 2001:db8::/64", "invalid ADDR" },
	{ "decap add nothost", "decap add: invalid ADDR 'nothost'" },
	{ "attach veth0", "attach: missing PROG" },
	{ "attach veth0 bridge", "invalid PROG 'bridge'" },
	{ "attach veth0 router --mode generic", "invalid --mode 'generic'" },
	{ "attach a/b router", "invalid IFACE 'a/b'" },
	{ "attach 0123456789abcdef router", "invalid IFACE" },
	{ "detach", "detach: missing IFACE" },
	{ "flows --count=yes", "option '--count' takes no value" },
	{ "flows --limit 0", "invalid --limit '0'" },
	{ "flows clear now", "flows clear: unexpected argument 'now'" },
	{ "flows dump", "flows: unexpected argument 'dump'" },
	{ "stats --reset", "stats: unknown option '--reset'" },
	{ "route get 198.19.0.10:80/tcp", "route get: missing from" },
	{ "route get 198.19.0.10:80/tcp to 198.18.0.1:1", "expected 'from', got 'to'" },
	{ "route get 198.19.0.10:80/tcp from 198.18.0.1", "invalid SRC:SPORT '198.18.0.1'" },
	{ "route get 198.19.0.10:80/tcp from 198.18.0.1:0", "invalid SRC:SPORT" },
	{ "route get 198.19.0.10:0/tcp from 198.18.0.1:1", "port 0 names no packet" },
	{ "route get 198.19.0.10:80/tcp from [2001:db8::1]:1", "different families" },
	{ "route get 198.19.0.10:80/icmp from 198.18.0.1:1", "invalid VIP:PORT/PROTO" },
	{ "status now", "status: unexpected argument 'now'" },
	{ "tiflow", "tiflow: missing subcommand" },
	{ "tiflow enable", "tiflow enable: missing CGROUP" },
	{ "tiflow enable web", "invalid CGROUP 'web'" },
	{ "tiflow enable /sys/fs/cgroup/../etc", "invalid CGROUP '/sys/fs/cgroup/../etc'" },
	{ "tiflow enable /sys/fs/cgroup/web/", "invalid CGROUP" },
	{ "tiflow enable /sys//web", "invalid CGROUP" },
	{ "tiflow enable /x --kind 1", "invalid --kind '1'" },
	{ "tiflow enable /x --kind 256", "invalid --kind '256'" },
	{ "tiflow enable /x --instance-id 65536", "invalid --instance-id '65536'" },
	{ "tiflow enable /x --instance-id -1", "invalid --instance-id '-1'" },
	{ "tiflow enable /x --initiate-only --respond-only", "give one of --initiate-only" },
	{ "tiflow set", "tiflow set: nothing to set" },
	{ "tiflow set /x", "tiflow set: unexpected argument '/x'" },
	{ "tiflow select", "tiflow select: missing or unknown subcommand" },
	{ "tiflow select list", "tiflow select: missing or unknown subcommand 'list'" },
	{ "tiflow select add", "tiflow select add: missing ADDR:PORT" },
	{ "tiflow select add 10.0.0.1:0", "invalid ADDR:PORT '10.0.0.1:0'" },
	{ "tiflow select add :65536", "invalid ADDR:PORT ':65536'" },
	{ "tiflow select add :", "invalid ADDR:PORT ':'" },
	{ "tiflow select add 0.0.0.0", "invalid ADDR:PORT '0.0.0.0'" },
	{ "tiflow select add [10.0.0.1]:80", "invalid ADDR:PORT '[10.0.0.1]:80'" },
	{ "tiflow select add 2001:db8::1:80x", "invalid ADDR:PORT" },
	{ "tiflow show all", "tiflow show: unexpected argument 'all'" },
	{ "direct", "direct: missing subcommand" },
	{ "direct client", "direct client: missing IFACE" },
	{ "direct client a/b", "invalid IFACE 'a/b'" },
	{ "direct instance eth0", "direct instance: missing --instance-id" },
	{ "direct instance eth0 --instance-id 0", "invalid --instance-id '0'" },
	{ "direct instance eth0 --instance-id 65536", "invalid --instance-id '65536'" },
	{ "direct map 3", "direct map: missing ADDR" },
	{ "direct map 0 10.0.0.1", "invalid ID '0'" },
	{ "direct map x 10.0.0.1", "invalid ID 'x'" },
	{ "direct map 3 10.0.0.300", "invalid ADDR '10.0.0.300'" },
	{ "direct unmap 0", "invalid ID '0'" },
	{ "direct vip add", "direct vip add: missing ADDR" },
	{ "direct vip", "direct vip: missing or unknown subcommand" },
	{ "direct off", "direct off: missing IFACE" },
};

START_TEST(test_bad)
{
	char buf[512], err[256] = "";
	char *argv[32];
	int argc = split(bad[_i].line, buf, sizeof(buf), argv, 32);
	struct svc_ctl_inv inv;
	int r;

	if (!bad[_i].msg[0])
		return;
	r = svc_ctl_parse(argc, argv, &inv, err, sizeof(err));
	ck_assert_msg(r == SVC_CTL_EXIT_USAGE, "'%s' accepted (%d)", bad[_i].line, r);
	ck_assert_ptr_null(inv.request);
	ck_assert_msg(strstr(err, bad[_i].msg), "'%s': error '%s' lacks '%s'", bad[_i].line, err,
		      bad[_i].msg);
	svc_ctl_inv_free(&inv);
}
END_TEST

/* --help anywhere in a command asks for help and sends nothing. */
START_TEST(test_help)
{
	static const char *const lines[] = { "--help",
					     "-h",
					     "help",
					     "service --help",
					     "service add --help",
					     "service add 2001:db8::1 -h",
					     "rule add 2001:db8::zz --help",
					     "-j status --help",
					     "flows --help" };
	char buf[512], err[256], *argv[32], *out = NULL;
	size_t outlen = 0;

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		struct svc_ctl_inv inv;
		int argc = split(lines[i], buf, sizeof(buf), argv, 32);
		FILE *f;

		/* A bad value before --help is still a usage error. */
		if (i == 6) {
			ck_assert_int_eq(svc_ctl_parse(argc, argv, &inv, err, sizeof(err)),
					 SVC_CTL_EXIT_USAGE);
			continue;
		}
		ck_assert_msg(svc_ctl_parse(argc, argv, &inv, err, sizeof(err)) == 0, "%s: %s",
			      lines[i], err);
		ck_assert_msg(inv.help, "%s: no help", lines[i]);
		ck_assert_ptr_null(inv.request);
		f = open_memstream(&out, &outlen);
		svc_ctl_help(f, &inv);
		fclose(f);
		ck_assert_ptr_nonnull(strstr(out, "Usage: servicectl"));
		if (i == 3)
			ck_assert_ptr_nonnull(strstr(out, "service show SID"));
		if (i == 4)
			ck_assert_ptr_nonnull(strstr(out, "--name NAME"));
		free(out);
		out = NULL;
	}
}
END_TEST

/* Every command has help text, an example and an op; every op is unique. */
START_TEST(test_table)
{
	for (const struct svc_ctl_cmd *c = svc_ctl_commands; c->group; c++) {
		ck_assert_ptr_nonnull(c->op);
		ck_assert_ptr_nonnull(c->summary);
		ck_assert_ptr_nonnull(c->usage);
		ck_assert_ptr_nonnull(c->example);
		for (const struct svc_ctl_cmd *d = c + 1; d->group; d++)
			ck_assert_str_ne(c->op, d->op);
	}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cli_args");
	TCase *tc = tcase_create("parse");
	SRunner *sr;
	int failed;

	tcase_add_loop_test(tc, test_good, 0, sizeof(good) / sizeof(good[0]));
	tcase_add_loop_test(tc, test_bad, 0, sizeof(bad) / sizeof(bad[0]));
	tcase_add_test(tc, test_help);
	tcase_add_test(tc, test_table);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
