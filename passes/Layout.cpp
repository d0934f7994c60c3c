//===- passes/Layout.cpp - Transposes folded into matmul operands -------------===//
//
// Algorithm: one forward sweep (passes/Rewriter.h). A matmul or matmul_t
// operand that is a transpose swapping exactly the last two axes (the
// default perm, all other axes in place) is replaced by the transpose's own
// operand, and the node's flag for that operand is flipped:
//
//   matmul(transpose(a), b)  -> matmul_t(a, b) {transpose_a = true}
//   matmul(g, transpose(w))  -> matmul_t(g, w) {transpose_b = true}
//
// so the backward matmuls autodiff builds (g @ w^T, x^T @ g) read their
// operands in place instead of materializing a transposed copy; the
// transpose is left to dce when nothing else uses it.
//
// Cost rule: the matmul kernel's innermost loop walks a row of b (column j).
// A transposed b is read there with a stride of a whole row, one cache line
// per element, so each result row touches all of b's matrix: cheap while b's
// matrix stays in the L1 cache, ruinous beyond it (mlp_wide's 512x512
// backward matmul ran 6x slower than transpose + matmul). So b's transpose
// is folded only when b's matrix is at most kMaxStridedBBytes; a's always
// (its reads stride by whole rows too, but once per (i, p), not per element
// of the innermost loop, and consecutive rows reuse the same lines). matmul_t reads a
// transposed operand with swapped strides and sums every element in the
// same order as matmul, so results are bit-identical. A matmul_t whose flags
// both end up false becomes a plain matmul again.
//
//===----------------------------------------------------------------------===//
#include "passes/PassManager.h"
#include "passes/Rewriter.h"

namespace gradc::passes {
using namespace ir;

/// Whether \p N is a transpose of the last two axes only.
static bool swapsLastTwo(const Node &N) {
  if (N.Opcode != Op::Transpose)
    return false;
  const IntList &P = getInts(N.Attrs, "perm");
  size_t R = P.size();
  if (R < 2 || P[R - 2] != int64_t(R - 1) || P[R - 1] != int64_t(R - 2))
    return false;
  for (size_t K = 0; K + 2 < R; ++K)
    if (P[K] != int64_t(K))
      return false;
  return true;
}

/// The largest b matrix (its last two axes) read transposed in place.
constexpr int64_t kMaxStridedBBytes = 32 * 1024;

static std::optional<ValueId> foldTransposes(Rewriter &R, const Node &N) {
  if (N.Opcode != Op::Matmul && N.Opcode != Op::MatmulT)
    return std::nullopt;
  bool Flags[2] = {false, false};
  if (N.Opcode == Op::MatmulT) {
    Flags[0] = getBool(N.Attrs, "transpose_a");
    Flags[1] = getBool(N.Attrs, "transpose_b");
  }
  std::vector<ValueId> Ops = N.Operands;
  bool Any = false;
  for (size_t I = 0; I < 2; ++I) {
    const Node &T = R.node(Ops[I]);
    if (!swapsLastTwo(T))
      continue;
    if (I == 1) {
      const Shape &D = T.Type.Dims;
      if (D[D.size() - 2] * D.back() * dtypeSize(T.Type.Elt) >
          kMaxStridedBBytes)
        continue;
    }
    Ops[I] = T.Operands[0];
    Flags[I] = !Flags[I];
    Any = true;
  }
  if (!Any)
    return std::nullopt;
  if (!Flags[0] && !Flags[1])
    return R.make(Op::Matmul, Ops, {}, N.L);
  return R.make(Op::MatmulT, Ops,
                {{"transpose_a", Flags[0]}, {"transpose_b", Flags[1]}}, N.L);
}

bool runLayout(Module &M, PassContext &) {
  bool Changed = false;
  for (Function &F : M.Functions)
    Changed |= rewriteFunction(F, foldTransposes);
  return Changed;
}

} // namespace gradc::passes
