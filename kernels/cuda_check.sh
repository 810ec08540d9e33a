#!/usr/bin/env bash
# Compile every kernels/cuda/*.cu with nvcc (no GPU, no linking) against the installed torch's headers and,
# when given, a second torch's headers: `make cuda-check` runs this.
#
#   PYTHON=.venv/bin/python                 the torch whose headers are used first (default .venv/bin/python)
#   TORCH_INCLUDE=/path/torch/include       use these headers instead of that torch's
#   TORCH_EXTRA_INCLUDE=/path/torch/include  also compile against these headers (e.g. torch 2.11's include/,
#                                            unpacked by `make cuda-check-211`); each path is one more pass
#   CUDA_ARCHS="90 80"                      architectures (default: 90 for H100/H200 and 80 for A100, where bf16
#                                            atomics and shuffles also exist; 75 would flag missing bf16 paths)
#   CUDA_ARCHS_EXTRA="90"                   architectures for the TORCH_EXTRA_INCLUDE passes
#   FILES="kernels/cuda/spmm.cu"            compile only these
# torch >= 2.10 headers need C++20 (older ones accept it too). -Werror on the host side keeps warnings out.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
NVCC=${NVCC:-$(command -v nvcc || echo /usr/local/bin/nvcc)}
STD=${CUDA_STD:--std=c++20}
ARCHS=${CUDA_ARCHS:-90 80}
FILES=${FILES:-$(ls kernels/cuda/*.cu)}
TORCH_DIR=$("$PY" -c "import torch,os;print(os.path.dirname(torch.__file__))")
PYINC=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
gencode() { local g=""; for a in $1; do g="$g -gencode arch=compute_$a,code=sm_$a"; done; echo "$g"; }

compile_against() {  # $1: a torch include/ directory, $2: architectures
  local inc=$1 extra="" GENCODE
  GENCODE=$(gencode "$2")
  # A CPU torch wheel ships c10/cuda headers without the cmake-generated config header; a CUDA torch has it.
  [ -f "$inc/c10/cuda/impl/cuda_cmake_macros.h" ] || extra="-DC10_CUDA_NO_CMAKE_CONFIGURE_FILE"
  local ver
  ver=$(sed -n 's/^#define TORCH_VERSION_\(MAJOR\|MINOR\|PATCH\) \([0-9]*\).*/\2/p' "$inc/torch/headeronly/version.h" 2>/dev/null | paste -sd. || true)
  echo "== torch ${ver:-?} headers ($inc), sm: $2"
  local f
  for f in $FILES; do  # in parallel, CUDA_CHECK_JOBS at a time (default: the number of CPUs)
    while [ "$(jobs -rp | wc -l)" -ge "${CUDA_CHECK_JOBS:-$(nproc)}" ]; do wait -n || true; done
    (
      if "$NVCC" $STD $GENCODE -O3 -lineinfo --expt-relaxed-constexpr -DGRAPHKIT_WITH_CUDA=1 $extra \
          -Xcompiler -fPIC -Xcompiler -Wall -Xcompiler -Wno-unknown-pragmas -Xcompiler -Werror \
          -Xcudafe --display_error_number -I"$inc" -I"$inc/torch/csrc/api/include" -I"$PYINC" -Ikernels/include \
          -c "$f" -o /dev/null > "$LOG/$(basename "$f").log" 2>&1; then
        echo "ok   $f"
      else
        echo "FAIL $f"; cat "$LOG/$(basename "$f").log"; touch "$LOG/failed"
      fi
    ) &
  done
  wait
  [ ! -e "$LOG/failed" ] || status=1
  rm -f "$LOG/failed"
}

LOG=$(mktemp -d)
trap 'rm -rf "$LOG"' EXIT
status=0
compile_against "${TORCH_INCLUDE:-$TORCH_DIR/include}" "$ARCHS"
# other torch versions: API compatibility does not depend on the architecture, so one is enough
for inc in ${TORCH_EXTRA_INCLUDE:-}; do compile_against "$inc" "${CUDA_ARCHS_EXTRA:-90}"; done
[ $status -eq 0 ] && echo "cuda-check: every kernels/cuda/*.cu compiles" || echo "cuda-check: FAILED"
exit $status
