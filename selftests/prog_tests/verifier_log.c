// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * What the user sees when the kernel refuses a program: libbpf hands the
 * whole verifier log to libsvc's logger in one message; the logger must print
 * its last lines (where the kernel says what is wrong) and the name of a file
 * holding all of it, never a cut-off start.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include "tp.h"
#include "log.h"
#include "verifier_reject.skel.h"

/* The kernel's reason for this program (6.1 and 6.18 word it alike). */
#define REJECT_REASON "invalid access to packet"

static char *slurp(FILE *f)
{
	char *buf;
	long n;

	fflush(f);
	n = ftell(f);
	if (n < 0)
		return NULL;
	buf = calloc(1, n + 1);
	if (!buf)
		return NULL;
	rewind(f);
	if (fread(buf, 1, n, f) != (size_t)n) {
		free(buf);
		return NULL;
	}
	return buf;
}

TEST(verifier_log)
{
	struct verifier_reject_bpf *skel = NULL;
	char dir[] = "/tmp/tp_verifier_log.XXXXXX", path[128] = "", *out = NULL, *file = NULL;
	int saved = -1, err, lines = 0;
	FILE *cap = NULL, *f = NULL;
	const char *p;

	if (!ASSERT_OK_PTR(mkdtemp(dir), "mkdtemp"))
		return;
	svc_log_set_verifier_dir(dir);
	skel = verifier_reject_bpf__open();
	if (!ASSERT_OK_PTR(skel, "open"))
		goto out;
	bpf_program__set_autoload(skel->progs.verifier_reject_xdp, true);
	/* stderr into a file while the load fails. */
	cap = tmpfile();
	if (!ASSERT_OK_PTR(cap, "tmpfile"))
		goto out;
	fflush(stderr);
	saved = dup(STDERR_FILENO);
	if (!ASSERT_GE(saved, 0, "dup stderr") || !ASSERT_GE(dup2(fileno(cap), STDERR_FILENO), 0, "dup2"))
		goto out;
	err = verifier_reject_bpf__load(skel);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	ASSERT_LT(err, 0, "the verifier refuses the program");
	out = slurp(cap);
	if (!ASSERT_OK_PTR(out, "read captured stderr"))
		goto out;
	snprintf(path, sizeof(path), "%s/verifier-verifier_reject_xdp.log", dir);
	ASSERT_TRUE(strstr(out, REJECT_REASON) != NULL, "the reason is printed");
	ASSERT_TRUE(strstr(out, path) != NULL, "the file with the whole log is named");
	for (p = out; *p; p++)
		lines += *p == '\n';
	/* libbpf's own lines (load failed, ...) and the tail, not the log's hundreds of lines. */
	ASSERT_LE(lines, SVC_LOG_VERIFIER_TAIL + 8, "lines printed");
	f = fopen(path, "r");
	if (!ASSERT_OK_PTR(f, "the whole log's file"))
		goto out;
	fseek(f, 0, SEEK_END);
	file = slurp(f);
	if (!ASSERT_OK_PTR(file, "read the log file"))
		goto out;
	ASSERT_TRUE(strstr(file, REJECT_REASON) != NULL, "the file has the reason");
	/* The start of the path is there too: the log begins at instruction 0. */
	ASSERT_TRUE(strstr(file, "\n0: ") != NULL || !strncmp(file, "0: ", 3), "the file has the start");
	lines = 0;
	for (p = file; *p; p++)
		lines += *p == '\n';
	ASSERT_GT(lines, SVC_LOG_VERIFIER_TAIL * 4, "the file has the whole log");
	if (tp_failed() || tp_verbose)
		tp_diag("stderr was:\n%s", out);
out:
	if (saved >= 0)
		close(saved);
	if (cap)
		fclose(cap);
	if (f)
		fclose(f);
	free(out);
	free(file);
	verifier_reject_bpf__destroy(skel);
	svc_log_set_verifier_dir(NULL);
	if (path[0])
		unlink(path);
	rmdir(dir);
}
