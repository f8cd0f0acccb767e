# Runwatch: the one entry point. `make run` and `make test` are the two commands a
# new user types; everything else is for developers. Builds are out of tree, one
# directory per flavour (build/release, build/asan), with -MMD header dependencies.

SHELL := /bin/bash
.DEFAULT_GOAL := build

FLAVOUR ?= release
ifeq ($(filter $(FLAVOUR),release asan),)
$(error FLAVOUR must be release or asan, got "$(FLAVOUR)")
endif

BUILD   := build/$(FLAVOUR)
CC      ?= cc
PKGS    := json-c libpq hiredis libevent libcurl zlib
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
CFLAGS_BASE := -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
               -Wformat=2 -Wvla -g -Ifcgi/src -I$(BUILD)/gen $(PKG_CFLAGS)
ifeq ($(FLAVOUR),asan)
CFLAGS_FLAVOUR := -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
LDFLAGS_FLAVOUR := -fsanitize=address,undefined
else
CFLAGS_FLAVOUR := -O2 -D_FORTIFY_SOURCE=2 -fstack-protector-strong
LDFLAGS_FLAVOUR :=
endif
CFLAGS  := $(CFLAGS_BASE) $(CFLAGS_FLAVOUR) $(EXTRA_CFLAGS)
LDFLAGS := $(LDFLAGS_FLAVOUR) $(EXTRA_LDFLAGS)

