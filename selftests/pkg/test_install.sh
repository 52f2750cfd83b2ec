#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# make install / make uninstall into a DESTDIR, with the default PREFIX
# (/usr/local): every file where it belongs, the unit naming the installed
# agent, an application outside the tree built with the installed libsvcacp
# through `pkg-config svcacp` alone, and uninstall removing all of it (the
# config file too, unchanged).
# Uses the build of make check (SAN=1, .output-san): nothing is rebuilt.
set -uo pipefail
cd "$(dirname "$0")/../.."
name=pkg/test_install
dest=$(mktemp -d)
app=$(mktemp -d)
trap 'rm -rf "$dest" "$app"' EXIT
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
usr/local/include/svcplane/acp.h
usr/local/include/svcplane/svc_acp.h
usr/local/lib/libsvcacp.a
usr/local/lib/pkgconfig/svcacp.pc
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
t "make install: programs, unit, config, man pages, completion, docs, libsvcacp" \
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

# The .pc names the final paths (/usr/local/...): the sysroot puts $dest before
# its -I and -L; PKG_CONFIG_LIBDIR alone keeps the system's own .pc files out.
pc() { PKG_CONFIG_LIBDIR=$dest/usr/local/lib/pkgconfig PKG_CONFIG_SYSROOT_DIR=$dest pkg-config "$@"; }
t "svcacp.pc: version $(scripts/version.sh), /usr/local paths" \
	'[ "$(pc --modversion svcacp)" = "$(scripts/version.sh)" ] &&
	 [ "$(PKG_CONFIG_LIBDIR=$dest/usr/local/lib/pkgconfig pkg-config --variable=libdir svcacp)" = /usr/local/lib ] &&
	 [ "$(PKG_CONFIG_LIBDIR=$dest/usr/local/lib/pkgconfig pkg-config --variable=includedir svcacp)" = /usr/local/include ] ||
	 { sed "s/^/# /" "$dest/usr/local/lib/pkgconfig/svcacp.pc"; false; }'
# The application is compiled in a directory of its own: only the installed
# headers and library can satisfy it.
cp selftests/pkg/acp_app.c "$app/"
t "an application builds with cc \$(pkg-config --cflags --libs svcacp) alone" \
	'flags=$(pc --cflags --libs svcacp) && echo "# cc acp_app.c $flags" &&
	 out=$(cd "$app" && cc -Wall -Wextra -Werror acp_app.c $flags -o acp_app 2>&1) ||
	 { sed "s/^/# /" <<<"$out"; false; }'
t "the application exchanges a frame with libsvcacp over TCP, byte-exactly" \
	'out=$("$app/acp_app" 2>&1) || { sed "s/^/# /" <<<"$out"; false; }'
echo "# a changed config file stays"
echo "src = 198.18.0.2" >>"$dest/etc/svcplane/svcplaned.conf"
make --no-print-directory SAN=1 uninstall DESTDIR="$dest" >/dev/null 2>&1
t "make uninstall: only the changed config file is left" \
	'left=$(cd "$dest" && find . -type f | sed "s|^\./||"); [ "$left" = etc/svcplane/svcplaned.conf ] || { echo "# left: $left"; false; }'
cp deploy/svcplaned.conf.example "$dest/etc/svcplane/svcplaned.conf"
make --no-print-directory SAN=1 uninstall DESTDIR="$dest" >/dev/null 2>&1
t "make uninstall: an unchanged config file goes too" '[ -z "$(cd "$dest" && find . -type f)" ]'
t "make uninstall: the include directory svcplane/ goes too" '[ ! -e "$dest/usr/local/include/svcplane" ]'
exit $fail
