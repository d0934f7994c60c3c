#include "ir/ops/Common.h"

#include <cmath>

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
      return C.errorAt(
          static_cast<int>(I),
          "dtype mismatch in '{}': {} and {} (use cast to convert)", C.name(),
          formatType(C.operand(0)), formatType(C.operand(I)));
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

bool requireMinRank(InferCtx &C, size_t I, int64_t Min) {
  if (C.operand(I).rank() >= Min)
    return true;
  return C.errorAt(static_cast<int>(I),
                   "'{}' needs a tensor of rank >= {}, got {}", C.name(), Min,
                   formatType(C.operand(I)));
}

bool broadcastOperands(InferCtx &C, Shape &Out) {
  std::optional<Shape> S =
      broadcastShapes(C.operand(0).Dims, C.operand(1).Dims);
  if (!S)
    return C.error("cannot broadcast {} with {} in '{}'",
                   formatType(C.operand(0)), formatType(C.operand(1)),
                   C.name());
  Out = std::move(*S);
  return true;
}

std::optional<int64_t> checkedProduct(std::span<const int64_t> Dims) {
  int64_t N = 1;
  for (int64_t D : Dims) {
    if (D < 0 || (D != 0 && N > MaxElements / D))
      return std::nullopt;
    N *= D;
  }
  return N;
}

bool setResult(InferCtx &C, DType T, Shape Dims) {
  if (!checkedProduct(Dims))
    return C.error("the result of '{}' would have more than {} elements "
                   "(shape {})",
                   C.name(), MaxElements, formatShape(Dims));
  C.Result = TensorType(T, std::move(Dims));
  return true;
}

bool requireFinite(InferCtx &C, std::string_view Name) {
  double V = C.getFloat(Name);
  if (std::isfinite(V))
    return true;
  return C.error("'{}' of '{}' must be a finite number, got {}", Name, C.name(),
                 formatNumber(V));
}

bool requirePairAtLeast(InferCtx &C, std::string_view Name, int64_t Min) {
  const IntList &P = C.getInts(Name);
  if (P[0] >= Min && P[1] >= Min)
    return true;
  return C.error("'{}' of '{}' must be >= {}, got {}", Name, C.name(), Min,
                 formatAttrValue(P));
}

bool windowOutput(InferCtx &C, std::string_view Axis, int64_t In, int64_t K,
                  int64_t Stride, int64_t Pad, int64_t Dil, int64_t &Out) {
  // In, K <= 2^40 and Pad, Dil, Stride < 2^63: every term fits in 128 bits.
  using I128 = __int128;
  I128 Num = I128(In) + 2 * I128(Pad) - I128(Dil) * (I128(K) - 1) - 1;
  if (Num < 0) {
    if (Dil != 1)
      return C.error(
          "'{}' output {} would be less than 1: input {} {}, padding "
          "{}, kernel {} {}, dilation {}",
          C.name(), Axis, Axis, In, Pad, Axis, K, Dil);
    return C.error("'{}' output {} would be less than 1: input {} {}, padding "
                   "{}, kernel {} {}",
                   C.name(), Axis, Axis, In, Pad, Axis, K);
  }
  I128 R = Num / Stride + 1;
  if (R > MaxElements)
    return C.error("the result of '{}' would have more than {} elements "
                   "(output {} too large with padding {})",
                   C.name(), MaxElements, Axis, Pad);
  Out = static_cast<int64_t>(R);
  return true;
}

std::string formatNumber(double D) { return formatAttrValue(AttrValue(D)); }

bool checkForward(InferCtx &C, Op Forward, std::vector<TensorType> Operands,
                  std::string_view Extra, const TensorType &Expected,
                  int Which) {
  AttrList Attrs;
  for (const Attr &A : C.attrs())
    if (A.Name != Extra)
      Attrs.push_back(A);
  TensorType Out;
  std::string Err;
  int ErrOperand;
  if (!inferType(Forward, Operands, Attrs, Out, Err, ErrOperand))
    return C.error("'{}': {}", C.name(), Err);
  if (Out != Expected)
    return C.errorAt(Which, "'{}' operand is {}, but '{}' gives {}", C.name(),
                     formatType(Expected), mnemonic(Forward), formatType(Out));
  return true;
}

} // namespace gradc::ir::ops
