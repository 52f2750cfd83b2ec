#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# make install / make uninstall into a DESTDIR, with the default PREFIX
# (/usr/local): every file where it belongs, the unit naming the installed
# agent, and uninstall removing all of it (the config file too, unchanged).
# Uses the build of make check (SAN=1, .output-san): nothing is rebuilt.
set -uo pipefail
cd "$(dirname "$0")/../.."
name=pkg/test_install
dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT
trap 'exit 143' INT TERM # the EXIT trap then cleans up
fail=0
t() { if eval "$2"; then echo "ok - $name: $1"; else echo "not ok - $name: $1"; fail=1; fi; }

if ! out=$(make --no-print-directory SAN=1 install DESTDIR="$dest" 2>&1); then
	echo "not ok - $name: make install failed"
	sed 's/^/# /' <<<"$out"
	exit 1
fi
want="etc/svcplane/svcplaned.conf
usr/local/bin/servicectl
usr/local/lib/systemd/system/svcplaned.service
usr/local/sbin/svcplane-k8s
usr/local/sbin/svcplaned
usr/local/share/bash-completion/completions/servicectl
usr/local/share/doc/svcplane/LICENSE
usr/local/share/doc/svcplane/README.md
usr/local/share/doc/svcplane/design.md
usr/local/share/doc/svcplane/kubernetes.md
usr/local/share/doc/svcplane/svcplaned.md
usr/local/share/man/man8/servicectl.8
usr/local/share/man/man8/svcplane-k8s.8
usr/local/share/man/man8/svcplaned.8"
got=$(cd "$dest" && find . -type f | sed 's|^\./||' | sort)
t "make install: programs, unit, config, man pages, completion, docs" \
	'missing=$(comm -23 <(sort <<<"$want") <(echo "$got")); [ -z "$missing" ] || { echo "# missing: $missing"; false; }'
unit=$dest/usr/local/lib/systemd/system/svcplaned.service
t "the unit runs /usr/local/sbin/svcplaned, no @VAR@ left" \
	'grep -q "^ExecStart=/usr/local/sbin/svcplaned --config /etc/svcplane/svcplaned.conf$" "$unit" && ! grep -qE "@[A-Z]+@" "$unit"'
t "installed svcplaned --version" '"$dest/usr/local/sbin/svcplaned" --version | grep "^svcplaned $(scripts/version.sh)$" >/dev/null'
t "installed svcplane-k8s --version" '"$dest/usr/local/sbin/svcplane-k8s" --version | grep "^svcplane-k8s $(scripts/version.sh)$" >/dev/null'
t "systemd-analyze verify on the unit" \
	'sed "s|/usr/local/sbin/svcplaned|$dest/usr/local/sbin/svcplaned|" "$unit" >"$dest/svcplaned.service" &&
	 out=$(systemd-analyze verify --man=no "$dest/svcplaned.service" 2>&1) && [ -z "$out" ] || { echo "# $out"; false; }'
rm -f "$dest/svcplaned.service"
echo "# a changed config file stays"
echo "src = 198.18.0.2" >>"$dest/etc/svcplane/svcplaned.conf"
make --no-print-directory SAN=1 uninstall DESTDIR="$dest" >/dev/null 2>&1
t "make uninstall: only the changed config file is left" \
	'left=$(cd "$dest" && find . -type f | sed "s|^\./||"); [ "$left" = etc/svcplane/svcplaned.conf ] || { echo "# left: $left"; false; }'
cp deploy/svcplaned.conf.example "$dest/etc/svcplane/svcplaned.conf"
make --no-print-directory SAN=1 uninstall DESTDIR="$dest" >/dev/null 2>&1
t "make uninstall: an unchanged config file goes too" '[ -z "$(cd "$dest" && find . -type f)" ]'
exit $fail
