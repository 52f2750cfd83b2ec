// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* svc-progload: load every program of BPF objects and print what the verifier made of each. */
/*
 * svc-progload [-v] OBJ.bpf.o...
 *
 * For each object: open it with libbpf, load all its programs (maps created,
 * nothing pinned or attached) and print one line per program:
 *   OBJ PROG: processed N insns (limit 1000000)
 * or, for a program the kernel refuses, the last lines of the verifier's log
 * (loaded again with log_level 1 for the failing path) and the error. The
 * object's other programs are then tried without it. Exits 1 if any program
 * failed to load, 2 on a usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <bpf/libbpf.h>

/* The verifier's budget (BPF_COMPLEXITY_LIMIT_INSNS), printed next to each count. */
#define VERIFIER_INSN_LIMIT 1000000
/* BPF_LOG_LEVEL1 (the failing path) and BPF_LOG_STATS (the counts). */
#define LOG_PATH 1
#define LOG_STATS 4
/* Stats and an error message fit; the failing path gets a buffer grown on ENOSPC. */
#define STATS_LOG_SIZE (1U << 20)
#define PATH_LOG_SIZE (16U << 20)
#define PATH_LOG_MAX (1U << 30)
/* Lines of the log printed for a refused program. */
#define TAIL_LINES 30
#define MAX_PROGS 64

static bool verbose;
/* libbpf's warnings of the current load, kept to name the object-level reason. */
static char lib_msgs[8192];
static size_t lib_len;
/* Set from libbpf's "prog 'NAME': ..." warning: the program the load stopped at. */
static char failed_prog[128];

static int print_fn(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char msg[1024], *p;
	size_t n;

	if (level == LIBBPF_DEBUG && !verbose)
		return 0;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (verbose)
		fprintf(stderr, "libbpf: %s", msg);
	if (level != LIBBPF_WARN)
		return 0;
	/* libbpf's messages read "libbpf: prog 'NAME': ...". */
	p = strstr(msg, "prog '");
	if (!failed_prog[0] && p && sscanf(p, "prog '%127[^']':", failed_prog) != 1)
		failed_prog[0] = '\0';
	n = strlen(msg);
	if (lib_len + n < sizeof(lib_msgs)) {
		memcpy(lib_msgs + lib_len, msg, n + 1);
		lib_len += n;
	}
	return 0;
}

static void reset_lib_msgs(void)
{
	lib_msgs[0] = '\0';
	lib_len = 0;
	failed_prog[0] = '\0';
}

/* The verifier's "processed N insns" count in @log, or -1. */
static long processed_insns(const char *log)
{
	const char *p = log, *last = NULL;
	long n;

	while ((p = strstr(p, "processed ")))
		last = p++;
	if (!last || sscanf(last, "processed %ld insns", &n) != 1)
		return -1;
	return n;
}

/* Print the last @max lines of @log, indented, after a note of how many came before. */
static void print_tail(const char *log, int max)
{
	size_t len = strlen(log);
	const char *p;
	int lines = 0, before = 0;

	while (len && log[len - 1] == '\n')
		len--;
	p = log + len;
	while (p > log && lines < max) {
		p--;
		if (p == log || p[-1] == '\n')
			lines++;
	}
	for (const char *q = log; q < p; q++)
		before += *q == '\n';
	if (before)
		printf("    [... %d earlier lines of the log]\n", before);
	while (p < log + len) {
		const char *e = memchr(p, '\n', log + len - p);
		int n = e ? (int)(e - p) : (int)(log + len - p);

		printf("    %.*s\n", n, p);
		p += n + 1;
	}
}

/* The program types libbpf cannot infer from SEC() would need setting here; report them. */
static const char *unloadable_reason(struct bpf_program *prog)
{
	switch (bpf_program__type(prog)) {
	case BPF_PROG_TYPE_UNSPEC:
		return "no program type: SEC() name unknown to libbpf";
	case BPF_PROG_TYPE_EXT:
		return "freplace needs a target program (bpf_program__set_attach_target)";
	default:
		return NULL;
	}
}

static bool in_list(char **list, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++)
		if (!strcmp(list[i], name))
			return true;
	return false;
}

/*
 * Open @path for a load: pinning off (the maps are this process's own, never
 * a running agent's), programs in @skip not loaded, per-program log buffers.
 */
static struct bpf_object *open_obj(const char *path, char **skip, int nskip, char **bufs,
				   size_t size, __u32 level)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	struct bpf_map *map;
	int i = 0;

	obj = bpf_object__open_file(path, NULL);
	if (!obj)
		return NULL;
	bpf_object__for_each_map(map, obj)
		bpf_map__set_pin_path(map, NULL);
	bpf_object__for_each_program(prog, obj) {
		if (unloadable_reason(prog) || in_list(skip, nskip, bpf_program__name(prog)))
			bpf_program__set_autoload(prog, false);
		if (i < MAX_PROGS && bufs) {
			bufs[i][0] = '\0';
			bpf_program__set_log_buf(prog, bufs[i], size);
			bpf_program__set_log_level(prog, level);
		}
		i++;
	}
	return obj;
}

