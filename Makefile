# sitesys - endpoint-management site system roles
#
#   make            build everything into build/
#   make check      install what is missing, build, run every test
#   make asan       the same tests on an ASan+UBSan build (build/asan/)
#   make demo       start a private site under ./run/ and show it working
#   make demo-stop  stop it
#   make bench      the benchmarks, each beside its baseline
#   make deps       install missing Debian packages (as root)
#   make install    programs, man pages, units, nginx snippets and the
#                   default config under DESTDIR and PREFIX (/usr/local)
#   make deb        the Debian packages, into build/deb/
#   make fuzz       run each libFuzzer target for FUZZ_SECONDS (tests/fuzz/)

BUILD   ?= build
CC      ?= cc
PKGS    := libpq jansson libcrypto
ifeq ($(FUZZ),1)
CFLAGS  ?= -O1 -g
endif
CFLAGS  ?= -O2 -g
CFLAGS  += -std=c17 -Wall -Wextra -Werror -D_GNU_SOURCE -Icommon \
           $(shell pkg-config --cflags $(PKGS) 2>/dev/null) -MMD -MP
LDLIBS  += $(shell pkg-config --libs $(PKGS) 2>/dev/null || echo -lpq -ljansson -lcrypto)
ifeq ($(SAN),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer \
           -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
endif
# FUZZ=1: the objects of the fuzz targets, built with clang into
# $(BUILD)/fuzz by "make fuzz-build"; libFuzzer's main is linked only
# into the targets
ifeq ($(FUZZ),1)
CFLAGS  += -fsanitize=fuzzer-no-link,address,undefined \
           -fno-sanitize-recover=all -fno-omit-frame-pointer
endif

# the layers, lowest first: what knows nothing of sitesys, the sitesys
# library, the location engine; a lower layer never includes a higher one
UTIL_SRC    := $(wildcard common/util/*.c)
SITESYS_SRC := $(wildcard common/*.c)
LOCATION_SRC := $(wildcard common/location/*.c)
COMMON_SRC  := $(UTIL_SRC) $(SITESYS_SRC) $(LOCATION_SRC)
SITECTL_SRC := $(wildcard tools/sitectl/*.c)
FSP_SRC     := $(wildcard roles/fsp/*.c)
MP_SRC      := $(wildcard roles/mp/*.c)
STATESYS_SRC := $(wildcard roles/statesys/*.c)
NOTIFYMGR_SRC := $(wildcard roles/notifymgr/*.c)
NOTIFYD_SRC := $(wildcard roles/notifyd/*.c)
RECEIVER_SRC := $(wildcard roles/receiver/*.c)
SENDER_SRC  := $(wildcard roles/sender/*.c)
AGENT_SRC   := $(filter-out agent/main.c,$(wildcard agent/*.c))
SCHEMA      := $(sort $(wildcard schema/[0-9][0-9][0-9]_*.sql))
UNIT_SRC    := $(wildcard tests/unit/test_*.c)
HELPER_SRC  := $(wildcard tests/helpers/*.c)
BENCH_SRC   := $(wildcard bench/*.c)
BENCH_LIB_SRC := $(wildcard bench/lib/*.c)
FUZZ_SRC    := $(wildcard tests/fuzz/fuzz_*.c)

LIB     := $(BUILD)/libsitesys.a
AGENT_LIB := $(BUILD)/libagent.a
SITECTL := $(BUILD)/sitectl
UNITS   := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
HELPERS := $(HELPER_SRC:tests/helpers/%.c=$(BUILD)/tests/%)
BENCHES := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
FSP      := $(if $(FSP_SRC),$(BUILD)/sitesys-fsp)
MP       := $(if $(MP_SRC),$(BUILD)/sitesys-mp)
STATESYS := $(if $(STATESYS_SRC),$(BUILD)/sitesys-statesys)
NOTIFYMGR := $(if $(NOTIFYMGR_SRC),$(BUILD)/sitesys-notifymgr)
NOTIFYD  := $(if $(NOTIFYD_SRC),$(BUILD)/sitesys-notifyd)
RECEIVER := $(if $(RECEIVER_SRC),$(BUILD)/sitesys-receiver)
SENDER   := $(if $(SENDER_SRC),$(BUILD)/sitesys-sender)
AGENT    := $(if $(AGENT_SRC),$(BUILD)/sitesys-agent)
PROGS   := $(SITECTL) $(FSP) $(MP) $(STATESYS) $(NOTIFYMGR) $(NOTIFYD) \
    $(RECEIVER) $(SENDER) $(AGENT)

.PHONY: all deps check asan unit integration lint man demo demo-stop \
        bench clean format fuzz fuzz-build fuzz-targets fuzz-merge \
        install deb progs
all: $(PROGS) $(UNITS) $(HELPERS) $(BENCHES)
progs: $(PROGS)

# keep the objects of tests and benchmarks, which make would otherwise
# delete as intermediate files and rebuild at every run
.SECONDARY:

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -c -o $@ $<

$(LIB): $(COMMON_SRC:%.c=$(BUILD)/%.o)
	rm -f $@ && $(AR) rcs $@ $^

# The migrations and the roles' grants are compiled into sitectl so that
# it can never run against SQL files of another version.
$(BUILD)/gen/schema_sql.c: $(SCHEMA) schema/roles.sql scripts/embed-sql.sh
	@mkdir -p $(@D)
	sh scripts/embed-sql.sh $(SCHEMA) schema/roles.sql > $@.tmp && \
	    mv $@.tmp $@

$(BUILD)/gen/schema_sql.o: $(BUILD)/gen/schema_sql.c
	$(CC) $(CFLAGS) -Itools/sitectl -c -o $@ $<

$(SITECTL): $(SITECTL_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/schema_sql.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/sitesys-fsp: $(FSP_SRC:%.c=$(BUILD)/%.o) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lfcgi -lpthread

$(BUILD)/sitesys-mp: $(MP_SRC:%.c=$(BUILD)/%.o) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lfcgi -lpthread

$(BUILD)/sitesys-receiver: $(RECEIVER_SRC:%.c=$(BUILD)/%.o) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lfcgi -lpthread

# libcurl speaks HTTPS to the site server's nginx
$(BUILD)/sitesys-sender: $(SENDER_SRC:%.c=$(BUILD)/%.o) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcurl

$(BUILD)/sitesys-statesys: $(STATESYS_SRC:%.c=$(BUILD)/%.o) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/sitesys-notifymgr: $(NOTIFYMGR_SRC:%.c=$(BUILD)/%.o) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lm

# libevent and its HTTP server (Debian's libevent-dev)
$(BUILD)/sitesys-notifyd: $(NOTIFYD_SRC:%.c=$(BUILD)/%.o) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -levent_extra \
	    -levent_core -lssl -lfcgi -lpthread

# the agent is a library and a main, so that tests link what they test
$(AGENT_LIB): $(AGENT_SRC:%.c=$(BUILD)/%.o)
	rm -f $@ && $(AR) rcs $@ $^

# the notification client (agent/notify.c) speaks TLS with libssl in a
# thread of its own
$(BUILD)/sitesys-agent: $(BUILD)/agent/main.o $(AGENT_LIB) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcurl -levent_openssl -levent_core \
	    -lssl -lpthread

# unit tests include a role's header as "agent/agent.h" or "fsp/throttle.h"
# and link the role's objects they test
$(BUILD)/tests/unit/%.o: CFLAGS += -I. -Iroles
FSP_PARTS := $(BUILD)/roles/fsp/split.o $(BUILD)/roles/fsp/throttle.o \
    $(BUILD)/roles/fsp/source.o
$(BUILD)/tests/test_throttle: $(FSP_PARTS)
$(BUILD)/tests/test_agent $(BUILD)/tests/test_agent_location \
$(BUILD)/tests/test_agent_identity $(BUILD)/tests/test_notify_agent \
$(BUILD)/tests/test_fallback $(BUILD)/tests/test_mp_route: $(AGENT_LIB)
$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(filter %.a,$^) $(LIB) \
	    $(LDLIBS) -lcmocka -lcurl -lssl -lfcgi -lpthread

$(BUILD)/tests/%: $(BUILD)/tests/helpers/%.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lfcgi -lpthread

# what the benchmarks share (bench/lib/) is linked into each of them; its
# clients speak TLS with libssl
$(BUILD)/bench/%.o: CFLAGS += -Ibench/lib
$(BUILD)/bench/%: $(BUILD)/bench/%.o $(BENCH_LIB_SRC:%.c=$(BUILD)/%.o) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) -lssl -lfcgi -lpthread

# Fuzzing (HACKING, "Fuzzing"): each tests/fuzz/fuzz_NAME.c is a libFuzzer
# target with its seed corpus in tests/fuzz/corpus/NAME/. The targets and
# the objects they link are built with clang, ASan and UBSan into
# $(BUILD)/fuzz; "make check" replays every corpus once, "make fuzz" runs
# each target (or those named in FUZZ_TARGETS) for FUZZ_SECONDS, keeping
# what it finds in $(BUILD)/fuzz/corpus/NAME and a crash in
# $(BUILD)/fuzz/artifacts/; "make fuzz-merge" adds to the seed corpus
# the finds that reach code it does not.
FUZZ_CC      ?= clang
FUZZ_SECONDS ?= 60
FUZZ_BUILD   := $(BUILD)/fuzz
FUZZ_TARGETS ?=
FUZZERS      := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/%)

fuzz-build:
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) \
	    FUZZ=1 fuzz-targets

fuzz: fuzz-build
	@BUILD=$(BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) \
	    bash scripts/fuzz.sh run $(FUZZ_TARGETS)

fuzz-merge: fuzz-build
	@BUILD=$(BUILD) bash scripts/fuzz.sh merge $(FUZZ_TARGETS)

ifeq ($(FUZZ),1)
# sitectl's main() gives way to libFuzzer's
$(BUILD)/tools/sitectl/main-nomain.o: tools/sitectl/main.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -Dmain=sitectl_main -c -o $@ $<

$(BUILD)/tests/fuzz/%.o: CFLAGS += -I. -Iroles -Iagent -Itools/sitectl
fuzz-targets: $(FUZZERS)
$(BUILD)/fuzz_%: $(BUILD)/tests/fuzz/fuzz_%.o $(AGENT_LIB) $(LIB)
	$(CC) -fsanitize=fuzzer,address,undefined -o $@ $(filter %.o,$^) \
	    $(AGENT_LIB) $(LIB) $(LDLIBS) -lcurl -lssl -lfcgi -lpthread
# what a target links besides the libraries
$(BUILD)/fuzz_register: $(BUILD)/roles/mp/register_doc.o
$(BUILD)/fuzz_fsp_split: $(BUILD)/roles/fsp/split.o
$(BUILD)/fuzz_notify_poll: $(BUILD)/roles/notifyd/poll_doc.o
$(BUILD)/fuzz_receiver: $(BUILD)/roles/receiver/target.o
$(BUILD)/fuzz_sitectl: $(BUILD)/tools/sitectl/main-nomain.o \
    $(BUILD)/gen/schema_sql.o \
    $(filter-out %/main.o,$(SITECTL_SRC:%.c=$(BUILD)/%.o))
endif

deps:
	@sh scripts/deps.sh

check: deps
	@$(MAKE) --no-print-directory all fuzz-build
	@BUILD=$(BUILD) bash scripts/check.sh

asan: deps
	@$(MAKE) --no-print-directory BUILD=build/asan SAN=1 all fuzz-build
	@BUILD=build/asan ASAN_OPTIONS=detect_leaks=1 bash scripts/check.sh

unit: all
	@BUILD=$(BUILD) bash scripts/check.sh unit

integration: all
	@BUILD=$(BUILD) bash scripts/check.sh integration

lint:
	@BUILD=$(BUILD) bash scripts/check.sh lint

man:
	@BUILD=$(BUILD) bash scripts/check.sh man

demo: deps
	@$(MAKE) --no-print-directory all
	@bash scripts/demo.sh start

demo-stop:
	@bash scripts/demo.sh stop

bench: all
	@for b in $(filter %_bench,$(BENCHES)); do $$b || exit 1; done
	@for s in bench/*.sh; do BUILD=$(BUILD) bash $$s || exit 1; done

# Installation (README, "Install"): the programs into SBINDIR, their man
# pages, a systemd unit per daemon (ExecStart made to name SBINDIR), the
# nginx snippets (sites-available: each needs its certificate before it
# is enabled; the FSP's rate zone in conf.d) and /etc/sitesys/sitesys.conf, which is never overwritten.
# The configuration's place is compiled in: it is /etc/sitesys whatever
# PREFIX is.
PREFIX  ?= /usr/local
SBINDIR ?= $(PREFIX)/sbin
MANDIR  ?= $(PREFIX)/share/man
UNITDIR ?= $(PREFIX)/lib/systemd/system
DESTDIR ?=
install: $(PROGS)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(UNITDIR) \
	    $(DESTDIR)/etc/sitesys $(DESTDIR)/etc/nginx/sites-available \
	    $(DESTDIR)/etc/nginx/conf.d \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7 \
	    $(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(PROGS) $(DESTDIR)$(SBINDIR)
	for m in man/*.[578]; do \
	    install -m 0644 $$m $(DESTDIR)$(MANDIR)/man$${m##*.} || exit 1; \
	done
	for u in packaging/systemd/*.service; do \
	    sed 's|/usr/sbin/|$(SBINDIR)/|' $$u \
	        > $(DESTDIR)$(UNITDIR)/$${u##*/} || exit 1; \
	done
	install -m 0644 packaging/nginx/sitesys-fsp-limit.conf \
	    $(DESTDIR)/etc/nginx/conf.d
	install -m 0644 packaging/nginx/sitesys-fsp.conf \
	    packaging/nginx/sitesys-mp.conf packaging/nginx/sitesys-receiver.conf \
	    $(DESTDIR)/etc/nginx/sites-available
	[ -e $(DESTDIR)/etc/sitesys/sitesys.conf ] || \
	    install -m 0644 packaging/sitesys.conf $(DESTDIR)/etc/sitesys/sitesys.conf

# The packages (packaging/debian), built from a copy of the tree in
# build/deb/src with debhelper; "lintian" checks them after
deb:
	@bash scripts/deb.sh

format:
	clang-format -i $$(find common tools roles agent tests bench -name '*.[ch]' 2>/dev/null)

clean:
	rm -rf $(BUILD)

-include $(shell find $(BUILD) -path $(BUILD)/deb -prune -o -name '*.d' -type f -print 2>/dev/null)
