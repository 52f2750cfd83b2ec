#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# The documentation refers only to what the tree holds:
#   - every relative markdown link [text](path[#anchor]) in README.md and docs/
#     resolves to a file or directory (relative to the file that has it);
#   - every file name ending in .md that README.md or docs/ mentions (e.g.
#     `docs/datapath.md`, `design.md`) exists, relative to the file or to the
#     top of the tree;
#   - no tracked file refers to ../shared or another path outside the tree.
# One TAP line per check; the failures name file:line and the reference.
set -uo pipefail
cd "$(dirname "$0")/../.."
name=pkg/test_doc_links
docs=(README.md docs/*.md)
fail=0

bad=$(for f in "${docs[@]}"; do
	dir=$(dirname "$f")
	grep -noE '\]\([^)]+\)' "$f" | while IFS=: read -r line m; do
		t=${m#](}
		t=${t%)}
		t=${t%%#*}
		case "$t" in '' | http://* | https://* | mailto:* | man:* | file:*) continue ;; esac
		[ -e "$dir/$t" ] || echo "$f:$line: link ($t) does not resolve"
	done
done)
if [ -z "$bad" ]; then echo "ok - $name: every relative link in ${docs[*]} resolves"; else
	echo "not ok - $name: broken relative links"; sed 's/^/# /' <<<"$bad"; fail=1; fi

bad=$(for f in "${docs[@]}"; do
	dir=$(dirname "$f")
	grep -noE '[A-Za-z0-9_./-]*[A-Za-z0-9_-]\.md\b' "$f" | while IFS=: read -r line t; do
		case "$t" in */*://* | http* | www.*) continue ;; esac
		[ -e "$dir/$t" ] || [ -e "$t" ] || echo "$f:$line: mentions $t, which is not in the tree"
	done
done)
if [ -z "$bad" ]; then echo "ok - $name: every .md file README.md and docs/ mention exists"; else
	echo "not ok - $name: mentioned .md files missing"; sed 's/^/# /' <<<"$bad"; fail=1; fi

# the tree's files, not the build output; this test names the patterns itself
pat='\.\./shared|/work/shared'
if git rev-parse --git-dir >/dev/null 2>&1; then
	bad=$(git grep -nE "$pat" -- . ":!$0")
else
	bad=$(grep -rnE "$pat" --exclude-dir='.output*' . | grep -v "^\./$0:")
fi
if [ -z "$bad" ]; then echo "ok - $name: nothing in the tree refers to ../shared (outside the tree)"; else
	echo "not ok - $name: references outside the tree"; sed 's/^/# /' <<<"$bad"; fail=1; fi
exit $fail
