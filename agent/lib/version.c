// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The only object that sees the generated version: a new version relinks, not recompiles all. */
#include "version.h"
#include "svc_version_gen.h"

const char *svc_version(void)
{
	return SVC_VERSION_STRING;
}
