#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# Prints the URI of the first "deb" source for bookworm in this machine's apt
# configuration (one-line or deb822 format): the mirror a debootstrap of a fresh
# Debian 12 uses (scripts/fresh-check.sh, selftests/pkg/test_deb.sh).
set -uo pipefail
for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
	[ -r "$f" ] || continue
	sed -E 's/\[[^]]*\]//' "$f" | awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }'
done
for f in /etc/apt/sources.list.d/*.sources; do
	[ -r "$f" ] || continue
	awk 'function flush() { if (deb && suite && uri != "") { print uri; exit } }
		/^[ \t]*$/ { flush(); deb = suite = 0; uri = ""; next }
		/^Types:/ { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
		/^URIs:/ { uri = $2 }
		/^Suites:/ { for (i = 2; i <= NF; i++) if ($i == "bookworm") suite = 1 }
		END { flush() }' "$f"
done | head -n 1
