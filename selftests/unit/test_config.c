// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* Unit tests of svcplaned's settings (agent/lib/config.c): keys, config file, command line. */
#include <check.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include "addr.h"
#include "config.h"

static char cfg_path[64];

static void write_cfg(const char *text)
{
	int fd;

	snprintf(cfg_path, sizeof(cfg_path), "/tmp/svc-config-XXXXXX");
	fd = mkstemp(cfg_path);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* Runs svc_cfg_parse_args on a NULL-terminated list (argv[0] added). */
static int parse(struct svc_agent_cfg *c, char *err, size_t errlen, const char *const *args)
{
	char *argv[32] = { "svcplaned" };
	int argc = 1;

	for (; *args && argc < 31; args++)
		argv[argc++] = (char *)*args;
	svc_cfg_init(c);
	return svc_cfg_parse_args(c, argc, argv, err, errlen);
}

START_TEST(test_defaults)
{
	struct svc_agent_cfg c;
	struct sockaddr_in *sin = (struct sockaddr_in *)&c.metrics_sa;
	char err[256];
	const char *none[] = { NULL };

	ck_assert_int_eq(parse(&c, err, sizeof(err), none), 0);
	ck_assert_str_eq(c.socket, "/run/svcplane/api.sock");
	ck_assert_str_eq(c.pin_dir, "/sys/fs/bpf/svcplane");
	ck_assert_str_eq(c.state_dir, "/var/lib/svcplane");
	ck_assert(c.metrics_on);
	ck_assert_int_eq(sin->sin_family, AF_INET);
	ck_assert_int_eq(ntohs(sin->sin_port), 9465);
	ck_assert_uint_eq(ntohl(sin->sin_addr.s_addr), 0x7f000001);
	ck_assert_int_eq(c.mode, SVC_XDP_NATIVE);
	ck_assert(!c.has_src4 && !c.has_src6 && !c.verbose && !c.uninstall && !c.help);
	ck_assert_uint_eq(c.flows, 0);
	ck_assert(!c.delay_rst);
	ck_assert_uint_eq(c.delay_queue, 64);
	ck_assert_int_eq(c.delay_reinject, SVC_DELAY_REINJECT_AUTO);
	ck_assert_uint_eq(c.flood_insert_rate, 10000);
}
END_TEST

/* One key = value at a time: accepted values and the error for rejected ones. */
static const struct {
	const char *key, *val;
	int ok;
	const char *msg; /* substring of the error */
} set_table[] = {
	{ "socket", "/tmp/x.sock", 1, NULL },
	{ "registry", "local", 1, NULL },
	{ "registry", "etcd://10.0.0.1:2379,[fd00::1]:2379/svc", 1, NULL },
	{ "registry", "etcd://10.0.0.1", 0, "expected HOST:PORT" },
	{ "registry", "consul://x:1", 0, "expected etcd://" },
	{ "registry", "etcd://h:99999", 0, "port out of range" },
	{ "socket", "relative.sock", 0, "not an absolute path" },
	{ "socket", "", 0, "empty path" },
	{ "socket",
	  "/tmp/"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaa.sock",
	  0, "longer than" },
	{ "pin-dir", "/sys/fs/bpf/t1", 1, NULL },
	{ "state-dir", "/var/lib/x", 1, NULL },
	{ "metrics", "off", 1, NULL },
	{ "metrics", "127.0.0.1:9000", 1, NULL },
	{ "metrics", "[::1]:9000", 1, NULL },
	{ "metrics", "0.0.0.0:1", 1, NULL },
	{ "metrics", "127.0.0.1", 0, "ADDR:PORT" },
	{ "metrics", "localhost:9000", 0, "numeric" },
	{ "metrics", "127.0.0.1:0", 0, "out of range" },
	{ "metrics", "127.0.0.1:65536", 0, "out of range" },
	{ "metrics", "127.0.0.1:http", 0, "not a number" },
	{ "metrics", ":9000", 0, "ADDR:PORT" },
	{ "metrics", "[::1:9000", 0, "numeric" },
	{ "mode", "native", 1, NULL },
	{ "mode", "skb", 1, NULL },
	{ "mode", "generic", 0, "not native or skb" },
	{ "mode", "SKB", 0, "not native or skb" },
	{ "src", "10.0.0.1", 1, NULL },
	{ "src", "2001:db8::1", 1, NULL },
	{ "src", "10.0.0.256", 0, "not an IPv4 or IPv6" },
	{ "src", "0.0.0.0/8", 0, "not an IPv4 or IPv6" },
	{ "flows", "65536", 1, NULL },
	{ "flows", "63", 0, "out of range" },
	{ "flows", "16777217", 0, "out of range" },
	{ "flows", "-5", 0, "not a number" },
	{ "flows", "12k", 0, "not a number" },
	{ "flows", "", 0, "not a number" },
	{ "seed", "0", 1, NULL },
	{ "seed", "4294967295", 1, NULL },
	{ "seed", "4294967296", 0, "out of range" },
	{ "flood-insert-rate", "0", 1, NULL },
	{ "flood-insert-rate", "4294967295", 1, NULL },
	{ "flood-insert-rate", "4294967296", 0, "out of range" },
	{ "flood-insert-rate", "1e4", 0, "not a number" },
	{ "opt-key", "000102030405060708090a0b0c0d0e0f", 1, NULL },
	{ "opt-key", "000102030405060708090A0B0C0D0E0F", 1, NULL },
	{ "opt-key", "000102030405060708090a0b0c0d0e", 0, "not 32 hexadecimal digits" },
	{ "opt-key", "000102030405060708090a0b0c0d0e0f0", 0, "not 32 hexadecimal digits" },
	{ "opt-key", "0x0102030405060708090a0b0c0d0e0f", 0, "not 32 hexadecimal digits" },
	{ "opt-key", " 00102030405060708090a0b0c0d0e0f", 0, "not 32 hexadecimal digits" },
	{ "verbose", "yes", 1, NULL },
	{ "verbose", "maybe", 0, "not true or false" },
	{ "discard-corrupt-state", "true", 1, NULL },
	{ "delay-unresolvable", "rst", 1, NULL },
	{ "delay-unresolvable", "drop", 1, NULL },
	{ "delay-unresolvable", "icmp", 0, "not rst or drop" },
	{ "delay-queue", "1", 1, NULL },
	{ "delay-queue", "4096", 1, NULL },
	{ "delay-queue", "0", 0, "out of range" },
	{ "delay-queue", "4097", 0, "out of range" },
	{ "delay-reinject", "auto", 1, NULL },
	{ "delay-reinject", "live", 1, NULL },
	{ "delay-reinject", "copy", 1, NULL },
	{ "delay-reinject", "Live", 0, "delay-reinject: 'Live' is not auto, live or copy" },
	{ "delay-reinject", "", 0, "delay-reinject: '' is not auto, live or copy" },
	{ "delay-reinject", "copy,live", 0, "not auto, live or copy" },
	{ "sockets", "/x", 0, "unknown setting 'sockets'" },
	{ "sock", "/x", 0, "unknown setting 'sock'" },
	{ "", "x", 0, "unknown setting" },
};

START_TEST(test_set)
{
	struct svc_agent_cfg c;
	char err[256] = "";
	int r;

	svc_cfg_init(&c);
	r = svc_cfg_set(&c, set_table[_i].key, set_table[_i].val, err, sizeof(err));
	if (set_table[_i].ok) {
		ck_assert_msg(r == 0, "%s=%s rejected: %s", set_table[_i].key, set_table[_i].val,
			      err);
	} else {
		ck_assert_msg(r < 0, "%s=%s accepted", set_table[_i].key, set_table[_i].val);
		ck_assert_msg(strstr(err, set_table[_i].msg), "%s=%s: '%s' lacks '%s'",
			      set_table[_i].key, set_table[_i].val, err, set_table[_i].msg);
	}
}
END_TEST

START_TEST(test_values_applied)
{
	struct svc_agent_cfg c;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&c.metrics_sa;
	char err[256], b[SVC_ADDR_STRLEN];

	svc_cfg_init(&c);
	ck_assert_int_eq(svc_cfg_set(&c, "metrics", "[::1]:9100", err, sizeof(err)), 0);
	ck_assert_int_eq(sin6->sin6_family, AF_INET6);
	ck_assert_int_eq(ntohs(sin6->sin6_port), 9100);
	ck_assert(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));
	ck_assert_str_eq(c.metrics, "[::1]:9100");
	ck_assert_int_eq(svc_cfg_set(&c, "metrics", "off", err, sizeof(err)), 0);
	ck_assert(!c.metrics_on);
	ck_assert_int_eq(svc_cfg_set(&c, "src", "2001:db8::7", err, sizeof(err)), 0);
	ck_assert(c.has_src6 && !c.has_src4);
	ck_assert_str_eq(svc_addr_format(&c.src6, b, sizeof(b)), "2001:db8::7");
	ck_assert_int_eq(svc_cfg_set(&c, "mode", "skb", err, sizeof(err)), 0);
	ck_assert_int_eq(c.mode, SVC_XDP_SKB);
	ck_assert_int_eq(svc_cfg_set(&c, "seed", "42", err, sizeof(err)), 0);
	ck_assert_uint_eq(c.seed, 42);
	ck_assert_int_eq(
		svc_cfg_set(&c, "opt-key", "00112233445566778899aabbccddeeff", err, sizeof(err)),
		0);
	ck_assert(c.has_opt_key);
	ck_assert_uint_eq(c.opt_key[0], 0x00);
	ck_assert_uint_eq(c.opt_key[1], 0x11);
	ck_assert_uint_eq(c.opt_key[15], 0xff);
	ck_assert_int_eq(svc_cfg_set(&c, "delay-unresolvable", "rst", err, sizeof(err)), 0);
	ck_assert(c.delay_rst);
	ck_assert_int_eq(svc_cfg_set(&c, "delay-unresolvable", "drop", err, sizeof(err)), 0);
	ck_assert(!c.delay_rst);
	ck_assert_int_eq(svc_cfg_set(&c, "delay-queue", "8", err, sizeof(err)), 0);
	ck_assert_uint_eq(c.delay_queue, 8);
	ck_assert_int_eq(svc_cfg_set(&c, "flood-insert-rate", "0", err, sizeof(err)), 0);
	ck_assert_uint_eq(c.flood_insert_rate, 0);
	ck_assert_int_eq(svc_cfg_set(&c, "delay-reinject", "copy", err, sizeof(err)), 0);
	ck_assert_int_eq(c.delay_reinject, SVC_DELAY_REINJECT_COPY);
	ck_assert_str_eq(svc_delay_reinject_name(c.delay_reinject), "copy");
	ck_assert_int_eq(svc_cfg_set(&c, "delay-reinject", "live", err, sizeof(err)), 0);
	ck_assert_int_eq(c.delay_reinject, SVC_DELAY_REINJECT_LIVE);
	ck_assert_str_eq(svc_delay_reinject_name(c.delay_reinject), "live");
	ck_assert_int_eq(svc_cfg_set(&c, "delay-reinject", "auto", err, sizeof(err)), 0);
	ck_assert_int_eq(c.delay_reinject, SVC_DELAY_REINJECT_AUTO);
	ck_assert_str_eq(svc_delay_reinject_name(c.delay_reinject), "auto");
	/* a rejected value leaves the setting as it was */
	ck_assert_int_eq(svc_cfg_set(&c, "delay-reinject", "fast", err, sizeof(err)), -EINVAL);
	ck_assert_int_eq(c.delay_reinject, SVC_DELAY_REINJECT_AUTO);
}
END_TEST

