# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# svcplane: one entry point. make | make check | make vmcheck | make demo | make bench | make install
#
# BPF:  bpf/*.bpf.c, selftests/progs/*.bpf.c -> $(OUTPUT)/%.bpf.o -> $(OUTPUT)/skel/%.skel.h
# C:    agent/lib/*.c -> libsvc.a; agent/*.c -> svcplaned; cli/*.c -> servicectl
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
SKEL := $(OUTPUT)/skel
OBJ := $(OUTPUT)/obj

BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -I. -Ibpf -Iheaders \
	-Wall -Werror -Wno-unused-function -Wno-compare-distinct-pointer-types
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wno-missing-field-initializers \
	-I. -Iheaders -Iagent/lib -I$(SKEL) $(SANFLAGS)
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
USER_HDRS := $(wildcard agent/lib/*.h) $(wildcard agent/*.h) $(wildcard cli/*.h) $(wildcard headers/*.h)

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

PROGRAMS := $(if $(AGENT_SRCS),$(BIN)/svcplaned) $(if $(CLI_SRCS),$(BIN)/servicectl)
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
.PHONY: all bpf tests check vmcheck demo bench deps install clean format fuzz

all: bpf $(PROGRAMS) $(TOOL_BINS)

bpf: $(SKELS)

tests: all $(TEST_BINS)

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
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@
	$(Q)ar rcs $@ $^

$(BIN)/svcplaned: $(patsubst %.c,$(OBJ)/%.o,$(AGENT_SRCS)) $(LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BIN)/servicectl: $(patsubst %.c,$(OBJ)/%.o,$(CLI_SRCS)) $(LIB)
	$(call msg,LINK,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BIN)/unit/%: $(OBJ)/selftests/unit/%.o $(LIB)
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
$(BIN)/tools/%: $(OBJ)/selftests/tools/%.o $(LIB)
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

# The same build tested inside another kernel under QEMU (KERNEL=release in
# /boot; default Debian 12's stock 6.1): object loads, unit, test_progs, e2e.
# The router fuzzer with its policy oracle (ASan build): FUZZ_SEED, FUZZ_COUNT
# (defaults 1 and 200000, what make check runs); e.g. make fuzz FUZZ_COUNT=5000000.
fuzz: deps
	$(Q)$(MAKE) --no-print-directory SAN=1 tests
	$(Q).output-san/bin/svc-fuzz --seed $(FUZZ_SEED) --count $(FUZZ_COUNT)

vmcheck: deps
	$(Q)$(MAKE) --no-print-directory SAN=1 tests
	$(Q)KERNEL=$(KERNEL) scripts/vmcheck.sh .output-san

demo: deps all
	$(Q)scripts/demo.sh $(OUTPUT)

bench: deps all $(BENCH_BINS)
	$(Q)if [ -x scripts/bench.sh ]; then scripts/bench.sh $(OUTPUT); \
	else echo "bench: not built yet (issue 6)"; fi

PREFIX ?= /usr/local
install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BIN)/svcplaned $(DESTDIR)$(PREFIX)/sbin/svcplaned
	install -m 0755 $(BIN)/servicectl $(DESTDIR)$(PREFIX)/bin/servicectl

format:
	clang-format -i $(wildcard agent/*.c agent/*.h agent/lib/*.c agent/lib/*.h cli/*.c cli/*.h \
		selftests/unit/*.c selftests/prog_tests/*.c selftests/lib/*.[ch])

clean:
	rm -rf .output .output-san
