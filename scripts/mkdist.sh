#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# make dist: OUTDIR/svcplane-VERSION.tar.gz from the committed tree (git archive
# HEAD), with .version holding VERSION: built from it (no .git), every program's
# --version prints that fixed string (scripts/version.sh reads .version).
# Usage: scripts/mkdist.sh OUTDIR VERSION
set -euo pipefail
cd "$(dirname "$0")/.."
out=$1 ver=${2%.dirty}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
trap 'exit 143' INT TERM # the EXIT trap then cleans up
git archive --prefix="svcplane-$ver/" HEAD | tar -xf - -C "$tmp"
echo "$ver" >"$tmp/svcplane-$ver/.version"
tar -C "$tmp" -czf "$out/svcplane-$ver.tar.gz" "svcplane-$ver"
echo "$out/svcplane-$ver.tar.gz"