START_TEST(test_file)
{
	struct svc_agent_cfg c;
	char err[256], b[SVC_ADDR_STRLEN];
	const char *args[] = { "--config", cfg_path, NULL };

	write_cfg("# svcplaned test config\n"
		  "\n"
		  "socket = /tmp/t.sock\n"
		  "  pin-dir=/sys/fs/bpf/t   \n"
		  "mode = skb\n"
		  "src = 10.1.2.3\n"
		  "src = 2001:db8::1\n"
		  "metrics = off\n"
		  "flows = 4096\n"
		  "\t# indented comment\n"
		  "delay-reinject = copy\n"
		  "verbose = true");
	ck_assert_int_eq(parse(&c, err, sizeof(err), args), 0);
	unlink(cfg_path);
	ck_assert_str_eq(c.config, cfg_path);
	ck_assert_str_eq(c.socket, "/tmp/t.sock");
	ck_assert_str_eq(c.pin_dir, "/sys/fs/bpf/t");
	ck_assert_int_eq(c.mode, SVC_XDP_SKB);
	ck_assert_str_eq(svc_addr_format(&c.src4, b, sizeof(b)), "10.1.2.3");
	ck_assert(c.has_src6);
	ck_assert(!c.metrics_on);
	ck_assert_uint_eq(c.flows, 4096);
	ck_assert_int_eq(c.delay_reinject, SVC_DELAY_REINJECT_COPY);
	ck_assert(c.verbose);
}
END_TEST

