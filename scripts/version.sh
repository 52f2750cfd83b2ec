#!/bin/sh
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Prints svcplane's version, the one string every program's --version, the
# agent's status and the Debian package carry:
#   - a release tarball (make dist) has a .version file: its content, fixed;
#   - a git checkout: `git describe` of the newest vX.Y.Z tag ("1.2.0", or
#     "1.2.0+3.gabc1234" three commits later); with no tag yet, BASE plus the
#     commit count and hash ("0.1.0+git128.g23568a6"); ".dirty" with
#     uncommitted changes.
# The form is a valid Debian native version (digits first, no '-').
BASE=0.1.0
cd "$(dirname "$0")/.." || exit 1
if [ -f .version ]; then
	cat .version
	exit 0
fi
if ! git rev-parse --git-dir >/dev/null 2>&1; then
	echo "$BASE+unknown"
	exit 0
fi
if d=$(git describe --tags --match 'v[0-9]*' --dirty=.dirty 2>/dev/null); then
	# v1.2.0-3-gabc1234.dirty -> 1.2.0+3.gabc1234.dirty
	echo "$d" | sed -e 's/^v//' -e 's/-\([0-9]*\)-g/+\1.g/'
else
	n=$(git rev-list --count HEAD)
	h=$(git rev-parse --short=7 HEAD)
	dirty=
	[ -n "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] && dirty=.dirty
	echo "$BASE+git$n.g$h$dirty"
fi
