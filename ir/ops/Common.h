//===- ir/ops/Common.h - Helpers shared by the shape rules -------*- C++ -*-===//
#pragma once

#include "ir/OpDefs.h"

namespace gradc::ir::ops {

/// Operand \p I must have a float dtype (f32 or f64).
bool requireFloat(InferCtx &C, size_t I);
/// All operands must have the same float dtype; returns it in \p T.
bool requireSameFloat(InferCtx &C, DType &T);
/// Normalizes \p Axis against \p Rank (negative counts from the end); false
/// with an error naming \p What when out of range.
bool normalizeAxis(InferCtx &C, int64_t &Axis, int64_t Rank,
                   std::string_view What = "axis");

} // namespace gradc::ir::ops
