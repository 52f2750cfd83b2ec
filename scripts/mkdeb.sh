#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# make deb: builds the Debian package of the working tree (committed or not) with
# dpkg-buildpackage and debhelper, into OUTDIR (the .debs of svcplane and
# libsvcacp-dev, the .buildinfo, the .changes).
# The tree is copied to OUTDIR/src/svcplane-VERSION (git's files, no build
# output), its version fixed there in .version and debian/changelog, and built
# there (dpkg-buildpackage writes to the parent of the tree it builds), so the
# repository is not touched.
# Usage: scripts/mkdeb.sh OUTDIR VERSION   (make deps installs debhelper, help2man)
set -euo pipefail
cd "$(dirname "$0")/.."
out=$1 ver=$2
[ -n "$ver" ] || { echo "mkdeb: empty version" >&2; exit 1; }
for c in dpkg-buildpackage dh help2man; do
	command -v "$c" >/dev/null || { echo "mkdeb: $c not installed (make deps)" >&2; exit 1; }
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
src=$out/src/svcplane-$ver
rm -rf "$out/src" "$out"/svcplane_* "$out"/svcplane-dbgsym_* "$out"/libsvcacp-dev_*
mkdir -p "$src"
# the files git knows or would add (not the ignored build output)
if git rev-parse --git-dir >/dev/null 2>&1; then
	git ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
		cpio --quiet -0 -pdm "$src"
else
	tar --exclude='./.output*' -cf - . | tar -xf - -C "$src"
fi
echo "$ver" >"$src/.version"
sed -i "1s/^svcplane ([^)]*)/svcplane ($ver)/" "$src/debian/changelog"
echo "mkdeb: dpkg-buildpackage in $src"
(cd "$src" && DEB_BUILD_OPTIONS="${DEB_BUILD_OPTIONS:-parallel=$(nproc)}" \
	dpkg-buildpackage -us -uc -b) >"$out/build.log" 2>&1 ||
	{ tail -n 40 "$out/build.log" >&2; echo "mkdeb: dpkg-buildpackage failed (log: $out/build.log)" >&2; exit 1; }
# dpkg-buildpackage writes next to the tree it built
mv "$out"/src/svcplane_"$ver"_* "$out"/src/svcplane-dbgsym_"$ver"_* \
	"$out"/src/libsvcacp-dev_"$ver"_* "$out"/ 2>/dev/null
rm -rf "$out/src"
ls "$out"/svcplane_"$ver"_*.deb "$out"/libsvcacp-dev_"$ver"_*.deb
