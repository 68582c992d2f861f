# The two commands of the README. Both install what is missing, then build.
BUILD ?= build
JOBS  ?= $(shell nproc)
export CCACHE_DIR ?= $(HOME)/.cache/ccache
# Precompiled headers and ccache agree only with these sloppiness settings.
export CCACHE_SLOPPINESS = pch_defines,time_macros,include_file_mtime,include_file_ctime

.PHONY: run test deps build clean bench

run: build
	./$(BUILD)/elab quickstart

test: build
	cd $(BUILD) && ctest --output-on-failure -j$(JOBS) --timeout 900

deps:
	./scripts/install-deps.sh
	./scripts/install-python.sh

build: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD) -j$(JOBS)

bench: build
	./$(BUILD)/elab bench train --preset l

clean:
	rm -rf $(BUILD)