/* Config file errors name the file and line. */
static const struct {
	const char *text, *msg;
} file_errors[] = {
	{ "socket = /a\nbogus = 1\n", ":2: unknown setting 'bogus'" },
	{ "socket /a\n", ":1: expected 'key = value'" },
	{ "\n\nmode = fast\n", ":3: mode: 'fast' is not native or skb" },
	{ "src = 10.0.0.1\nsrc = 10.0.0.2\n", ":2: src: a second IPv4 source" },
	{ "config = /etc/other.conf\n", ":1: 'config' cannot be set" },
	{ "flows = 1000000000\n", ":1: flows:" },
	{ "mode = skb\ndelay-reinject = always\n",
	  ":2: delay-reinject: 'always' is not auto, live or copy" },
};

START_TEST(test_file_errors)
{
	struct svc_agent_cfg c;
	char err[256] = "";
	const char *args[] = { "--config", cfg_path, NULL };

	write_cfg(file_errors[_i].text);
	ck_assert_int_eq(parse(&c, err, sizeof(err), args), -EINVAL);
	unlink(cfg_path);
	ck_assert_msg(strstr(err, file_errors[_i].msg), "'%s' lacks '%s'", err,
		      file_errors[_i].msg);
	ck_assert_msg(strstr(err, cfg_path), "'%s' does not name the file", err);
}
END_TEST

