#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Prints a help2man include file with servicectl's "COMMANDS" section: every
# command's own --help text, verbatim, in the order of `servicectl --help`. The
# man page is thus made of the help texts alone and cannot drift from them.
# Usage: scripts/man-commands.sh PATH/TO/servicectl
set -euo pipefail
sctl=$1

# roff: a help text as a literal block (backslashes and leading dots escaped)
verbatim() {
	echo ".PP"
	echo ".nf"
	sed -e 's/\\/\\e/g' -e 's/^\./\\\&./' -e "s/^'/\\\\\\&'/"
	echo ".fi"
}

echo "[COMMANDS]"
echo "Every command, as its --help prints it:"
# a command's words: the leading lowercase words of its line in the list
mapfile -t cmds < <("$sctl" --help | sed -n '/^Commands:/,/^$/p' | awk 'NR > 1 && NF {
	# "  WORDS USAGE<2+ spaces>summary": the summary is not part of it
	line = substr($0, 3); p = index(line, "  "); if (p) line = substr(line, 1, p - 1)
	n = split(line, t, " "); w = ""
	for (i = 1; i <= n && t[i] ~ /^[a-z][a-z-]*$/; i++) w = w (w ? " " : "") t[i]
	if (!seen[w]++) print w }')
[ ${#cmds[@]} -gt 0 ] || { echo "man-commands: no command in '$sctl --help'" >&2; exit 1; }
for c in "${cmds[@]}"; do
	echo ".SS \"$c\""
	# shellcheck disable=SC2086 # the words are separate arguments
	"$sctl" $c --help | verbatim
done
