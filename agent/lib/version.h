/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* svcplane's version, fixed at build time (scripts/version.sh). */
#ifndef SVC_VERSION_H
#define SVC_VERSION_H

/* svc_version - e.g. "0.1.0+git128.g23568a6": --version, status, the package. */
const char *svc_version(void);

#endif /* SVC_VERSION_H */
