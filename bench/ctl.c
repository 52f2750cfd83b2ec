// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* svc-bench ctl: placeholder. */
#include "bench.h"
int cmd_ctl(int argc, char **argv) { (void)argc; (void)argv; return 2; }