/*
 * Load @prog's object again with the failing path logged (log_level 1) and
 * print the log's tail: the message that says what is wrong comes last.
 */
static void explain_failure(const char *path, const char *name, char **skip, int nskip)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	size_t size = PATH_LOG_SIZE;
	char *buf = NULL;
	int err;

	for (;;) {
		free(buf);
		buf = calloc(1, size);
		if (!buf) {
			printf("    (no memory for a %zu-byte verifier log)\n", size);
			return;
		}
		reset_lib_msgs();
		obj = open_obj(path, skip, nskip, NULL, 0, 0);
		if (!obj)
			break;
		/* Only the failing program logs its path; the others loaded before. */
		bpf_object__for_each_program(prog, obj) {
			if (!strcmp(bpf_program__name(prog), name)) {
				bpf_program__set_log_buf(prog, buf, size);
				bpf_program__set_log_level(prog, LOG_PATH | LOG_STATS);
			}
		}
		err = bpf_object__load(obj);
		bpf_object__close(obj);
		/* A log longer than the buffer fails the load with ENOSPC on older kernels. */
		if (err == -ENOSPC && size < PATH_LOG_MAX) {
			size *= 2;
			continue;
		}
		break;
	}
	if (buf && buf[0])
		print_tail(buf, TAIL_LINES);
	else if (lib_msgs[0])
		print_tail(lib_msgs, TAIL_LINES);
	free(buf);
}

/* Load every program of @path; print one line per program. Returns the number that failed. */
static int load_object(const char *path)
{
	char *bufs[MAX_PROGS] = { 0 }, *skip[MAX_PROGS];
	struct bpf_object *obj = NULL;
	struct bpf_program *prog;
	int nskip = 0, failed = 0, err, i;
	const char *why;

	for (i = 0; i < MAX_PROGS; i++) {
		bufs[i] = malloc(STATS_LOG_SIZE);
		if (!bufs[i]) {
			printf("%s: no memory for the verifier logs\n", path);
			failed = 1;
			goto out;
		}
	}
	for (;;) {
		reset_lib_msgs();
		obj = open_obj(path, skip, nskip, bufs, STATS_LOG_SIZE, LOG_STATS);
		if (!obj) {
			err = -errno;
			printf("%s: bpf_object__open_file: %s\n", path, strerror(-err));
			failed++;
			goto out;
		}
		i = 0;
		bpf_object__for_each_program(prog, obj)
			i++;
		if (i > MAX_PROGS) {
			printf("%s: %d programs, more than the %d this tool handles\n", path, i,
			       MAX_PROGS);
			failed++;
			goto out;
		}
		err = bpf_object__load(obj);
		if (!err)
			break;
		if (!failed_prog[0] || nskip == MAX_PROGS) {
			/* Not a program's fault (a map, BTF, ...): libbpf said why. */
			printf("%s: bpf_object__load: %s\n", path, strerror(-err));
			print_tail(lib_msgs, TAIL_LINES);
			failed++;
			goto out;
		}
		skip[nskip] = strdup(failed_prog);
		if (!skip[nskip])
			goto out;
		printf("%s %s: FAILED: %s\n", path, skip[nskip], strerror(-err));
		explain_failure(path, skip[nskip], skip, nskip);
		failed++;
		nskip++;
		bpf_object__close(obj);
		obj = NULL;
	}
	i = 0;
	bpf_object__for_each_program(prog, obj) {
		long n = processed_insns(bufs[i]);

		why = unloadable_reason(prog);
		if (!why && bpf_program__fd(prog) < 0 && !bpf_program__autoload(prog) &&
		    !in_list(skip, nskip, bpf_program__name(prog)))
			why = "SEC(\"?...\"): loaded only by the test that asks for it";
		if (why)
			printf("%s %s: SKIPPED: %s\n", path, bpf_program__name(prog), why);
		else if (bpf_program__fd(prog) >= 0 && n >= 0)
			printf("%s %s: processed %ld insns (limit %d)\n", path,
			       bpf_program__name(prog), n, VERIFIER_INSN_LIMIT);
		else if (bpf_program__fd(prog) >= 0)
			printf("%s %s: loaded (no count in the log)\n", path,
			       bpf_program__name(prog));
		i++;
	}
out:
	bpf_object__close(obj);
	for (i = 0; i < nskip; i++)
		free(skip[i]);
	for (i = 0; i < MAX_PROGS; i++)
		free(bufs[i]);
	return failed;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: svc-progload [-v] OBJ.bpf.o...\n"
		   "Loads every program of each BPF object and prints the verifier's processed-\n"
		   "instruction count of each, or its log's last lines when it refuses one.\n");
}

int main(int argc, char **argv)
{
	int c, i, failed = 0;

	while ((c = getopt(argc, argv, "vh")) != -1) {
		switch (c) {
		case 'v':
			verbose = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	libbpf_set_print(print_fn);
	/* Each line as it comes: the caller may be a log collector. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (i = optind; i < argc; i++)
		failed += load_object(argv[i]);
	return failed ? 1 : 0;
}
