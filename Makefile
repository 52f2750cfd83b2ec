# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# svcplane: one entry point. make | make check | make vmcheck | make demo | make bench
#   make install | make uninstall | make deb | make dist | make man
#
# BPF:  bpf/*.bpf.c, selftests/progs/*.bpf.c -> $(OUTPUT)/%.bpf.o -> $(OUTPUT)/skel/%.skel.h
# C:    agent/lib/*.c -> libsvc.a; agent/*.c -> svcplaned;
#       cli/*.c but servicectl.c -> libcli.a (command table, parser); + cli/servicectl.c -> servicectl
#       k8s/*.c -> svcplane-k8s (all but main.c also -> libsvck8s.a for the unit tests)
#       acp/*.c -> libsvcacp.a (ACP frames for applications; the unit tests link it) + svcacp.pc
#       tiflow/*.c -> libsvctiflow.a (TI-flow socket options for applications; tests link it)
# Test: selftests/unit/*.c -> one Check binary each; selftests/prog_tests/*.c -> test_progs
# SAN=1 builds userspace with ASan+UBSan into .output-san (make check does this).

SAN ?= 0
ifeq ($(SAN),1)
OUTPUT ?= .output-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
else
OUTPUT ?= .output
SANFLAGS :=
endif

CC ?= gcc
BPF_CLANG ?= clang
BPFTOOL ?= bpftool
ARCH := $(shell uname -m | sed 's/x86_64/x86/;s/aarch64/arm64/')

BIN := $(OUTPUT)/bin
GEN := $(OUTPUT)/gen
# scripts/version.sh: git describe, or .version in a release tarball (make dist).
VERSION := $(shell scripts/version.sh)
SKEL := $(OUTPUT)/skel
OBJ := $(OUTPUT)/obj

BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -I. -Ibpf -Iheaders \
	-Wall -Werror -Wno-unused-function -Wno-compare-distinct-pointer-types
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wno-missing-field-initializers \
	-I. -Iheaders -Iagent/lib -Ik8s -I$(SKEL) $(SANFLAGS)
LDFLAGS += $(SANFLAGS)
LDLIBS := -lxdp -lbpf -lelf -lz -ljson-c -lmicrohttpd -lsodium -lcurl -lpthread
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lm -lrt)

