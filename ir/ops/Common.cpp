#include "ir/ops/Common.h"

namespace gradc::ir::ops {

bool requireFloat(InferCtx &C, size_t I) {
  if (isFloat(C.operand(I).Elt))
    return true;
  return C.errorAt(static_cast<int>(I),
                   "'{}' needs a float tensor, but argument {} is {} (i32 is "
                   "for class ids and indices; use cast)",
                   C.name(), I + 1, formatType(C.operand(I)));
}

bool requireSameFloat(InferCtx &C, DType &T) {
  for (size_t I = 0; I < C.numOperands(); ++I)
    if (!requireFloat(C, I))
      return false;
  T = C.operand(0).Elt;
  for (size_t I = 1; I < C.numOperands(); ++I)
    if (C.operand(I).Elt != T)
      return C.errorAt(static_cast<int>(I),
                       "dtype mismatch in '{}': {} and {} (use cast to convert)",
                       C.name(), formatType(C.operand(0)),
                       formatType(C.operand(I)));
  return true;
}

bool normalizeAxis(InferCtx &C, int64_t &Axis, int64_t Rank,
                   std::string_view What) {
  if (Axis < -Rank || Axis >= Rank)
    return C.error("{} {} is out of range for '{}' of a rank-{} tensor", What,
                   Axis, C.name(), Rank);
  if (Axis < 0)
    Axis += Rank;
  return true;
}

} // namespace gradc::ir::ops
