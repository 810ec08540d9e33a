#!/usr/bin/env bash
# Compile every kernels/cuda/*.cu with nvcc against the installed torch headers (no GPU, no linking).
# `make cuda-check` runs this. torch >= 2.10 headers need C++20 (older ones accept it too).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
NVCC=${NVCC:-$(command -v nvcc || echo /usr/local/bin/nvcc)}
INC=$("$PY" -c 'import torch.utils.cpp_extension as c; print(" -I".join(c.include_paths()))')
PYINC=$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
STD=${CUDA_STD:--std=c++20}
# A CPU torch wheel ships c10/cuda headers without the cmake-generated config header; a CUDA torch has it.
EXTRA=""
[ -f "$("$PY" -c "import torch,os;print(os.path.dirname(torch.__file__))")/include/c10/cuda/impl/cuda_cmake_macros.h" ] || EXTRA="-DC10_CUDA_NO_CMAKE_CONFIGURE_FILE"
status=0
for f in kernels/cuda/*.cu; do
  echo "nvcc $f"
  if ! "$NVCC" $STD -arch=sm_90 -O3 --expt-relaxed-constexpr -DGRAPHKIT_WITH_CUDA=1 $EXTRA -Xcompiler -fPIC \
      -I$INC -I"$PYINC" -Ikernels/include -c "$f" -o /dev/null; then
    status=1
  fi
done
exit $status