BPF_SRCS := $(wildcard bpf/*.bpf.c) $(wildcard selftests/progs/*.bpf.c) $(wildcard bench/progs/*.bpf.c)
BPF_OBJS := $(patsubst %.bpf.c,$(OUTPUT)/%.bpf.o,$(BPF_SRCS))
SKELS := $(addprefix $(SKEL)/,$(notdir $(BPF_SRCS:.bpf.c=.skel.h)))
BPF_HDRS := $(wildcard bpf/lib/*.h) $(wildcard headers/*.h)

LIB_SRCS := $(wildcard agent/lib/*.c)
LIB_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(LIB_SRCS))
LIB := $(OUTPUT)/libsvc.a
AGENT_SRCS := $(wildcard agent/*.c)
CLI_SRCS := $(wildcard cli/*.c)
K8S_SRCS := $(wildcard k8s/*.c)
K8S_LIB := $(OUTPUT)/libsvck8s.a
# servicectl's command table, parser and output: everything of cli/ but main (unit tests link it)
CLI_LIB_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(filter-out cli/servicectl.c,$(CLI_SRCS)))
CLI_LIB := $(OUTPUT)/libcli.a
# The ACP endpoint library for applications (docs/acp.md): headers/svc_acp.h's frames over TCP.
ACP_SRCS := $(wildcard acp/*.c)
ACP_LIB := $(OUTPUT)/libsvcacp.a
# The TI-flow library for applications (docs/tiflow.md): socket options, resumed SYNs.
TIFLOW_SRCS := $(wildcard tiflow/*.c)
TIFLOW_LIB := $(OUTPUT)/libsvctiflow.a
USER_HDRS := $(wildcard agent/lib/*.h) $(wildcard agent/*.h) $(wildcard cli/*.h) $(wildcard headers/*.h) \
	$(wildcard k8s/*.h) $(wildcard acp/*.h) $(wildcard tiflow/*.h)

UNIT_SRCS := $(wildcard selftests/unit/*.c)
UNIT_BINS := $(patsubst selftests/unit/%.c,$(BIN)/unit/%,$(UNIT_SRCS))
PROGTEST_SRCS := $(wildcard selftests/prog_tests/*.c) $(wildcard selftests/lib/*.c)
PROGTEST_HDRS := $(wildcard selftests/lib/*.h)

# Benchmarks: bench/*.c -> svc-bench; bench/tools/*.c -> one binary each (make bench).
BENCH_SRCS := $(wildcard bench/*.c)
BENCH_BINS := $(if $(BENCH_SRCS),$(BIN)/svc-bench) \
	$(patsubst bench/tools/%.c,$(BIN)/bench/%,$(wildcard bench/tools/*.c))

# Fuzzer (make fuzz; run_tests.sh runs it too): selftests/fuzz/*.c + the selftest library.
FUZZ_SRCS := $(wildcard selftests/fuzz/*.c)
FUZZ_BINS := $(patsubst selftests/fuzz/%.c,$(BIN)/%,$(FUZZ_SRCS))
SELFTEST_LIB_OBJS := $(patsubst %.c,$(OBJ)/%.o,$(wildcard selftests/lib/*.c))
FUZZ_SEED ?= 1
FUZZ_COUNT ?= 200000

TOOL_SRCS := $(wildcard selftests/tools/*.c)
TOOL_BINS := $(patsubst selftests/tools/%.c,$(BIN)/tools/%,$(TOOL_SRCS))

PROGRAMS := $(if $(AGENT_SRCS),$(BIN)/svcplaned) $(if $(CLI_SRCS),$(BIN)/servicectl) \
	$(if $(K8S_SRCS),$(BIN)/svcplane-k8s)
TEST_BINS := $(UNIT_BINS) $(TOOL_BINS) $(FUZZ_BINS) \
	$(if $(wildcard selftests/prog_tests/*.c),$(BIN)/test_progs)

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all bpf programs acp tests check vmcheck demo bench deps install uninstall man deb dist \
	clean format fuzz FORCE

all: bpf $(PROGRAMS) $(TOOL_BINS) $(if $(ACP_SRCS),acp) $(TIFLOW_LIB)

# The two installed programs alone (what the Debian package builds, with acp).
programs: $(PROGRAMS)

# The ACP library and its pkg-config file, as make install installs them.
acp: $(ACP_LIB) $(OUTPUT)/svcacp.pc

bpf: $(SKELS)

tests: all $(TEST_BINS) $(BENCH_BINS)

$(OUTPUT)/%.bpf.o: %.bpf.c $(BPF_HDRS) vmlinux.h
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(BPF_CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp
	$(Q)rm -f $@.tmp

$(SKEL)/%.skel.h: $(OUTPUT)/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

$(SKEL)/%.skel.h: $(OUTPUT)/selftests/progs/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

$(SKEL)/%.skel.h: $(OUTPUT)/bench/progs/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

$(OBJ)/%.o: %.c $(USER_HDRS) $(SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

# The version header is rewritten only when the version changes: then version.o
# alone recompiles and the programs relink.
$(GEN)/svc_version_gen.h: FORCE
	$(Q)mkdir -p $(dir $@)
	$(Q)echo '#define SVC_VERSION_STRING "$(VERSION)"' >$@.tmp
	$(Q)if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

$(OBJ)/agent/lib/version.o: $(GEN)/svc_version_gen.h
$(OBJ)/agent/lib/version.o: CFLAGS += -I$(GEN)

$(LIB): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

$(BIN)/svcplaned: $(patsubst %.c,$(OBJ)/%.o,$(AGENT_SRCS)) $(LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(CLI_LIB): $(CLI_LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

# cli/ headers are servicectl's own: the agent's sources do not see them.
$(OBJ)/cli/%.o $(OBJ)/selftests/unit/%.o: CFLAGS += -Icli

$(ACP_LIB): $(patsubst %.c,$(OBJ)/%.o,$(ACP_SRCS))
	$(call msg,AR,$@)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

# acp/acp.h is the applications' header: only the unit tests see it besides acp/.
$(OBJ)/acp/%.o $(OBJ)/selftests/unit/%.o: CFLAGS += -Iacp

$(TIFLOW_LIB): $(patsubst %.c,$(OBJ)/%.o,$(TIFLOW_SRCS))
	$(call msg,AR,$@)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

# tiflow/tiflow_sock.h likewise: the unit tests and the test tools see it.
$(OBJ)/tiflow/%.o $(OBJ)/selftests/unit/%.o $(OBJ)/selftests/tools/%.o: CFLAGS += -Itiflow

$(BIN)/servicectl: $(OBJ)/cli/servicectl.o $(CLI_LIB) $(LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(K8S_LIB): $(patsubst %.c,$(OBJ)/%.o,$(filter-out k8s/main.c,$(K8S_SRCS)))
	$(call msg,AR,$@)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

$(BIN)/svcplane-k8s: $(OBJ)/k8s/main.o $(K8S_LIB) $(LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# The Kubernetes mapping's unit test links the companion's library.
$(BIN)/unit/test_k8s: $(OBJ)/selftests/unit/test_k8s.o $(K8S_LIB) $(LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) $(CHECK_LIBS) -o $@

$(BIN)/unit/%: $(OBJ)/selftests/unit/%.o $(CLI_LIB) $(ACP_LIB) $(TIFLOW_LIB) $(LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) $(CHECK_LIBS) -o $@

$(BIN)/test_progs: $(patsubst %.c,$(OBJ)/%.o,$(PROGTEST_SRCS)) $(LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# The router fuzzer: one program per source, linked with the selftest library.
$(BIN)/%: $(OBJ)/selftests/fuzz/%.o $(SELFTEST_LIB_OBJS) $(LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# Test tools (traffic generators, servers) used by the end-to-end tests and the demo.
$(BIN)/tools/%: $(OBJ)/selftests/tools/%.o $(TIFLOW_LIB) $(LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(OBJ)/selftests/%.o: CFLAGS += -Iselftests/lib

$(patsubst %.c,$(OBJ)/%.o,$(BENCH_SRCS)) $(filter $(OUTPUT)/bench/%,$(BPF_OBJS)): $(wildcard bench/*.h)

$(BIN)/svc-bench: $(patsubst %.c,$(OBJ)/%.o,$(BENCH_SRCS)) $(LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BIN)/bench/%: $(OBJ)/bench/tools/%.o
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# Installs the Debian packages the build, the tests and the demo need (idempotent).
deps:
	$(Q)scripts/deps.sh

# Every test of every tier, built with ASan+UBSan; ends with "N passed, M failed".
check: deps
	$(Q)$(MAKE) --no-print-directory SAN=1 tests
	$(Q)scripts/run_tests.sh .output-san

# The router fuzzer with its policy oracle (ASan build): FUZZ_SEED, FUZZ_COUNT
# (defaults 1 and 200000, what make check runs); e.g. make fuzz FUZZ_COUNT=5000000.
fuzz: deps
	$(Q)$(MAKE) --no-print-directory SAN=1 tests
	$(Q).output-san/bin/svc-fuzz --seed $(FUZZ_SEED) --count $(FUZZ_COUNT)

# The tests run inside another kernel under QEMU (KERNEL=release in /boot;
# default Debian 12's stock 6.1): object loads, unit, test_progs, e2e. On the
# plain build: under TCG the ASan/UBSan build makes the e2e tests 1.5-2.5x
# slower, and make check runs that build on the host; VMCHECK_SAN=1 uses it.
VMCHECK_SAN ?= 0
vmcheck: deps
	$(Q)$(MAKE) --no-print-directory SAN=$(VMCHECK_SAN) tests
	$(Q)KERNEL=$(KERNEL) scripts/vmcheck.sh $(if $(filter 1,$(VMCHECK_SAN)),.output-san,.output)

demo: deps all
	$(Q)scripts/demo.sh $(OUTPUT)

bench: deps all $(BENCH_BINS)
	$(Q)if [ -x scripts/bench.sh ]; then scripts/bench.sh $(OUTPUT); \
	else echo "bench: not built yet (issue 6)"; fi

# Man pages: help2man runs each program's --help and --version, so the page and
# the help text cannot drift; servicectl's page adds every command group's help.
MANPAGES := $(OUTPUT)/man/svcplaned.8 $(OUTPUT)/man/servicectl.8 $(OUTPUT)/man/svcplane-k8s.8
man: $(MANPAGES)

$(OUTPUT)/man/svcplaned.8: $(BIN)/svcplaned deploy/svcplaned.h2m
	$(call msg,MAN,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)help2man -N -s 8 -S svcplane -m "System Administration" \
		-n "the svcplane agent (service-centric XDP data plane)" \
		-i deploy/svcplaned.h2m -o $@ $(BIN)/svcplaned

$(OUTPUT)/man/servicectl.8: $(BIN)/servicectl deploy/servicectl.h2m scripts/man-commands.sh
	$(call msg,MAN,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)scripts/man-commands.sh $(BIN)/servicectl >$@.h2m
	$(Q)help2man -N -s 8 -S svcplane -m "System Administration" \
		-n "control the svcplane agent" \
		-i deploy/servicectl.h2m -i $@.h2m -o $@ $(BIN)/servicectl
	$(Q)rm -f $@.h2m

$(OUTPUT)/man/svcplane-k8s.8: $(BIN)/svcplane-k8s
	$(call msg,MAN,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)help2man -N -s 8 -S svcplane -m "System Administration" \
		-n "follow Kubernetes Services and EndpointSlices into svcplaned" -o $@ $(BIN)/svcplane-k8s

# The unit names the installed agent: @SBINDIR@ becomes $(PREFIX)/sbin.
$(OUTPUT)/deploy/svcplaned.service: deploy/svcplaned.service.in FORCE
	$(Q)mkdir -p $(dir $@)
	$(Q)sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@DOCDIR@|$(DOCDIR)|g' \
		-e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' $< >$@.tmp
	$(Q)if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

# svcacp.pc names the installed paths, relative to ${prefix} where they are
# under it (pkg-config --define-prefix can then relocate them). A SAN=1
# library calls the sanitizer runtimes, so its Libs ask for them too.
$(OUTPUT)/svcacp.pc: acp/svcacp.pc.in FORCE
	$(Q)mkdir -p $(dir $@)
	$(Q)sed -e 's|@PREFIX@|$(PREFIX)|g' \
		-e 's|@LIBDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(LIBDIR))|g' \
		-e 's|@INCLUDEDIR@|$(patsubst $(PREFIX)/%,$${prefix}/%,$(INCLUDEDIR))|g' \
		-e 's|@VERSION@|$(VERSION)|g' \
		-e 's|@SANLIBS@|$(if $(SANFLAGS), $(filter -fsanitize=%,$(SANFLAGS)))|g' $< >$@.tmp
	$(Q)if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

# make install [PREFIX=/usr/local] [DESTDIR=] [SYSCONFDIR=/etc] [SYSTEMDUNITDIR=...]
#   [LIBDIR=PREFIX/lib] [INCLUDEDIR=PREFIX/include]
# The config file is installed only where none exists (it is the operator's).
PREFIX ?= /usr/local
SYSCONFDIR ?= /etc
SBINDIR := $(PREFIX)/sbin
BINDIR := $(PREFIX)/bin
MANDIR := $(PREFIX)/share/man
DOCDIR := $(PREFIX)/share/doc/svcplane
COMPLETIONDIR := $(PREFIX)/share/bash-completion/completions
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
PKGCONFIGDIR := $(LIBDIR)/pkgconfig
# acp.h includes "svc_acp.h": the two go side by side, and svc_acp.h needs only <linux/types.h>.
ACP_HDRS := acp/acp.h headers/svc_acp.h
DOCS := README.md LICENSE $(wildcard docs/*.md)
CONF := $(DESTDIR)$(SYSCONFDIR)/svcplane/svcplaned.conf

install: programs man acp $(OUTPUT)/deploy/svcplaned.service
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(DOCDIR) $(DESTDIR)$(COMPLETIONDIR) $(DESTDIR)$(SYSTEMDUNITDIR) \
		$(DESTDIR)$(SYSCONFDIR)/svcplane $(DESTDIR)$(LIBDIR) $(DESTDIR)$(PKGCONFIGDIR) \
		$(DESTDIR)$(INCLUDEDIR)/svcplane
	install -m 0755 $(BIN)/svcplaned $(DESTDIR)$(SBINDIR)/svcplaned
	install -m 0755 $(BIN)/servicectl $(DESTDIR)$(BINDIR)/servicectl
	install -m 0755 $(BIN)/svcplane-k8s $(DESTDIR)$(SBINDIR)/svcplane-k8s
	install -m 0644 $(MANPAGES) $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 $(DOCS) $(DESTDIR)$(DOCDIR)/
	install -m 0644 scripts/servicectl.bash-completion $(DESTDIR)$(COMPLETIONDIR)/servicectl
	install -m 0644 $(OUTPUT)/deploy/svcplaned.service $(DESTDIR)$(SYSTEMDUNITDIR)/svcplaned.service
	install -m 0644 $(ACP_LIB) $(DESTDIR)$(LIBDIR)/libsvcacp.a
	install -m 0644 $(ACP_HDRS) $(DESTDIR)$(INCLUDEDIR)/svcplane/
	install -m 0644 $(OUTPUT)/svcacp.pc $(DESTDIR)$(PKGCONFIGDIR)/svcacp.pc
	@if [ -e $(CONF) ]; then echo "install: $(CONF) exists, kept"; \
	else echo "install -m 0644 deploy/svcplaned.conf.example $(CONF)"; \
		install -m 0644 deploy/svcplaned.conf.example $(CONF); fi
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then \
		echo "systemctl daemon-reload"; systemctl daemon-reload; fi

# Removes what make install installed with the same PREFIX/DESTDIR; the config
# file only if unchanged. The programs stay attached: svcplaned --uninstall first.
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/svcplaned $(DESTDIR)$(BINDIR)/servicectl \
		$(DESTDIR)$(SBINDIR)/svcplane-k8s \
		$(DESTDIR)$(MANDIR)/man8/svcplaned.8 $(DESTDIR)$(MANDIR)/man8/servicectl.8 \
		$(DESTDIR)$(MANDIR)/man8/svcplane-k8s.8 \
		$(DESTDIR)$(COMPLETIONDIR)/servicectl $(DESTDIR)$(SYSTEMDUNITDIR)/svcplaned.service \
		$(addprefix $(DESTDIR)$(DOCDIR)/,$(notdir $(DOCS))) \
		$(DESTDIR)$(LIBDIR)/libsvcacp.a $(DESTDIR)$(PKGCONFIGDIR)/svcacp.pc \
		$(addprefix $(DESTDIR)$(INCLUDEDIR)/svcplane/,$(notdir $(ACP_HDRS)))
	-rmdir $(DESTDIR)$(DOCDIR) $(DESTDIR)$(INCLUDEDIR)/svcplane 2>/dev/null
	@if cmp -s deploy/svcplaned.conf.example $(CONF); then \
		echo "rm -f $(CONF)"; rm -f $(CONF); rmdir $(dir $(CONF)) 2>/dev/null || true; \
	elif [ -e $(CONF) ]; then echo "uninstall: $(CONF) was changed, kept"; fi
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then \
		echo "systemctl daemon-reload"; systemctl daemon-reload; fi

# make deb: the Debian package (dpkg-buildpackage, debhelper) of the working tree,
# into $(OUTPUT)/deb/. make dist: a release tarball with its version fixed in .version.
deb:
	$(Q)scripts/mkdeb.sh $(OUTPUT)/deb "$(VERSION)"

dist:
	$(Q)mkdir -p $(OUTPUT)
	$(Q)scripts/mkdist.sh $(OUTPUT) "$(VERSION)"

format:
	clang-format -i $(wildcard agent/*.c agent/*.h agent/lib/*.c agent/lib/*.h cli/*.c cli/*.h \
		k8s/*.c k8s/*.h acp/*.c acp/*.h tiflow/*.c tiflow/*.h \
		selftests/unit/*.c selftests/prog_tests/*.c selftests/lib/*.[ch])

clean:
	rm -rf .output .output-san
