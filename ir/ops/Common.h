//===- ir/ops/Common.h - Helpers shared by the shape rules -------*- C++
//-*-===//
#pragma once

#include "ir/OpDefs.h"

#include <optional>
#include <span>

namespace gradc::ir::ops {

/// Operand \p I must have a float dtype (f32 or f64).
bool requireFloat(InferCtx &C, size_t I);
/// All operands must have the same float dtype; returns it in \p T.
bool requireSameFloat(InferCtx &C, DType &T);
/// Normalizes \p Axis against \p Rank (negative counts from the end); false
/// with an error naming \p What when out of range.
bool normalizeAxis(InferCtx &C, int64_t &Axis, int64_t Rank,
                   std::string_view What = "axis");

/// Operand \p I must have rank >= \p Min ("'softmax' needs a tensor of rank
/// >= 1, got f32[]").
bool requireMinRank(InferCtx &C, size_t I, int64_t Min);

/// NumPy broadcasting of operands 0 and 1, with the error
/// "cannot broadcast f32[64, 784] with f32[100] in 'add'".
bool broadcastOperands(InferCtx &C, Shape &Out);

/// The product of \p Dims, or nullopt when it exceeds MaxElements (or a
/// dimension is negative). Never overflows.
std::optional<int64_t> checkedProduct(std::span<const int64_t> Dims);

/// Sets the result type, or fails when it would have more than MaxElements
/// elements.
bool setResult(InferCtx &C, DType T, Shape Dims);

/// Float attribute \p Name must be finite.
bool requireFinite(InferCtx &C, std::string_view Name);

/// Both entries of Pair attribute \p Name must be >= \p Min.
bool requirePairAtLeast(InferCtx &C, std::string_view Name, int64_t Min);

/// The output size of a sliding window (conv, pooling) along one spatial
/// axis: floor((In + 2*Pad - Dil*(K-1) - 1) / Stride) + 1, which must be >= 1
/// ("'conv2d' output height would be less than 1: input height 2, padding 0,
/// kernel height 3"). \p Axis names the axis ("height"). Stride >= 1, Pad >= 0
/// and Dil >= 1 must hold already. Never overflows.
bool windowOutput(InferCtx &C, std::string_view Axis, int64_t In, int64_t K,
                  int64_t Stride, int64_t Pad, int64_t Dil, int64_t &Out);

/// A number as the IR prints it ("1.0", "0.01").
std::string formatNumber(double D);

/// For the gradient ops of a forward op: checks that \p Forward applied to
/// \p Operands with this node's attributes (less \p Extra, an attribute the
/// forward op does not have) gives \p Expected, which is operand \p Which of
/// the gradient op.
bool checkForward(InferCtx &C, Op Forward, std::vector<TensorType> Operands,
                  std::string_view Extra, const TensorType &Expected,
                  int Which);

} // namespace gradc::ir::ops
