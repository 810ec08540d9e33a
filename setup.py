"""Build graphkit._C (the fused kernels) from kernels/ against the installed torch.

C++/OpenMP sources always; CUDA sources too when torch is a CUDA build and nvcc is found. GRAPHKIT_NO_EXT=1
skips the extension entirely (graphkit.ops then runs its pure-torch path). GRAPHKIT_SANITIZE=1 builds it with
AddressSanitizer and UndefinedBehaviorSanitizer (``make asan`` runs the kernel tests against such a build).
Metadata lives in pyproject.toml.
"""
from __future__ import annotations

import glob
import os
import shutil

from setuptools import setup

HERE = os.path.dirname(os.path.abspath(__file__))


def _extensions():
    if os.environ.get("GRAPHKIT_NO_EXT", "") not in ("", "0"):
        return [], {}
    import torch
    from torch.utils.cpp_extension import BuildExtension, CppExtension, CUDAExtension, CUDA_HOME

    def rel(pattern: str):
        return sorted(os.path.relpath(p, HERE) for p in glob.glob(os.path.join(HERE, pattern)))

    sources = rel("kernels/*.cpp") + rel("kernels/cpu/*.cpp")
    # -O3 and OpenMP only: no -march, so the binary runs on any x86-64 of the CI kind; `omp simd` and the
    # compiler's auto-vectoriser do the rest. -fopenmp also makes at::parallel_for use OpenMP threads.
    cxx = ["-O3", "-fopenmp", "-fno-math-errno"]  # torch adds the -std it was built with
    libs_flags = ["-fopenmp"]
    if os.environ.get("GRAPHKIT_SANITIZE", "") not in ("", "0"):
        san = ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined", "-fno-omit-frame-pointer", "-g"]
        cxx, libs_flags = cxx + san, libs_flags + san
    nvcc_found = CUDA_HOME is not None or shutil.which("nvcc") is not None
    if torch.version.cuda and nvcc_found and os.environ.get("GRAPHKIT_NO_CUDA", "") in ("", "0"):
        ext = CUDAExtension(
            "graphkit._C",
            sources + rel("kernels/cuda/*.cu"),
            include_dirs=[os.path.join(HERE, "kernels", "include")],
            define_macros=[("GRAPHKIT_WITH_CUDA", "1")],
            # -lineinfo: source lines in compute-sanitizer and ncu reports, at no run-time cost. Architectures:
            # TORCH_CUDA_ARCH_LIST (make gpu-check sets the GPU's own, e.g. "9.0" for H100/H200).
            extra_compile_args={"cxx": cxx, "nvcc": ["-O3", "--expt-relaxed-constexpr", "-lineinfo"]},
            extra_link_args=libs_flags,
        )
    else:
        ext = CppExtension(
            "graphkit._C",
            sources,
            include_dirs=[os.path.join(HERE, "kernels", "include")],
            extra_compile_args={"cxx": cxx},
            extra_link_args=libs_flags,
        )
    return [ext], {"build_ext": BuildExtension.with_options(use_ninja=True)}


ext_modules, cmdclass = _extensions()
setup(ext_modules=ext_modules, cmdclass=cmdclass)
