//===- ir/ops/Loss.cpp - Losses and metrics ------------------------------===//
//
// Shape rules: every op here returns a scalar of its first operand's float
// dtype. mse broadcasts its operands (NumPy) and averages over the broadcast
// shape; bce and bce_with_logits need equal shapes; softmax_cross_entropy
// and accuracy take logits [B, C] and targets that are either i32 class ids
// [B] or a float [B, C] of the logits' dtype.
//
//===----------------------------------------------------------------------===//
#include "ir/ops/Common.h"

namespace gradc::ir {
using namespace ops;

/// bce, bce_with_logits: same float dtype, equal shapes.
static bool sameShapeLossRule(InferCtx &C) {
  DType T;
  if (!requireSameFloat(C, T))
    return false;
  if (C.operand(0).Dims != C.operand(1).Dims)
    return C.errorAt(1, "'{}' needs operands of the same shape, got {} and {}",
                     C.name(), formatType(C.operand(0)),
                     formatType(C.operand(1)));
  C.Result = TensorType(T, {});
  return true;
}

/// softmax_cross_entropy, accuracy: logits [B, C], targets i32 [B] or [B, C]
/// of the logits' dtype.
static bool classifierRule(InferCtx &C) {
  const TensorType &L = C.operand(0), &Y = C.operand(1);
  if (!requireFloat(C, 0))
    return false;
  if (L.rank() != 2)
    return C.errorAt(0, "'{}' logits must be [B, C], got {}", C.name(),
                     formatType(L));
  TensorType Ids(DType::I32, {L.Dims[0]});
  if (Y.Elt == DType::I32) {
    if (Y != Ids)
      return C.errorAt(
          1, "'{}' class ids must be {} to match the logits {}, got {}",
          C.name(), formatType(Ids), formatType(L), formatType(Y));
  } else if (Y.Elt != L.Elt) {
    return C.errorAt(1,
                     "dtype mismatch in '{}': {} and {} (use cast to convert)",
                     C.name(), formatType(L), formatType(Y));
  } else if (Y.Dims != L.Dims) {
    return C.errorAt(
        1,
        "'{}' targets must be {} (the shape of the logits) or class "
        "ids {}, got {}",
        C.name(), formatType(L), formatType(Ids), formatType(Y));
  }
  C.Result = TensorType(L.Elt, {});
  return true;
}

// mse(a, b) = mean((a - b)^2) over the broadcast shape
OpDef defineMse() {
  return {{}, [](InferCtx &C) {
            DType T;
            Shape S;
            if (!requireSameFloat(C, T) || !broadcastOperands(C, S))
              return false;
            if (!checkedProduct(S))
              return C.error("the operands of 'mse' broadcast to more than {} "
                             "elements",
                             MaxElements);
            C.Result = TensorType(T, {});
            return true;
          }};
}

// bce(p, t) = mean(-(t * max(log p, -100) + (1 - t) * max(log(1 - p), -100)))
OpDef defineBce() { return {{}, sameShapeLossRule}; }
// bce_with_logits(z, t) = mean(max(z, 0) - z * t + log(1 + exp(-|z|)))
OpDef defineBceWithLogits() { return {{}, sameShapeLossRule}; }

// softmax_cross_entropy(z, y) = mean over rows b of
//   -sum_c t[b, c] * log_softmax(z)[b, c], t = one_hot(y) for class ids
OpDef defineSoftmaxCrossEntropy() { return {{}, classifierRule}; }
// accuracy(z, y) = the fraction of rows b with argmax(z[b]) == y[b] (for float
// targets: == argmax(y[b]))
OpDef defineAccuracy() { return {{}, classifierRule}; }

} // namespace gradc::ir
