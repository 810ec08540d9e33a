// Argument validation of each op, shared by the CPU and CUDA implementations (run before any launch).
#pragma once

#include <string>

#include "checks.h"

namespace graphkit {

enum class Reduce { Sum = 0, Mean = 1, Max = 2, Min = 3 };
enum class SddmmOp { Dot = 0, Add = 1, Mul = 2 };

inline Reduce parse_reduce(const std::string& r) {
  if (r == "sum") return Reduce::Sum;
  if (r == "mean") return Reduce::Mean;
  if (r == "max") return Reduce::Max;
  TORCH_CHECK_VALUE(r == "min", "reduce must be one of sum, mean, max, min, got '", r, "'");
  return Reduce::Min;
}

inline SddmmOp parse_sddmm_op(const std::string& op) {
  if (op == "dot") return SddmmOp::Dot;
  if (op == "add") return SddmmOp::Add;
  TORCH_CHECK_VALUE(op == "mul", "op must be one of dot, add, mul, got '", op, "'");
  return SddmmOp::Mul;
}

// csr_reduce: rowptr [R+1]; col [E] (< x.size(0)) or none (then rowptr[-1] == x.size(0));
// eid [E] (< weight.size(0)) or none (then weight has E rows); weight [E', H]; x [M, H, F].
// col_bounds = false leaves col's bounds to the caller: the CPU kernel checks each index as it reads it.
// ranges = false leaves every value check (rowptr, col, eid) to the caller: the CUDA kernels check them in the
// kernel (kernels/cuda/common.cuh), so validation needs no device-to-host sync.
inline void validate_csr_reduce(const at::Tensor& rowptr, const c10::optional<at::Tensor>& col,
                                const c10::optional<at::Tensor>& eid, const c10::optional<at::Tensor>& weight,
                                const at::Tensor& x, bool col_bounds = true, bool ranges = true) {
  TORCH_CHECK_TYPE(at::isFloatingType(x.scalar_type()), "x must be a floating-point tensor, got ", x.scalar_type());
  TORCH_CHECK_VALUE(x.dim() == 3, "x must have shape [M, H, F], got ", x.sizes());
  TORCH_CHECK_VALUE(rowptr.device() == x.device(), "rowptr is on ", rowptr.device(), " but x is on ", x.device());
  const int64_t entries = col ? col->numel() : x.size(0);
  check_rowptr(rowptr, entries, col ? "col" : "x", ranges);
  if (col) {
    check_index_tensor("col", *col, rowptr);
    if (col_bounds && ranges) check_bounds("col", *col, x.size(0), "x.size(0)");
  }
  if (eid) {
    check_index_tensor("eid", *eid, rowptr);
    TORCH_CHECK_VALUE(eid->numel() == entries, "eid has ", eid->numel(), " entries but col has ", entries);
    TORCH_CHECK_VALUE(weight.has_value(), "eid was given without weight");
  }
  if (weight) {
    check_float_tensor("weight", *weight, 2, x);
    TORCH_CHECK_VALUE(weight->size(1) == x.size(1), "weight has ", weight->size(1), " heads but x has ", x.size(1));
    if (eid) {
      if (ranges) check_bounds("eid", *eid, weight->size(0), "weight.size(0)");
    } else {
      TORCH_CHECK_VALUE(weight->size(0) == entries, "weight has ", weight->size(0), " rows but there are ", entries,
                        " edges");
    }
  }
}

// sddmm: rowptr [R+1] over a's rows, col [E] < b.size(0), eid [E] (a permutation of the output rows) or none.
inline void validate_sddmm(const at::Tensor& rowptr, const at::Tensor& col, const c10::optional<at::Tensor>& eid,
                           const at::Tensor& a, const at::Tensor& b, bool ranges = true) {
  TORCH_CHECK_TYPE(at::isFloatingType(a.scalar_type()), "a must be a floating-point tensor, got ", a.scalar_type());
  TORCH_CHECK_VALUE(a.dim() == 3, "a must have shape [N, H, F], got ", a.sizes());
  check_float_tensor("b", b, 3, a);
  TORCH_CHECK_VALUE(a.size(1) == b.size(1) && a.size(2) == b.size(2), "a has shape ", a.sizes(), " but b has shape ",
                    b.sizes(), " (trailing sizes must match)");
  TORCH_CHECK_VALUE(rowptr.device() == a.device(), "rowptr is on ", rowptr.device(), " but a is on ", a.device());
  const int64_t rows = check_rowptr(rowptr, col.numel(), "col", ranges);
  TORCH_CHECK_VALUE(rows == a.size(0), "rowptr has ", rows, " rows but a has ", a.size(0));
  check_index_tensor("col", col, rowptr);
  if (ranges) check_bounds("col", col, b.size(0), "b.size(0)");
  if (eid) {
    check_index_tensor("eid", *eid, rowptr);
    TORCH_CHECK_VALUE(eid->numel() == col.numel(), "eid has ", eid->numel(), " entries but col has ", col.numel());
    if (ranges) check_bounds("eid", *eid, col.numel(), "the number of edges");
  }
}

// edge softmax: rowptr [R+1], eid [E] (< E) or none, scores [E, H].
inline void validate_softmax(const at::Tensor& rowptr, const c10::optional<at::Tensor>& eid, const at::Tensor& s,
                             const char* name, bool ranges = true) {
  TORCH_CHECK_TYPE(at::isFloatingType(s.scalar_type()), name, " must be a floating-point tensor, got ",
                   s.scalar_type());
  TORCH_CHECK_VALUE(s.dim() == 2, name, " must have shape [E, H], got ", s.sizes());
  TORCH_CHECK_VALUE(rowptr.device() == s.device(), "rowptr is on ", rowptr.device(), " but ", name, " is on ",
                    s.device());
  check_rowptr(rowptr, s.size(0), name, ranges);
  if (eid) {
    check_index_tensor("eid", *eid, rowptr);
    TORCH_CHECK_VALUE(eid->numel() == s.size(0), "eid has ", eid->numel(), " entries but ", name, " has ", s.size(0));
    if (ranges) check_bounds("eid", *eid, s.size(0), "the number of edges");
  }
}

}  // namespace graphkit
