# streamlab — build, test, bench.
#
# Libraries are built from every .c file in their folder, so a new module needs no
# Makefile change: core/*.c -> libcore, sim/*.c (minus the CLI) -> libsim.
# Three flavours of object files live side by side:
#   build/obj      -O3 with link-time optimisation, the shipped binaries
#   build/obj-O0   -O0, only to prove the digest does not depend on optimisation
#   build/asan     -O1 with AddressSanitizer + UBSan, for tests

CC       ?= cc
CSTD      = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE
WARN      = -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wno-unused-parameter
INCLUDES  = -I. -Icore -Isim
VERSION  := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
DEFS      = -DSTREAMLAB_VERSION=\"$(VERSION)\"
# The shipped build: -O3 and link-time optimisation (the simulator is many small
# functions across files on one hot path: LTO inlines across them; `make LTO=` turns
# it off).  Assertions stay on.  Archives of LTO objects need gcc-ar's plugin.
# GCC 12 at -O3 across translation units reports arena_alloc's memset into a
# freshly bumped arena pointer as writing into "a region of size 0" (a known false
# positive of -Wstringop-overflow with inlined allocators), so that one warning is
# off in this build; the -O0 and sanitizer builds keep it.
LTO      ?= -flto=auto -Wno-stringop-overflow
OPT_AR    = $(if $(LTO),gcc-ar,ar)
CFLAGS_O2 = $(CSTD) $(WARN) $(INCLUDES) $(DEFS) -O3 -g $(LTO)
CFLAGS_O0 = $(CSTD) $(WARN) $(INCLUDES) $(DEFS) -O0 -g
CFLAGS_SAN= $(CSTD) $(WARN) $(INCLUDES) $(DEFS) -O1 -g -fsanitize=address,undefined \
            -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LIBS      = -lsqlite3 -lcjson -lm -pthread
TEST_LIBS = $(LIBS) -lcriterion

