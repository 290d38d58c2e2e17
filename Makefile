# berth: a Kubernetes CRI server in C.
#   make          build every binary into bin/
#   make run      install deps, build, run berthd in the foreground (built-in defaults)
#   make test     install deps, build, run unit + integration tests, then
#                 the VM test (BERTH_VM=0 skips it)
#   make vm-test  the .deb and berth.service on a systemd + cgroup v2 guest
#   make deb      build/deb/berth_<VERSION>_<arch>.deb
#   make install  PREFIX (/usr/local), DESTDIR, UNITDIR
#   make asan     the same tests with AddressSanitizer + UBSan
#   make fuzz      every libFuzzer target in tests/fuzz/ for FUZZ_TIME s each
#   make fuzz-smoke  the same for 30 s each from the seed corpus, nproc at once
#   make fmt / make lint
#
# Sources are picked up by directory: a new .c in a module dir is part of
# libberth.a, a new tests/unit/test_*.c is a unit test, a new tests/tools/*.c
# a helper program the integration tests drive, a new tests/fuzz/fuzz_*.c a
# fuzz target. No edits needed here.

PYTHON  ?= /usr/bin/python3
CC      ?= gcc
SAN     ?=
VERSION := $(shell cat VERSION)
COMMIT  := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)

ifeq ($(SAN),1)
BUILD   := build/asan
BIN     := build/asan/bin
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT     := -O1
else
BUILD   := build/release
BIN     := bin
SANFLAGS :=
OPT     := -O2
endif
GEN     := build/gen
PYGEN   := build/py

# Evaluated lazily, so `make test` on a machine without the -dev packages
# installs them first and only then asks pkg-config.
PKGS     = grpc glib-2.0 gio-2.0 gio-unix-2.0 ostree-1 jansson libcurl libcrypto libseccomp libarchive libprotobuf-c libmicrohttpd zlib yaml-0.1 \
	libsystemd
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS))

WARN    := -Wall -Wextra -Werror -Wno-missing-field-initializers
CFLAGS_COMMON = -std=c11 -D_GNU_SOURCE $(WARN) $(OPT) -g $(SANFLAGS) -I. -I$(GEN) \
	-DBERTH_VERSION='"$(VERSION)"' -DBERTH_COMMIT='"$(COMMIT)"' -MMD -MP
CFLAGS_GLIB = $(CFLAGS_COMMON) $(PKG_CFLAGS)
LDFLAGS_ALL = $(SANFLAGS) -pthread

MODULE_DIRS := util config cri server server/streaming sandbox sandbox/pod sandbox/container \
	sandbox/spec sandbox/cgroup image network
