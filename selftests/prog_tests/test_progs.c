// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* test_progs: runs every registered BPF selftest (BPF_PROG_TEST_RUN fixtures), TAP output. */
#include "tp.h"
#include "log.h"

int main(int argc, char **argv)
{
	/* libbpf/libsvc messages go to stderr; warnings only, unless -v asks for more. */
	svc_log_init("test_progs", SVC_LOG_WARN);
	return tp_main(argc, argv);
}
