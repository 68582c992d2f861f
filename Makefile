# The two commands of the README, and the inner loop. Each installs what it is missing.
#   make run    Debian packages the build needs, the `elab` binary, the quickstart
#   make test   also the Python reference stack (.venv); every test binary; the whole
#               suite on libtorch 1.13, then the engine's tests on libtorch 2.x
#   make check  the suite without its slow end-to-end runs, on the default build only
BUILD ?= build
# The second build of `make test`: against the libtorch 2.x (CUDA) inside .venv's torch
# wheel, so the 2.x code paths (fused attention, c10d backends, the CUDA link) are
# compiled and tested too. Its tests run on the CPU.
TORCH2_BUILD ?= build-torch2
JOBS  ?= $(shell nproc)
export CCACHE_DIR ?= $(HOME)/.cache/ccache
# Precompiled headers and ccache agree only with these sloppiness settings.
export CCACHE_SLOPPINESS = pch_defines,time_macros,include_file_mtime,include_file_ctime

.PHONY: run test check test-torch2 deps deps-run deps-python configure build build-elab clean bench

run: build-elab
	./$(BUILD)/elab quickstart

test: build deps-python
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 900
	$(MAKE) test-torch2

check: build deps-python
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 900 -LE slow

test-torch2: deps-python
	./scripts/build-torch2.sh $(TORCH2_BUILD) $(JOBS)
	cd $(TORCH2_BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 900

# Debian packages: `deps-run` those the build needs; `deps` adds the test-only ones
# (Chromium, python3-venv) and the Python reference stack.
deps-run:
	./scripts/install-deps.sh run

deps: deps-python

deps-python:
	./scripts/install-deps.sh all
	./scripts/install-python.sh

configure: deps-run
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release

build-elab: configure
	cmake --build $(BUILD) -j$(JOBS) --target elab

build: configure
	cmake --build $(BUILD) -j$(JOBS)

bench: build-elab
	./$(BUILD)/elab bench train --preset l

clean:
	rm -rf $(BUILD) $(TORCH2_BUILD)
