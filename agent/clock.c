// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * svcplaned: the agent's clock. Every module times its work (leases, health
 * checks, reconcile durations, idle clients) on CLOCK_MONOTONIC through
 * agent_now_s, defined here below them all rather than in main.c.
 */
#include <time.h>
#include "agent.h"

double agent_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}
