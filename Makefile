# The two commands of the README. Both install what is missing, then build.
BUILD ?= build
# The second build of `make test`: against the libtorch 2.x (CUDA) inside .venv's torch
# wheel, so the 2.x code paths (fused attention, c10d backends, the CUDA link) are
# compiled and tested too. Its tests run on the CPU.
TORCH2_BUILD ?= build-torch2
JOBS  ?= $(shell nproc)
export CCACHE_DIR ?= $(HOME)/.cache/ccache
# Precompiled headers and ccache agree only with these sloppiness settings.
export CCACHE_SLOPPINESS = pch_defines,time_macros,include_file_mtime,include_file_ctime

.PHONY: run test test-torch2 deps build clean bench

run: build
	./$(BUILD)/elab quickstart

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 900
	$(MAKE) test-torch2

test-torch2: deps
	./scripts/build-torch2.sh $(TORCH2_BUILD) $(JOBS)
	cd $(TORCH2_BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 900

deps:
	./scripts/install-deps.sh
	./scripts/install-python.sh

build: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD) -j$(JOBS)

bench: build
	./$(BUILD)/elab bench train --preset l

clean:
	rm -rf $(BUILD) $(TORCH2_BUILD)