# conmon/ holds two things: the client library berthd links (client*.c,
# GLib) and the monitor itself (everything else, plain libc, no GLib).
LIB_SRCS := $(foreach d,$(MODULE_DIRS),$(wildcard $(d)/*.c)) $(wildcard conmon/client*.c)
LIB_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRCS)) $(BUILD)/gen/api.pb-c.o
LIB      := $(BUILD)/libberth.a

CONMON_SRCS := $(filter-out conmon/client%.c,$(wildcard conmon/*.c))
CONMON_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(CONMON_SRCS))
CONMON_LIB  := $(BUILD)/libconmon.a
CFLAGS_CONMON = $(CFLAGS_COMMON)
# Static where it can be: a tiny resident set per container. The sanitizers
# need the dynamic runtime.
ifeq ($(SAN),1)
CONMON_LDFLAGS := $(LDFLAGS_ALL)
else
CONMON_LDFLAGS := -static
endif

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

TOOL_SRCS := $(wildcard tests/tools/*.c)
TOOL_BINS := $(patsubst tests/tools/%.c,$(BUILD)/tests/tools/%,$(TOOL_SRCS))

GLIB_BINS := $(BIN)/berthd $(BIN)/berthctl
PYSTUBS   := $(PYGEN)/api_pb2.py $(PYGEN)/api_pb2_grpc.py

.PHONY: all deps run test check unit unit-bins tool-bins integration asan fmt lint clean bench \
	install deb vm-test fuzz fuzz-smoke fuzz-bins
.DEFAULT_GOAL := all

all: $(GLIB_BINS) $(BIN)/berth-pause $(BIN)/berth-conmon $(PYSTUBS)

deps:
	@bash contrib/install-deps.sh

# The default CNI network goes into /etc/cni/net.d only when that dir holds
# no config: an operator's own network is never touched.
run: deps
	@$(MAKE) --no-print-directory all
	@if [ -z "$$(ls -A /etc/cni/net.d 2>/dev/null)" ]; then \
		mkdir -p /etc/cni/net.d && \
		cp contrib/cni/10-berth.conflist /etc/cni/net.d/ && \
		echo "make run: /etc/cni/net.d was empty: installed contrib/cni/10-berth.conflist"; \
	fi
	./bin/berthd

# berth and containerd side by side (root; about an hour): docs/performance.md.
# `bash bench/compare.sh --quick` is the few-minute smoke run.
bench:
	bash bench/compare.sh

test: deps
	@$(MAKE) --no-print-directory all unit-bins tool-bins
	@$(MAKE) --no-print-directory check
	@if [ "$${BERTH_VM:-1}" = 0 ]; then bash tests/vm/vm-test.sh; \
	else $(MAKE) --no-print-directory deb && bash tests/vm/vm-test.sh --if-possible; fi

# The package and the unit on a real systemd + cgroup v2 machine: a Debian
# 12 guest under qemu (tests/vm/, docs/testing.md "Test VM").
vm-test: deps
	@$(MAKE) --no-print-directory deb
	@bash tests/vm/vm-test.sh

# --- packaging ---------------------------------------------------------------
# berthd finds berth-conmon and berth-pause beside its own executable
# (/proc/self/exe): all three live in $(PREFIX)/libexec/berth, and
# $(PREFIX)/bin/berthd is a symlink. An existing /etc/berth/berth.conf is
# never overwritten.
PREFIX  ?= /usr/local
UNITDIR ?= $(PREFIX)/lib/systemd/system
DESTDIR ?=
LIBEXEC  = $(DESTDIR)$(PREFIX)/libexec/berth

install: all
	install -d $(LIBEXEC) $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(PREFIX)/share/berth/cni $(DESTDIR)/etc/berth
	install -m 755 $(BIN)/berthd $(BIN)/berth-conmon $(BIN)/berth-pause $(LIBEXEC)/
	ln -sfn ../libexec/berth/berthd $(DESTDIR)$(PREFIX)/bin/berthd
	install -m 755 $(BIN)/berthctl $(DESTDIR)$(PREFIX)/bin/
	install -m 644 contrib/cni/10-berth.conflist $(DESTDIR)$(PREFIX)/share/berth/cni/
	sed 's|/usr/bin/berthd|$(PREFIX)/bin/berthd|' contrib/systemd/berth.service \
		>$(DESTDIR)$(UNITDIR)/berth.service
	chmod 644 $(DESTDIR)$(UNITDIR)/berth.service
	[ -e $(DESTDIR)/etc/berth/berth.conf ] || \
		install -m 644 contrib/berth.conf $(DESTDIR)/etc/berth/berth.conf

deb: all
	@bash contrib/deb/mkdeb.sh

asan: deps
	@$(MAKE) --no-print-directory SAN=1 all unit-bins tool-bins
	@$(MAKE) --no-print-directory SAN=1 check

check: unit integration

unit-bins: $(UNIT_BINS)

tool-bins: $(TOOL_BINS)

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

integration: all $(TOOL_BINS)
	BERTH_BIN_DIR=$(abspath $(BIN)) BERTH_PYSTUBS=$(abspath $(PYGEN)) BERTH_SAN=$(SAN) \
		BERTH_TOOLS_DIR=$(abspath $(BUILD)/tests/tools) \
		$(PYTHON) -m pytest -q -p no:cacheprovider tests/integration

# --- generated code (build outputs, never committed) -----------------------
$(GEN)/api.pb-c.c $(GEN)/api.pb-c.h: cri/api.proto
	@mkdir -p $(GEN)
	protoc-c -Icri --c_out=$(GEN) cri/api.proto

$(PYSTUBS) &: cri/api.proto
	@mkdir -p $(PYGEN)
	$(PYTHON) -m grpc_tools.protoc -Icri --python_out=$(PYGEN) --grpc_python_out=$(PYGEN) cri/api.proto


$(BUILD)/gen/api.pb-c.o: $(GEN)/api.pb-c.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_GLIB) -Wno-unused-parameter -c $< -o $@

# Every object may include the generated header (order-only: -MMD tracks it).
$(BUILD)/%.o: %.c | $(GEN)/api.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_GLIB) -c $< -o $@

$(LIB): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

# The monitor's objects: no GLib flags (a static pattern rule wins over
# the generic one above).
$(CONMON_OBJS) $(BUILD)/cmd/berth-conmon.o: $(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_CONMON) -c $< -o $@

$(CONMON_LIB): $(CONMON_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BIN)/berth-conmon: $(BUILD)/cmd/berth-conmon.o $(CONMON_LIB)
	@mkdir -p $(BIN)
	$(CC) $(CONMON_LDFLAGS) -o $@ $^

$(BIN)/berthd: $(BUILD)/cmd/berthd.o $(LIB)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(PKG_LIBS)

# berthctl: client/ is its own archive, kept out of libberth.a. It takes
# from libberth.a only what it references (util/error.o, the generated
# protobuf code), and links only the libraries it uses.
CLIENT_SRCS := $(wildcard client/*.c)
CLIENT_OBJS := $(patsubst %.c,$(BUILD)/%.o,$(CLIENT_SRCS))
CLIENT_LIB  := $(BUILD)/libberthctl.a
CLIENT_PKGS  = grpc glib-2.0 gio-2.0 jansson libprotobuf-c
CLIENT_LIBS  = $(shell pkg-config --libs $(CLIENT_PKGS)) -lm

$(CLIENT_LIB): $(CLIENT_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BIN)/berthctl: $(BUILD)/cmd/berthctl.o $(CLIENT_LIB) $(LIB)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(CLIENT_LIBS)

# A static pattern: it wins over the generic unit-test rule above.
CLIENT_UNIT_BINS := $(filter $(BUILD)/tests/test_client%,$(UNIT_BINS))
$(CLIENT_UNIT_BINS): $(BUILD)/tests/%: tests/unit/%.c $(CLIENT_LIB) $(LIB) | $(GEN)/api.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_GLIB) $(shell pkg-config --cflags cmocka) $(LDFLAGS_ALL) -o $@ $< \
		$(CLIENT_LIB) $(LIB) $(CLIENT_LIBS) $(shell pkg-config --libs cmocka)

# Static and tiny: it is the whole rootfs of a pod's infra container.
$(BIN)/berth-pause: cmd/berth-pause.c VERSION
	@mkdir -p $(BIN)
	$(CC) -std=c11 -D_GNU_SOURCE $(WARN) -Os -static -s \
		-DBERTH_VERSION='"$(VERSION)"' -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(LIB) $(CONMON_LIB) | $(GEN)/api.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_GLIB) $(shell pkg-config --cflags cmocka) $(LDFLAGS_ALL) -o $@ $< $(LIB) \
		$(CONMON_LIB) $(PKG_LIBS) $(shell pkg-config --libs cmocka)

# Test helper programs the integration suite drives.
$(BUILD)/tests/tools/%: tests/tools/%.c $(LIB) | $(GEN)/api.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_GLIB) $(LDFLAGS_ALL) -o $@ $< $(LIB) $(PKG_LIBS)

# --- fuzzing: libFuzzer + ASan/UBSan with Debian's clang (docs/testing.md) --
# Every library object is built again with clang into build/fuzz/ (coverage
# hooks without libFuzzer's main), then each tests/fuzz/fuzz_<name>.c is
# linked with -fsanitize=fuzzer into build/fuzz/bin/fuzz_<name>.
FUZZ_CC     := clang
FUZZ_TIME   ?= 600
FUZZ_BUILD  := build/fuzz
FUZZ_SAN    := -fsanitize=address,undefined -fno-sanitize-recover=undefined \
	-fno-omit-frame-pointer
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE $(WARN) -O1 -g $(FUZZ_SAN) -I. -I$(GEN) \
	-DBERTH_VERSION='"$(VERSION)"' -DBERTH_COMMIT='"$(COMMIT)"' -MMD -MP \
	$(PKG_CFLAGS)
# clang, unlike gcc, calls a variable unused when its only use is its
# cleanup (a g_autoptr(GMutexLocker) held for a scope); gcc's -Werror build
# keeps that check for the library.
FUZZ_LIB_WARN := -Wno-unused-variable
FUZZ_SRCS   := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS   := $(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/bin/%,$(FUZZ_SRCS))
FUZZ_LIB_OBJS := $(patsubst %.c,$(FUZZ_BUILD)/%.o,$(LIB_SRCS) $(CONMON_SRCS)) \
	$(FUZZ_BUILD)/gen/api.pb-c.o
FUZZ_LIB    := $(FUZZ_BUILD)/libberth-fuzz.a

$(FUZZ_BUILD)/gen/api.pb-c.o: $(GEN)/api.pb-c.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -Wno-unused-parameter -c $< -o $@

$(FUZZ_BUILD)/%.o: %.c | $(GEN)/api.pb-c.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_LIB_WARN) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_LIB): $(FUZZ_LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

# The targets themselves keep every warning (and their objects).
.PRECIOUS: $(FUZZ_BUILD)/tests/fuzz/%.o
$(FUZZ_BUILD)/tests/fuzz/%.o: tests/fuzz/%.c | $(GEN)/api.pb-c.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_BUILD)/bin/%: $(FUZZ_BUILD)/tests/fuzz/%.o $(FUZZ_LIB)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS) -pthread

fuzz-bins: $(FUZZ_BINS)

# Long runs keep their corpus in build/fuzz/corpus/ across runs; the smoke
# run starts from a scratch copy of the seeds and replays
# tests/fuzz/regressions/ first. Either fails on the first finding.
fuzz: deps
	@$(MAKE) --no-print-directory fuzz-bins
	bash tests/fuzz/run.sh --time $(FUZZ_TIME) --keep $(FUZZ_BINS)

fuzz-smoke: deps
	@$(MAKE) --no-print-directory fuzz-bins
	bash tests/fuzz/run.sh --time 30 --jobs $$(nproc) $(FUZZ_BINS)

C_FILES = $(shell find cmd cri server sandbox image network conmon config util client tests/unit \
	tests/tools tests/fuzz -name '*.[ch]' 2>/dev/null)

fmt:
	clang-format -i $(C_FILES)

lint: $(GEN)/api.pb-c.h
	clang-format --dry-run --Werror $(C_FILES)
	cppcheck --quiet --error-exitcode=1 --std=c11 --enable=warning,portability \
		--inline-suppr --suppress=missingIncludeSystem \
		--library=gtk --library=contrib/lint/berth.cfg -I. -I$(GEN) \
		$(filter %.c,$(C_FILES))

clean:
	rm -rf build bin

-include $(shell find build -name '*.d' 2>/dev/null)
