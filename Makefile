# vigil: the two set-up commands are `make demo` and `make check` (README.md).
BUILD ?= build

.PHONY: all deps build check demo bench chaos format clean fuzz

all: build

deps:
	sh scripts/install-deps.sh

$(BUILD)/build.ninja:
	meson setup $(BUILD)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

# Unit tests (cmocka) and integration tests (pytest, real namespaces, real agents), then
# both again under AddressSanitizer + UBSan, and the unit tests under valgrind.
check: deps
	bash scripts/check.sh

demo: build
	bash scripts/demo.sh

bench: build
	bash scripts/bench.sh

# libFuzzer harnesses (tests/fuzz, README "Fuzzing"), built with clang into their own build dir
# and run FUZZ_SECONDS each over their corpus; fails when any of them crashes.
FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 60

$(FUZZ_BUILD)/build.ninja:
	CC=clang meson setup $(FUZZ_BUILD) -Dfuzz=true -Db_lundef=false

fuzz: deps $(FUZZ_BUILD)/build.ninja
	nice ninja -C $(FUZZ_BUILD) fuzz_repmsg fuzz_state fuzz_config fuzz_member
	bash tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS)

format:
	clang-format -i src/*/*.c src/*/*.h tests/unit/*.c tests/unit/*.h bench/*.c tools/*.c
	clang-format -i tests/fuzz/*.c tests/fuzz/*.h

clean:
	rm -rf $(BUILD) build-asan $(FUZZ_BUILD)

# A long seeded random fault campaign on three servers (tests/integration/chaos.py, root):
#   make chaos FAULTS=200 SEED=7 [KINDS=crash,partition,coordinator,vigild_kill,...]
# prints faults survived, time to heal per fault and split-brain samples (must be 0).
FAULTS ?= 50
SEED ?= 1
KINDS ?=
chaos: build
	VIGIL_BUILD=$(CURDIR)/$(BUILD) /usr/bin/python3 tests/integration/chaos.py \
		--faults $(FAULTS) --seed $(SEED) $(if $(KINDS),--kinds $(KINDS))