START_TEST(test_file_long_line_and_nul)
{
	struct svc_agent_cfg c;
	char err[256] = "", *big = malloc(SVC_CFG_LINE_MAX + 100);
	const char *args[] = { "--config", cfg_path, NULL };

	ck_assert_ptr_nonnull(big);
	memset(big, 'a', SVC_CFG_LINE_MAX + 98);
	big[SVC_CFG_LINE_MAX + 98] = '\n';
	big[SVC_CFG_LINE_MAX + 99] = '\0';
	write_cfg(big);
	free(big);
	ck_assert_int_eq(parse(&c, err, sizeof(err), args), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "line longer"));
	unlink(cfg_path);

	{
		int fd;

		snprintf(cfg_path, sizeof(cfg_path), "/tmp/svc-config-XXXXXX");
		fd = mkstemp(cfg_path);
		ck_assert_int_eq(write(fd, "mode = skb\0x\n", 13), 13);
		close(fd);
	}
	ck_assert_int_eq(parse(&c, err, sizeof(err), args), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "NUL"));
	unlink(cfg_path);

	args[1] = "/nonexistent/svcplaned.conf";
	ck_assert_int_eq(parse(&c, err, sizeof(err), args), -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent/svcplaned.conf"));
}
END_TEST

/* The command line overrides the file, whatever the order of --config. */
START_TEST(test_args_override_file)
{
	struct svc_agent_cfg c;
	char err[256], b[SVC_ADDR_STRLEN];
	const char *args[] = { "--mode", "native",    "--src=10.9.9.9", "--config",
			       cfg_path, "--metrics", "127.0.0.1:9999", "--delay-reinject=live",
			       NULL };

	write_cfg("mode = skb\nsrc = 10.1.1.1\nsrc = 2001:db8::1\nmetrics = off\n"
		  "delay-reinject = copy\n");
	ck_assert_int_eq(parse(&c, err, sizeof(err), args), 0);
	unlink(cfg_path);
	ck_assert_int_eq(c.mode, SVC_XDP_NATIVE);
	ck_assert_str_eq(svc_addr_format(&c.src4, b, sizeof(b)), "10.9.9.9");
	ck_assert_str_eq(svc_addr_format(&c.src6, b, sizeof(b)), "2001:db8::1"); /* from file */
	ck_assert(c.metrics_on);
	ck_assert_int_eq(c.delay_reinject, SVC_DELAY_REINJECT_LIVE);
}
END_TEST

