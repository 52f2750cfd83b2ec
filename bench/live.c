// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* svc-bench live: placeholder. */
#include "bench.h"
int cmd_live(int argc, char **argv) { (void)argc; (void)argv; return 2; }
