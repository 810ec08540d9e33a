// csr_reduce kernels for reduce = mean (one translation unit per reduce: the four compile in parallel).
#include "spmm_impl.cuh"

template void graphkit::cuda::csr_reduce_launch<1>(const graphkit::cuda::ReduceLaunch&);