/* Command lines: accepted ones and the error of rejected ones. */
static const struct {
	const char *args[8];
	int ok;
	const char *msg;
} arg_table[] = {
	{ { "--socket", "/tmp/a.sock", "--pin-dir", "/sys/fs/bpf/x", "--state-dir", "/tmp/s" }, 1 },
	{ { "--uninstall", "-v" }, 1 },
	{ { "-h" }, 1 },
	{ { "--help" }, 1 },
	{ { "--discard-corrupt-state" }, 1 },
	{ { "--src", "10.0.0.1", "--src", "2001:db8::1" }, 1 },
	{ { "--src", "10.0.0.1", "--src", "10.0.0.2" }, 0, "second IPv4 source" },
	{ { "--sock", "/tmp/a.sock" }, 0, "unknown option '--sock'" },
	{ { "--socket" }, 0, "needs a value" },
	{ { "--uninstall=yes" }, 0, "takes no value" },
	{ { "-x" }, 0, "unknown option '-x'" },
	{ { "-vv" }, 0, "unexpected argument '-vv'" },
	{ { "run" }, 0, "unexpected argument 'run'" },
	{ { "--mode", "generic" }, 0, "--mode: 'generic' is not native or skb" },
	{ { "--flows", "1" }, 0, "--flows: 1 out of range" },
	{ { "--metrics", "nowhere" }, 0, "--metrics: 'nowhere' is not ADDR:PORT" },
	{ { "--config", "relative.conf" }, 0, "not an absolute path" },
	{ { "--", "x" }, 0, "unexpected argument '--'" },
	{ { "--delay-reinject", "copy" }, 1 },
	{ { "--delay-reinject=live" }, 1 },
	{ { "--delay-reinject" }, 0, "option '--delay-reinject' needs a value" },
	{ { "--delay-reinject", "both" }, 0, "--delay-reinject: 'both' is not auto, live or copy" },
	{ { "--delay-re=copy" }, 0, "unknown option '--delay-re=copy'" },
};

START_TEST(test_args)
{
	struct svc_agent_cfg c;
	char err[256] = "";
	int r = parse(&c, err, sizeof(err), arg_table[_i].args);

	if (arg_table[_i].ok) {
		ck_assert_msg(r == 0, "case %d rejected: %s", _i, err);
	} else {
		ck_assert_msg(r == -EINVAL, "case %d accepted", _i);
		ck_assert_msg(strstr(err, arg_table[_i].msg), "case %d: '%s' lacks '%s'", _i, err,
			      arg_table[_i].msg);
	}
}
END_TEST

START_TEST(test_flags_applied)
{
	struct svc_agent_cfg c;
	char err[256];
	const char *args[] = { "--uninstall", "-v", "-h", "--discard-corrupt-state", NULL };

	ck_assert_int_eq(parse(&c, err, sizeof(err), args), 0);
	ck_assert(c.uninstall && c.verbose && c.help && c.discard_corrupt);
	ck_assert_ptr_nonnull(strstr(svc_cfg_usage(), "--pin-dir DIR"));
	ck_assert_ptr_nonnull(strstr(svc_cfg_usage(), "--delay-reinject auto|live|copy"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("settings");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_defaults);
	tcase_add_loop_test(tc, test_set, 0, sizeof(set_table) / sizeof(set_table[0]));
	tcase_add_test(tc, test_values_applied);
	tcase_add_test(tc, test_file);
	tcase_add_loop_test(tc, test_file_errors, 0, sizeof(file_errors) / sizeof(file_errors[0]));
	tcase_add_test(tc, test_file_long_line_and_nul);
	tcase_add_test(tc, test_args_override_file);
	tcase_add_loop_test(tc, test_args, 0, sizeof(arg_table) / sizeof(arg_table[0]));
	tcase_add_test(tc, test_flags_applied);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_ENV);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
