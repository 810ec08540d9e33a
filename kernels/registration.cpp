// Every op schema of graphkit, declared here once for every backend; the implementations live in cpu/<op>.cpp
// and cuda/ (TORCH_LIBRARY_IMPL only: no other file declares a schema).
// Importing graphkit._C (this library) is what makes torch.ops.graphkit.* available.
#include <Python.h>
#include <torch/library.h>

#ifndef GRAPHKIT_WITH_CUDA
#define GRAPHKIT_WITH_CUDA 0
#endif

static bool has_cuda() { return GRAPHKIT_WITH_CUDA != 0; }

// graphkit.ops.cuda's error-flag mode (kernels/cuda/errors.cu); without CUDA there is nothing to check.
namespace graphkit {
namespace cuda {
#if GRAPHKIT_WITH_CUDA
bool set_sync_checks(bool enable);
void raise_pending(int64_t device);
#else
static bool set_sync_checks(bool) { return true; }
static void raise_pending(int64_t) {}
#endif
}  // namespace cuda
}  // namespace graphkit

TORCH_LIBRARY(graphkit, m) {
  m.def("csr_reduce(Tensor rowptr, Tensor? col, Tensor? eid, Tensor? weight, Tensor x, str reduce) -> (Tensor, Tensor)");
  // csr_reduce (sum/mean) with an epilogue on each output row: act(out[r] + diag[r] * x[r] + bias) (cpu/csr_reduce.cpp)
  m.def("csr_reduce_epilogue(Tensor rowptr, Tensor? col, Tensor? eid, Tensor? weight, Tensor x, str reduce, "
        "Tensor? diag, Tensor? bias, str act) -> Tensor");
  m.def("sddmm(Tensor rowptr, Tensor col, Tensor? eid, Tensor a, Tensor b, str op) -> Tensor");
  m.def("edge_softmax_fwd(Tensor rowptr, Tensor? eid, Tensor scores) -> Tensor");
  m.def("edge_softmax_bwd(Tensor rowptr, Tensor? eid, Tensor y, Tensor grad) -> Tensor");
  m.def("arg_scatter(Tensor? col, Tensor? eid, Tensor? weight, Tensor arg, Tensor grad, int num_src) -> Tensor");
  m.def("arg_scatter_weight(Tensor? col, Tensor? eid, Tensor x, Tensor arg, Tensor grad, int num_weights) -> Tensor");
  // Dense products and the ReLU backward with their large outputs on reused huge pages (cpu/dense.cpp)
  m.def("dense_mm(Tensor a, Tensor b) -> Tensor");
  m.def("relu_backward(Tensor grad, Tensor out) -> Tensor");
  m.def("segment_matmul(Tensor x, Tensor ptr, Tensor weight) -> Tensor");
  m.def("segment_matmul_wgrad(Tensor x, Tensor ptr, Tensor grad) -> Tensor");
  m.def("gather_rows(Tensor src, Tensor index, Tensor(a!) out) -> Tensor(a!)");
  m.def("gather_rows_uva(Tensor src, Tensor index, Tensor pos, Tensor(a!) out, int stream, bool check=True) -> Tensor(a!)");
  m.def(
      "sample_neighbors(Tensor rowptr, Tensor col, Tensor perm, Tensor seeds, int[] fanouts, bool replace, "
      "int seed) -> (Tensor n_id, Tensor rowptr_sub, Tensor edge_index, Tensor e_id, Tensor nodes_per_hop, "
      "Tensor edges_per_hop)");
  m.def(
      "sample_neighbors_typed(Tensor rowptr, Tensor col, Tensor perm, Tensor seeds, Tensor node_ptr, "
      "Tensor edge_ptr, Tensor rel_row_off, Tensor rel_src_type, Tensor rel_dst_type, int[] fanouts, bool replace, "
      "int seed) -> (Tensor[] n_id, Tensor[] edge_index, Tensor[] e_id, Tensor nodes_per_hop, "
      "Tensor edges_per_hop)");
  // The seed papers' samplers (cpu/random_walk.cpp, cpu/subgraph.cpp).
  m.def("random_walk(Tensor rowptr, Tensor col, Tensor start, int walk_length, float p, float q, int seed) -> "
        "(Tensor node_seq, Tensor pos_seq)");
  m.def("induced_subgraph(Tensor rowptr, Tensor col, Tensor perm, Tensor nodes) -> (Tensor rowptr_sub, "
        "Tensor col_sub, Tensor e_id)");
  m.def("saint_sample(Tensor rowptr, Tensor col, Tensor? edge_cdf, str kind, int batch_size, int walk_length, "
        "int seed) -> Tensor");
  m.def("shadow_k_hop(Tensor rowptr, Tensor col, Tensor perm, Tensor roots, int depth, int num_neighbors, "
        "bool replace, int seed) -> (Tensor node_ptr, Tensor n_id, Tensor edge_ptr, Tensor edge_index, Tensor e_id)");
  m.def("cuda_sync_checks(bool enable) -> bool", &graphkit::cuda::set_sync_checks);
  m.def("cuda_raise_pending(int device) -> ()", &graphkit::cuda::raise_pending);
  m.def("has_cuda() -> bool", &has_cuda);
}

// A module with no Python functions: the ops are reached through torch.ops.graphkit (no pybind11 needed).
extern "C" PyMODINIT_FUNC PyInit__C(void) {
  static struct PyModuleDef def = {PyModuleDef_HEAD_INIT, "_C", nullptr, -1, nullptr};
  return PyModule_Create(&def);
}