# Modules both daemons share (sentinel.c: both find the Redis primary through Sentinel).
COMMON_SRC := fcgi/src/log.c fcgi/src/config.c fcgi/src/arena.c fcgi/src/jsonx.c fcgi/src/sentinel.c
# runwatch-api: every other file under fcgi/src and fcgi/src/api.
API_SRC    := $(filter-out $(COMMON_SRC),$(wildcard fcgi/src/*.c)) $(wildcard fcgi/src/api/*.c)
API_LIB_SRC := $(filter-out fcgi/src/main.c,$(API_SRC))
SSE_SRC    := $(wildcard fcgi/src/sse/*.c)
SSE_LIB_SRC := $(filter-out fcgi/src/sse/main.c,$(SSE_SRC))
# runwatch-celery, the Celery bridge (fcgi/src/celery): its envelope decoder is fuzzed alone.
CELERY_SRC := $(wildcard fcgi/src/celery/*.c)
UNIT_SRC   := $(wildcard tests/unit/*.c)
ITEST_SRC  := $(wildcard tests/integration/*.c)
FLEET_SRC  := $(wildcard tools/fleet/*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

# The statement table (db_stmt.h, db_stmt.c) is generated from sql/statements by
# tools/sqlgen into $(GEN), before anything is compiled (docs/SQL.md). The generator
# rewrites a file only when its text changes, so the stamp says when it last ran.
GEN       := $(BUILD)/gen
SQLGEN    := $(BUILD)/sqlgen
SQL_STMTS := $(sort $(wildcard sql/statements/*.sql))
GEN_OBJ   := $(BUILD)/obj/gen/db_stmt.o

API_LIBS  := -lfcgi $(shell pkg-config --libs json-c libpq hiredis zlib 2>/dev/null) -lcrypt -lm
SSE_LIBS  := $(shell pkg-config --libs json-c hiredis libevent 2>/dev/null)
UNIT_LIBS := -lcunit $(API_LIBS) $(shell pkg-config --libs libevent 2>/dev/null)
ITEST_LIBS := -lcunit $(shell pkg-config --libs libcurl json-c zlib 2>/dev/null)
FLEET_LIBS := $(shell pkg-config --libs libcurl json-c 2>/dev/null) -pthread -lm

BINS := $(BUILD)/runwatch-api $(BUILD)/runwatch-sse $(BUILD)/unit-tests $(BUILD)/integration-tests \
        $(BUILD)/runwatch-fleet $(BUILD)/sse-load $(BUILD)/stmt-cost $(BUILD)/redact-cost \
        $(BUILD)/otlp-cost $(BUILD)/batch-cost $(BUILD)/copy-cost $(BUILD)/runwatch-celery

.PHONY: build binaries deps run-deps run stop demo test unit integration faults asan bench fmt lint clean \
        frontend frontend-test e2e fuzz fuzz-build deploy-check scale-test
# deps first, then a fresh make: pkg-config must see libraries installed moments ago.
build: deps
	@$(MAKE) --no-print-directory binaries frontend

binaries: $(BINS)

$(SQLGEN): tools/sqlgen/sqlgen.c
	@mkdir -p $(dir $@)
	$(CC) -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow -Wvla -O1 -g -o $@ $<

$(GEN)/.stamp: $(SQL_STMTS) $(SQLGEN)
	@mkdir -p $(GEN)
	$(SQLGEN) -o $(GEN) $(SQL_STMTS)
	@touch $@

$(GEN)/db_stmt.h $(GEN)/db_stmt.c: $(GEN)/.stamp ;

$(GEN_OBJ): $(GEN)/db_stmt.c $(GEN)/db_stmt.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# Order-only: a first build generates the table before compiling; afterwards the -MMD
# dependencies name the generated header.
$(BUILD)/obj/%.o: %.c | $(GEN)/.stamp
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/runwatch-api: $(call obj,$(API_SRC) $(COMMON_SRC)) $(GEN_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(API_LIBS)

$(BUILD)/runwatch-sse: $(call obj,$(SSE_SRC) $(COMMON_SRC))
	$(CC) $(LDFLAGS) -o $@ $^ $(SSE_LIBS)

$(BUILD)/runwatch-celery: $(call obj,$(CELERY_SRC) fcgi/src/log.c)
	$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs json-c hiredis libcurl openssl 2>/dev/null) -pthread -lm

# The unit tests link the API and the hub (each without its main).
$(BUILD)/unit-tests: $(call obj,$(UNIT_SRC) $(API_LIB_SRC) $(SSE_LIB_SRC) $(COMMON_SRC)) $(GEN_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(UNIT_LIBS)

# sha256.c: the auth suite computes a secret's digest as the API sends it.
$(BUILD)/integration-tests: $(call obj,$(ITEST_SRC) fcgi/src/sha256.c)
	$(CC) $(LDFLAGS) -o $@ $^ $(ITEST_LIBS)

# The fleet simulator (make demo, tests/integration/fleet.sh, tests/bench/fleet.sh).
$(BUILD)/runwatch-fleet: $(call obj,$(FLEET_SRC))
	$(CC) $(LDFLAGS) -o $@ $^ $(FLEET_LIBS)

# The live stream's load client (tests/bench/stream.sh): publishes through pub.c, the same
# script runwatch-api runs.
$(BUILD)/sse-load: $(call obj,tests/bench/sse_load.c fcgi/src/pub.c $(COMMON_SRC))
	$(CC) $(LDFLAGS) -o $@ $^ $(SSE_LIBS)

# A prepared statement's cost to PostgreSQL, case against case (docs/PERFORMANCE.md).
$(BUILD)/stmt-cost: $(call obj,tests/bench/stmt_cost.c)
	$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs libpq 2>/dev/null)

# What redaction costs a 1000-event batch (docs/PERFORMANCE.md, "Redaction").
$(BUILD)/redact-cost: $(call obj,tests/bench/redact_cost.c fcgi/src/jsonx.c fcgi/src/arena.c)
	$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs json-c 2>/dev/null) -lm

# What decoding an OTLP trace request costs per span, protobuf against JSON (docs/PERFORMANCE.md).
$(BUILD)/otlp-cost: $(call obj,tests/bench/otlp_cost.c fcgi/src/otlp_pb.c fcgi/src/inflate.c fcgi/src/jsonx.c fcgi/src/arena.c)
	$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs json-c zlib 2>/dev/null) -lm

# What the JSON layer costs the API for a 1000-event batch (docs/PERFORMANCE.md).
$(BUILD)/batch-cost: $(call obj,tests/bench/batch_cost.c fcgi/src/jsonx.c fcgi/src/arena.c)
	$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs json-c 2>/dev/null) -lm

# A 1000-event batch by INSERT … SELECT against COPY, in PostgreSQL and here (docs/PERFORMANCE.md).
$(BUILD)/copy-cost: $(call obj,tests/bench/copy_cost.c fcgi/src/jsonx.c fcgi/src/arena.c) $(GEN_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(shell pkg-config --libs json-c libpq 2>/dev/null) -lm

-include $(shell find $(BUILD)/obj -name '*.d' 2>/dev/null)

# ---- the dashboard (frontend/): npm ci when node_modules is missing or the lock file
# changed (the stamp is inside node_modules, so deleting it re-installs), then vite build
# into frontend/dist, which nginx serves at /.
FRONTEND_STAMP := frontend/node_modules/.runwatch-npm-ci
FRONTEND_SRC := $(shell find frontend/src -type f 2>/dev/null) frontend/index.html \
                frontend/vite.config.ts frontend/tsconfig.json frontend/package.json

$(FRONTEND_STAMP): frontend/package-lock.json frontend/package.json
	cd frontend && npm ci --no-audit --no-fund
	@touch $@

frontend/dist/index.html: $(FRONTEND_STAMP) $(FRONTEND_SRC)
	cd frontend && npm run -s build
	@touch $@

frontend: frontend/dist/index.html

# Types (strict), generated API types up to date with openapi/openapi.json, Vitest
# component tests, and the initial-JS budget (docs/PERFORMANCE.md).
frontend-test: frontend
	cd frontend && npm run -s typecheck && npm run -s check:api && npm run -s test && npm run -s size

# Browser end-to-end tests: playwright-core + /usr/bin/chromium against a private stack.
e2e: build
	RUNWATCH_BIN_DIR=$(BUILD) tests/e2e/run.sh

# Installs only what is missing; quick when everything is present. Running needs less
# than testing: deploy/install-deps.sh has a profile each (run, demo, lint, test).
deps:
	@deploy/install-deps.sh test

run-deps:
	@deploy/install-deps.sh run

# Only what running needs: the two daemons and the dashboard (make test builds the rest).
# Then a fresh make, as for build: pkg-config must see libraries installed moments ago.
run: run-deps
	@$(MAKE) --no-print-directory $(BUILD)/runwatch-api $(BUILD)/runwatch-sse frontend
	@deploy/stack.sh run

# Stops the stack of `make run`, on the ports it was started with (var/stack.env).
stop:
	@deploy/stack.sh stop

# A simulated fleet reporting to the stack of `make run` (run it in another terminal):
# a project "demo" and its token are made on first use. Options: make demo ARGS='--workers 8'.
# --launcher: the fleet also launches and stops the demo's experiments (tools/fleet/launcher.c).
demo:
	@deploy/install-deps.sh demo
	@$(MAKE) --no-print-directory $(BUILD)/runwatch-api $(BUILD)/runwatch-fleet
	@deploy/stack.sh demo --launcher $(ARGS)

unit: build
	$(BUILD)/unit-tests

integration: build
	RUNWATCH_BIN_DIR=$(BUILD) tests/integration/run.sh $(BUILD)/integration-tests

# A private stack whose processes are killed in turn under a writer and a live stream
# (tests/faults/run.sh): nothing acknowledged is lost, the stream resumes.
faults: build
	RUNWATCH_BIN_DIR=$(BUILD) tests/faults/run.sh

# The scale-out rehearsal on one machine (tests/scale/run.sh): two API pools (one over
# TCP) and two hubs behind one nginx, a PostgreSQL streaming replica serving ad-hoc SQL,
# Redis with a replica and three Sentinels; one pool, one hub, the Redis primary and the
# replica fail in turn under live traffic. About two minutes; part of make test.
scale-test: build
	RUNWATCH_BIN_DIR=$(BUILD) tests/scale/run.sh

# The production deployment files (deploy/systemd, deploy/container, deploy/k8s), checked
# offline against the template and settings the stack uses (tests/deploy/run.sh).
deploy-check: binaries
	RUNWATCH_BIN_DIR=$(BUILD) tests/deploy/run.sh

# Every suite runs even when one fails (CI must see them all); the target fails at the
# end, naming the suites that failed and repeating their failure lines (CUnit's FAILED
# tests and the assertions below them, the shell tests' "not ok" and FAIL lines, the
# sanitizers' reports), since a CI log is often read from its tail. Each suite's whole
# output is kept in $(BUILD)/test-logs/<suite>.log.
TEST_LOGS := $(BUILD)/test-logs
test: build
	@failed=; rm -rf $(TEST_LOGS); mkdir -p $(TEST_LOGS); \
	suite() { name=$$1; shift; echo "== $$name ($(FLAVOUR))"; \
	    "$$@" 2>&1 | tee $(TEST_LOGS)/$$name.log; \
	    [ "$${PIPESTATUS[0]}" = 0 ] || failed="$$failed $$name"; }; \
	suite unit $(BUILD)/unit-tests; \
	suite integration env RUNWATCH_SUITES= RUNWATCH_BIN_DIR=$(BUILD) \
	    tests/integration/run.sh $(BUILD)/integration-tests; \
	suite faults env RUNWATCH_BIN_DIR=$(BUILD) tests/faults/run.sh; \
	suite fuzz-short $(MAKE) --no-print-directory fuzz FUZZ_TARGETS="$(FUZZ_SHORT_TARGETS)" \
	    FUZZ_RUNS=$(FUZZ_SHORT_RUNS); \
	suite hub-smoke tests/integration/sse_smoke.sh $(BUILD)/runwatch-sse; \
	suite deploy env RUNWATCH_BIN_DIR=$(BUILD) tests/deploy/run.sh; \
	suite scale env RUNWATCH_BIN_DIR=$(BUILD) tests/scale/run.sh; \
	suite dashboard $(MAKE) --no-print-directory frontend-test; \
	suite e2e env RUNWATCH_BIN_DIR=$(BUILD) tests/e2e/run.sh; \
	suite python env RUNWATCH_BIN_DIR=$(BUILD) tests/python/run.sh; \
	suite celery env RUNWATCH_BIN_DIR=$(BUILD) tests/celery/run.sh; \
	if [ -n "$$failed" ]; then \
	    for name in $$failed; do \
	        echo "== $$name failed; its failure lines ($(TEST_LOGS)/$$name.log):"; \
	        grep -E -A3 'FAILED|^not ok|^[a-z._ -]+: failed:|FAIL |ERROR: *(Address|Leak|Undefined)Sanitizer|runtime error:' \
	            $(TEST_LOGS)/$$name.log | head -24; \
	    done; \
	    echo "== failed:$$failed"; exit 1; \
	fi; \
	echo "== every suite passed ($(FLAVOUR))"

asan:
	$(MAKE) FLAVOUR=asan test

# Private stacks in turn: the request path against nginx's ceiling, the producer API
# (events, batches, claims, the run list at 1M runs), the fleet simulator as a load
# generator, the live stream (idle streams' memory, fan-out latency), the built-in
# reports at 1M runs and 10M events, then the dashboard's runs page scrolling 10,000
# rows in Chromium, the first paint of a 5,000-span trace, of a 5,000-run graph (and the
# graph statements' cost) and of the compare view (50 runs × 10,000 points), the Python
# client's cost a `run.log` call and metric points a second from one process,
# agent-lightning's client loop at 1,000 rollouts in flight (tests/bench/agl.sh), artifact
# uploads and streamed downloads of 16 MiB (tests/bench/artifacts.sh), the launchers'
# reconcile poll with 1,000 experiments (tests/bench/experiments.sh), and the Celery bridge
# under 1,000 simulated workers and 5,000 task events/s (tests/bench/celery.sh). Figures with their
# commands go to docs/PERFORMANCE.md.
bench: build
	RUNWATCH_BIN_DIR=$(BUILD) tests/bench/baseline.sh
	RUNWATCH_BIN_DIR=$(BUILD) tests/bench/api.sh
	RUNWATCH_BIN_DIR=$(BUILD) tests/bench/producer.sh
	RUNWATCH_BIN_DIR=$(BUILD) tests/bench/fleet.sh
	RUNWATCH_BIN_DIR=$(BUILD) tests/bench/stream.sh
	RUNWATCH_BIN_DIR=$(BUILD) tests/bench/livelog.sh
	RUNWATCH_BIN_DIR=$(BUILD) tests/bench/reports.sh
	RUNWATCH_BIN_DIR=$(BUILD) tests/bench/runs_scroll.sh
	RUNWATCH_BIN_DIR=$(BUILD) tests/bench/runs_list.sh
	RUNWATCH_BIN_DIR=$(BUILD) tests/bench/trace_paint.sh
	RUNWATCH_BIN_DIR=$(BUILD) tests/bench/graph_paint.sh
	RUNWATCH_BIN_DIR=$(BUILD) tests/bench/graph_cost.sh
	RUNWATCH_BIN_DIR=$(BUILD) tests/bench/compare_paint.sh
	RUNWATCH_BIN_DIR=$(BUILD) tests/python/run.sh bench
	RUNWATCH_BIN_DIR=$(BUILD) tests/bench/agl.sh
	RUNWATCH_BIN_DIR=$(BUILD) tests/bench/artifacts.sh
	RUNWATCH_BIN_DIR=$(BUILD) tests/bench/experiments.sh
	RUNWATCH_BIN_DIR=$(BUILD) tests/bench/celery.sh

# ---- fuzzing (tests/fuzz/README.md): libFuzzer targets for the parsers that read outside
# input, built with clang, ASan and UBSan into build/fuzz from their own objects (every
# source instrumented), then each run a fixed number of times from a fixed seed over its
# seed corpus (tests/fuzz/corpus/<target>; new inputs go to build/fuzz/corpus, never into
# the tree). `make test` runs FUZZ_SHORT_TARGETS (the OTLP decoder, the inflater, the
# flag schema inference and jsonx_read against jsonx_parse, which build from their own few modules) FUZZ_SHORT_RUNS times each; the others stay out of it:
# the instrumented build of the whole API is minutes on a busy box. FUZZ_RUNS=0 runs until
# a crash; FUZZ_TARGETS=json runs one.
FUZZ_CC      ?= clang
FUZZ_DIR     := build/fuzz
FUZZ_RUNS    ?= 20000
FUZZ_SEED    ?= 1
FUZZ_TARGETS ?= json jsonread request sse otlp inflate flagschema celery
# The short run of `make test`: the targets that build from a few modules, a fixed count.
FUZZ_SHORT_TARGETS ?= otlp inflate flagschema celery jsonread
FUZZ_SHORT_RUNS    ?= 20000
FUZZ_CFLAGS  := -std=c17 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -Wall -Wextra -Werror \
                -Wno-unused-function -fsanitize=fuzzer-no-link,address,undefined \
                -fno-sanitize-recover=all -Ifcgi/src -I$(GEN) $(PKG_CFLAGS)
# The hub's http.c is compiled into fuzz_sse.c (its parser of ids is static).
FUZZ_LIB_SRC := $(API_LIB_SRC) $(filter-out fcgi/src/sse/http.c,$(SSE_LIB_SRC)) $(COMMON_SRC)
FUZZ_LIB_OBJ := $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(FUZZ_LIB_SRC)) $(FUZZ_DIR)/obj/gen/db_stmt.o
FUZZ_LIBS    := $(API_LIBS) $(shell pkg-config --libs libevent 2>/dev/null)

$(FUZZ_DIR)/obj/gen/db_stmt.o: $(GEN)/db_stmt.c $(GEN)/db_stmt.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_DIR)/obj/%.o: %.c | $(GEN)/.stamp
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c $< -o $@

$(FUZZ_DIR)/fuzz-%: $(FUZZ_DIR)/obj/tests/fuzz/fuzz_%.o $(FUZZ_LIB_OBJ)
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(FUZZ_LIBS)

# The OTLP decoder, the inflater and the flag schema need only their own modules: built in seconds, which
# is what lets `make test` run them (FUZZ_SHORT_TARGETS below).
FUZZ_OTLP_OBJ := $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,fcgi/src/otlp_pb.c fcgi/src/jsonx.c fcgi/src/arena.c)
FUZZ_INFLATE_OBJ := $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,fcgi/src/inflate.c fcgi/src/jsonx.c fcgi/src/arena.c)
FUZZ_FLAGSCHEMA_OBJ := $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,fcgi/src/flagschema.c fcgi/src/jsonx.c fcgi/src/arena.c)
FUZZ_JSONREAD_OBJ := $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,fcgi/src/jsonx.c fcgi/src/arena.c)
FUZZ_SMALL_LIBS := $(shell pkg-config --libs json-c zlib 2>/dev/null) -lm

$(FUZZ_DIR)/fuzz-otlp: $(FUZZ_DIR)/obj/tests/fuzz/fuzz_otlp.o $(FUZZ_OTLP_OBJ)
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(FUZZ_SMALL_LIBS)

$(FUZZ_DIR)/fuzz-inflate: $(FUZZ_DIR)/obj/tests/fuzz/fuzz_inflate.o $(FUZZ_INFLATE_OBJ)
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(FUZZ_SMALL_LIBS)

$(FUZZ_DIR)/fuzz-flagschema: $(FUZZ_DIR)/obj/tests/fuzz/fuzz_flagschema.o $(FUZZ_FLAGSCHEMA_OBJ)
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(FUZZ_SMALL_LIBS)

$(FUZZ_DIR)/fuzz-jsonread: $(FUZZ_DIR)/obj/tests/fuzz/fuzz_jsonread.o $(FUZZ_JSONREAD_OBJ)
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(FUZZ_SMALL_LIBS)

# runwatch-celery's envelope decoder, from its own module.
FUZZ_CELERY_OBJ := $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,fcgi/src/celery/envelope.c)

$(FUZZ_DIR)/fuzz-celery: $(FUZZ_DIR)/obj/tests/fuzz/fuzz_celery.o $(FUZZ_CELERY_OBJ)
	$(FUZZ_CC) -fsanitize=fuzzer,address,undefined -o $@ $^ $(FUZZ_SMALL_LIBS)

# Kept between runs (they are made by a chain of pattern rules).
.SECONDARY: $(FUZZ_LIB_OBJ) $(FUZZ_OTLP_OBJ) $(FUZZ_INFLATE_OBJ) $(FUZZ_FLAGSCHEMA_OBJ) $(FUZZ_JSONREAD_OBJ) $(FUZZ_CELERY_OBJ) \
            $(patsubst %,$(FUZZ_DIR)/obj/tests/fuzz/fuzz_%.o,$(FUZZ_TARGETS))

-include $(shell find $(FUZZ_DIR)/obj -name '*.d' 2>/dev/null)

fuzz-build: $(patsubst %,$(FUZZ_DIR)/fuzz-%,$(FUZZ_TARGETS))

fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
	    echo "== fuzz $$t ($(FUZZ_RUNS) runs, seed $(FUZZ_SEED))"; \
	    mkdir -p $(FUZZ_DIR)/corpus/$$t $(FUZZ_DIR)/crashes; \
	    $(FUZZ_DIR)/fuzz-$$t -seed=$(FUZZ_SEED) -runs=$(FUZZ_RUNS) -max_len=8192 \
	        -artifact_prefix=$(FUZZ_DIR)/crashes/$$t- -print_final_stats=1 \
	        $(FUZZ_DIR)/corpus/$$t tests/fuzz/corpus/$$t || exit 1; \
	done

C_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null; git ls-files --others --exclude-standard '*.c' '*.h' 2>/dev/null)

fmt:
	clang-format -i $(C_FILES)

# Installs its own checkers: CI runs it first on a fresh clone.
lint:
	@deploy/install-deps.sh lint
	tests/lint.sh

clean:
	rm -rf build frontend/dist
