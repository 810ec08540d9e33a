// csr_reduce kernels for reduce = min (one translation unit per reduce: the four compile in parallel).
#include "spmm_impl.cuh"

template void graphkit::cuda::csr_reduce_launch<3>(const graphkit::cuda::ReduceLaunch&);