CORE_SRC := $(sort $(wildcard core/*.c))
SIM_SRC  := $(sort $(filter-out sim/main.c,$(wildcard sim/*.c)))
TEST_SRC := $(sort $(wildcard tests/test_*.c))
BENCH_SRC:= $(sort $(wildcard bench/bench_*.c))

obj_of = $(patsubst %.c,build/$(1)/%.o,$(2))

.SECONDARY:
.PHONY: all demo test test-unit test-system check-long bench format format-check deps clean help

all: build/streamlab

help:
	@echo "make demo        install packages, build, run the lab, write build/lab.db"
	@echo "make test        every test (unit tests under ASan+UBSan, system tests)"
	@echo "make check-long  long seed sweeps"
	@echo "make bench       benchmarks (figures go to bench/RESULTS.md)"

deps:
	@tools/install-deps.sh

demo: deps
	@$(MAKE) --no-print-directory all
	@tools/demo.sh

# ---- objects ---------------------------------------------------------------
# The optimised objects are rebuilt when their flags change (e.g. LTO= or a new -O).
build/obj/.flags: FORCE
	@mkdir -p $(dir $@)
	@echo '$(CFLAGS_O2)' | cmp -s - $@ || echo '$(CFLAGS_O2)' > $@
.PHONY: FORCE
build/obj/%.o: %.c build/obj/.flags
	@mkdir -p $(dir $@)
	@echo "  CC $(notdir $(@D))/$(notdir $<)"
	@$(CC) $(CFLAGS_O2) -MMD -MP -c $< -o $@
build/obj-O0/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC $(notdir $(@D))/$(notdir $<)"
	@$(CC) $(CFLAGS_O0) -MMD -MP -c $< -o $@
build/asan/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC $(notdir $(@D))/$(notdir $<)"
	@$(CC) $(CFLAGS_SAN) -MMD -MP -c $< -o $@

-include $(shell find build -name '*.d' 2>/dev/null)

# ---- libraries and binaries --------------------------------------------------
define flavour
build/$(1)/libcore.a: $(call obj_of,$(1),$(CORE_SRC))
	@rm -f $$@; $(3) rcs $$@ $$^
build/$(1)/libsim.a: $(call obj_of,$(1),$(SIM_SRC))
	@rm -f $$@; $(3) rcs $$@ $$^
build/$(1)/streamlab: build/$(1)/sim/main.o build/$(1)/libsim.a build/$(1)/libcore.a
	@echo "  LD $$@"
	@$(CC) $(2) $$^ -o $$@ $(LIBS)
endef
$(eval $(call flavour,obj,$(CFLAGS_O2),$(OPT_AR)))
$(eval $(call flavour,obj-O0,$(CFLAGS_O0),ar))
$(eval $(call flavour,asan,$(CFLAGS_SAN),ar))

build/streamlab: build/obj/streamlab
	@cp $< $@.tmp && mv -f $@.tmp $@
build/streamlab-O0: build/obj-O0/streamlab
	@cp $< $@.tmp && mv -f $@.tmp $@

# ---- tests -------------------------------------------------------------------
TEST_BINS := $(patsubst tests/%.c,build/tests/%,$(TEST_SRC))
build/tests/%: build/asan/tests/%.o build/asan/libsim.a build/asan/libcore.a
	@mkdir -p $(dir $@)
	@echo "  LD $@"
	@$(CC) $(CFLAGS_SAN) $^ -o $@ $(TEST_LIBS)

test-unit: $(TEST_BINS)
	@tools/run-unit-tests.sh $(TEST_BINS)

test-system: build/streamlab build/streamlab-O0 build/asan/streamlab
	@tests/system/run.sh

test: format-check
	@$(MAKE) --no-print-directory test-unit
	@$(MAKE) --no-print-directory test-system

check-long: build/streamlab
	@tests/system/check-long.sh

# ---- benchmarks --------------------------------------------------------------
BENCH_BINS := $(patsubst bench/%.c,build/bench/%,$(BENCH_SRC))
build/bench/%: build/obj/bench/%.o build/obj/libsim.a build/obj/libcore.a
	@mkdir -p $(dir $@)
	@echo "  LD $@"
	@$(CC) $(CFLAGS_O2) $^ -o $@ $(LIBS)

bench: build/streamlab $(BENCH_BINS)
	@bench/run.sh $(BENCH_ARGS)

# ---- housekeeping ------------------------------------------------------------
FORMAT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null | grep -v '\.gen\.')
format:
	clang-format -i $(FORMAT_FILES)
format-check:
	@if command -v clang-format >/dev/null; then \
	  clang-format --dry-run -Werror $(FORMAT_FILES) || \
	  { echo "format-check: run 'make format'"; exit 1; }; \
	else echo "format-check: clang-format not installed, skipped"; fi

clean:
	rm -rf build

# ---- viewer (viz/) ----
# build/streamlab-viz: the SDL2 classroom viewer (issue 5).  Its objects need the SDL
# include flags, so they have their own rules; viz/main.c is the program, the rest is
# also linked into the viewer's unit test.
VIZ_CFLAGS := $(shell pkg-config --cflags sdl2 SDL2_ttf SDL2_image) -Iviz
VIZ_LIBS   := $(shell pkg-config --libs sdl2 SDL2_ttf SDL2_image)
VIZ_SRC    := $(sort $(filter-out viz/main.c,$(wildcard viz/*.c)))
VIZ_OBJ    := $(patsubst %.c,build/obj/%.o,$(VIZ_SRC))
VIZ_OBJ_SAN:= $(patsubst %.c,build/asan/%.o,$(VIZ_SRC))

all: build/streamlab-viz

build/obj/viz/%.o: viz/%.c
	@mkdir -p $(dir $@)
	@echo "  CC viz/$(notdir $<)"
	@$(CC) $(CFLAGS_O2) $(VIZ_CFLAGS) -MMD -MP -c $< -o $@
build/asan/viz/%.o: viz/%.c
	@mkdir -p $(dir $@)
	@echo "  CC viz/$(notdir $<) (asan)"
	@$(CC) $(CFLAGS_SAN) $(VIZ_CFLAGS) -MMD -MP -c $< -o $@
build/asan/tests/test_viz%.o: tests/test_viz%.c
	@mkdir -p $(dir $@)
	@echo "  CC tests/$(notdir $<)"
	@$(CC) $(CFLAGS_SAN) $(VIZ_CFLAGS) -MMD -MP -c $< -o $@

build/streamlab-viz: build/obj/viz/main.o $(VIZ_OBJ) build/obj/libsim.a build/obj/libcore.a
	@echo "  LD $@"
	@$(CC) $(CFLAGS_O2) $^ -o $@ $(LIBS) $(VIZ_LIBS)

build/tests/test_viz%: build/asan/tests/test_viz%.o $(VIZ_OBJ_SAN) build/asan/libsim.a build/asan/libcore.a
	@mkdir -p $(dir $@)
	@echo "  LD $@"
	@$(CC) $(CFLAGS_SAN) $^ -o $@ $(TEST_LIBS) $(VIZ_LIBS)

test-viz: build/streamlab build/streamlab-viz
	@tests/system/viz.sh
test: test-viz
.PHONY: test-viz
# ---- end viewer ----
test: test-museum
test-museum: build/streamlab
	@tests/system/museum.sh

# ---- real mode (real/, issue 6) ----------------------------------------------
# build/streamlab-broker: one broker of the core on real sockets (libuv).  real/*.c
# except main.c is libreal, also linked into the tests/test_real_*.c unit tests.
REAL_LIBS  := $(shell pkg-config --libs libuv 2>/dev/null || echo -luv)
REAL_SRC   := $(sort $(filter-out real/main.c,$(wildcard real/*.c)))
REAL_OBJ   := $(patsubst %.c,build/obj/%.o,$(REAL_SRC))
REAL_OBJ_SAN := $(patsubst %.c,build/asan/%.o,$(REAL_SRC))

all: build/streamlab-broker

build/streamlab-broker: build/obj/real/main.o $(REAL_OBJ) build/obj/libcore.a
	@echo "  LD $@"
	@$(CC) $(CFLAGS_O2) $^ -o $@ $(REAL_LIBS)
build/asan/streamlab-broker: build/asan/real/main.o $(REAL_OBJ_SAN) build/asan/libcore.a
	@echo "  LD $@"
	@$(CC) $(CFLAGS_SAN) $^ -o $@ $(REAL_LIBS)

build/asan/tests/test_real%.o: tests/test_real%.c
	@mkdir -p $(dir $@)
	@echo "  CC tests/$(notdir $<)"
	@$(CC) $(CFLAGS_SAN) -Ireal -Itests -MMD -MP -c $< -o $@
build/tests/test_real%: build/asan/tests/test_real%.o $(REAL_OBJ_SAN) build/asan/libsim.a build/asan/libcore.a
	@mkdir -p $(dir $@)
	@echo "  LD $@"
	@$(CC) $(CFLAGS_SAN) $^ -o $@ $(TEST_LIBS) $(REAL_LIBS)

# build/streamlab-lab: the seed lab's clients on librdkafka (real/lab/).
LAB_LIBS := $(shell pkg-config --libs rdkafka 2>/dev/null || echo -lrdkafka) -lpthread
all: build/streamlab-lab
build/streamlab-lab: build/obj/real/lab/lab.o
	@echo "  LD $@"
	@$(CC) $(CFLAGS_O2) $^ -o $@ $(LAB_LIBS)

# Real-mode benchmarks (bench/real.sh; figures in bench/RESULTS.md).
build/bench/rdkafka_bench: build/obj/bench/real/rdkafka_bench.o
	@mkdir -p $(dir $@)
	@echo "  LD $@"
	@$(CC) $(CFLAGS_O2) $^ -o $@ $(LAB_LIBS)
.PHONY: bench-real
bench-real: build/streamlab-broker build/bench/rdkafka_bench
	@bench/real.sh

.PHONY: cluster test-real
# Three brokers on loopback; the last line of output is "bootstrap: ...".
cluster: build/streamlab-broker
	@real/cluster.sh start
test-real: build/streamlab-broker build/asan/streamlab-broker build/streamlab-lab
	@tests/system/real.sh
test: test-real
# ---- end real mode ----

# ---- fuzzing (issue 6) ----------------------------------------------------------
# build/fuzz/fuzz_request: libFuzzer over the broker's request path (framing, headers,
# decoders, handlers).  `make fuzz` runs it for FUZZ_SECONDS on a scratch corpus seeded
# from tests/fuzz/corpus; tests/system/real.sh runs it for 10 s.
FUZZ_CC     ?= clang
FUZZ_SECONDS ?= 300
FUZZ_CFLAGS  = $(CSTD) $(WARN) $(INCLUDES) -Itests $(DEFS) -O1 -g -fno-omit-frame-pointer \
               -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
FUZZ_OBJ    := $(patsubst %.c,build/fuzz/obj/%.o,$(CORE_SRC) sim/mem_storage.c tests/fuzz/fuzz_request.c)

build/fuzz/obj/%.o: %.c
	@mkdir -p $(dir $@)
	@echo "  CC $< (fuzz)"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@
build/fuzz/fuzz_request: $(FUZZ_OBJ)
	@echo "  LD $@"
	@$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $^ -o $@

.PHONY: fuzz
fuzz: build/fuzz/fuzz_request
	@mkdir -p build/fuzz/corpus
	build/fuzz/fuzz_request -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 \
	    build/fuzz/corpus tests/fuzz/corpus
test-real: build/fuzz/fuzz_request
# ---- end fuzzing ----

# ---- deploy (docker/, terraform/, .github/; issue 7) ----
# test-deploy: offline checks of the compose stack, haproxy/prometheus/grafana configs,
# terraform/ and the workflows (tests/system/deploy.sh).  lab-real: the compose topology
# on this machine, rendered into docker/local/ by docker/render.py.
.PHONY: test-deploy render-deploy lab-real lab-real-stop
test: test-deploy
test-deploy: build/streamlab-broker build/streamlab-lab
	@tests/system/deploy.sh
render-deploy:
	@docker/render.py
lab-real: build/streamlab-broker build/streamlab-lab
	@tools/lab-real.sh start
lab-real-stop:
	@tools/lab-real.sh stop
# ---- end deploy ----
