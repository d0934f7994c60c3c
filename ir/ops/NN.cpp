//===- ir/ops/NN.cpp - Neural-network layers -----------------------------===//
//
// Shape rules: pooling takes a float NCHW tensor and slides a window over H
// and W: OH = floor((H + 2*ph - kh) / sh) + 1 (stride 0 means the kernel
// size, normalized to the explicit value). batch_norm and dropout keep x's
// type; batch_norm's gamma and beta are [C] with C = x.dims[1]. embedding
// maps i32 ids [...] through a float table [V, D] to [..., D].
//
//===----------------------------------------------------------------------===//
#include "ir/ops/Common.h"

#include <cmath>

namespace gradc::ir {
using namespace ops;

static std::vector<AttrSpec> poolAttrs() {
  return {{"kernel", AttrKind::Pair, std::nullopt},
          {"stride", AttrKind::Pair, int64_t(0)},
          {"padding", AttrKind::Pair, int64_t(0)}};
}

/// max_pool2d, avg_pool2d.
static bool poolRule(InferCtx &C) {
  if (!requireFloat(C, 0))
    return false;
  const TensorType &X = C.operand(0);
  if (X.rank() != 4)
    return C.errorAt(0, "'{}' input must be [N, C, H, W], got {}", C.name(),
                     formatType(X));
  if (!requirePairAtLeast(C, "kernel", 1) ||
      !requirePairAtLeast(C, "stride", 0) ||
      !requirePairAtLeast(C, "padding", 0))
    return false;
  const IntList &K = C.getInts("kernel"), &P = C.getInts("padding");
  IntList S = C.getInts("stride");
  for (size_t I = 0; I < 2; ++I) {
    if (S[I] == 0)
      S[I] = K[I];
    if (P[I] > K[I] / 2)
      return C.error(
          "'padding' of '{}' must be at most half the kernel size, got "
          "padding {} with kernel {}",
          C.name(), formatAttrValue(P), formatAttrValue(K));
  }
  int64_t OH, OW;
  if (!windowOutput(C, "height", X.Dims[2], K[0], S[0], P[0], 1, OH) ||
      !windowOutput(C, "width", X.Dims[3], K[1], S[1], P[1], 1, OW))
    return false;
  C.set("stride", std::move(S));
  return setResult(C, X.Elt, {X.Dims[0], X.Dims[1], OH, OW});
}

// max_pool2d(x)[n, c, i, j] = max over the window at (i*sh - ph, j*sw - pw);
// padding never wins (as -inf)
OpDef defineMaxPool2d() { return {poolAttrs(), poolRule}; }
// avg_pool2d(x)[n, c, i, j] = sum over the window / (kh * kw); padding counts
// as zeros
OpDef defineAvgPool2d() { return {poolAttrs(), poolRule}; }

// batch_norm(x, gamma, beta) = gamma * (x - mean) / sqrt(var + eps) + beta,
// statistics over all axes but 1 (training: batch's, biased; else running)
OpDef defineBatchNorm() {
  return {
      {{"eps", AttrKind::Float, 1e-5}, {"momentum", AttrKind::Float, 0.1}},
      [](InferCtx &C) {
        DType T;
        if (!requireSameFloat(C, T) || !requireMinRank(C, 0, 2))
          return false;
        const TensorType &X = C.operand(0);
        Shape Want = {X.Dims[1]};
        for (size_t I = 1; I < 3; ++I)
          if (C.operand(I).Dims != Want)
            return C.errorAt(static_cast<int>(I),
                             "'batch_norm' {} must be {} (the channels of the "
                             "input {}), got {}",
                             I == 1 ? "gamma" : "beta", formatShape(Want),
                             formatType(X), formatType(C.operand(I)));
        double Eps = C.getFloat("eps"), Mom = C.getFloat("momentum");
        if (!(Eps > 0) || !std::isfinite(Eps))
          return C.error("'eps' of 'batch_norm' must be a finite number > 0, "
                         "got {}",
                         formatNumber(Eps));
        if (!(Mom >= 0 && Mom <= 1))
          return C.error("'momentum' of 'batch_norm' must be in [0, 1], got {}",
                         formatNumber(Mom));
        C.Result = X;
        return true;
      }};
}

// dropout(x) = training: x * mask / (1 - p), mask ~ Bernoulli(1 - p); else x
OpDef defineDropout() {
  return {{{"p", AttrKind::Float, std::nullopt}}, [](InferCtx &C) {
            if (!requireFloat(C, 0))
              return false;
            double P = C.getFloat("p");
            if (!(P >= 0 && P < 1))
              return C.error("'p' of 'dropout' must be in [0, 1), got {}",
                             formatNumber(P));
            C.Result = C.operand(0);
            return true;
          }};
}

// embedding(ids, table)[..., d] = table[ids[...], d]
OpDef defineEmbedding() {
  return {{}, [](InferCtx &C) {
            const TensorType &Ids = C.operand(0), &Table = C.operand(1);
            if (Ids.Elt != DType::I32)
              return C.errorAt(
                  0,
                  "'embedding' ids must be i32 class ids, got {} (use "
                  "cast)",
                  formatType(Ids));
            if (Ids.rank() < 1)
              return C.errorAt(0, "'embedding' ids must have rank >= 1, got {}",
                               formatType(Ids));
            if (!requireFloat(C, 1))
              return false;
            if (Table.rank() != 2)
              return C.errorAt(1, "'embedding' table must be [V, D], got {}",
                               formatType(Table));
            Shape Dims = Ids.Dims;
            Dims.push_back(Table.Dims[1]);
            return setResult(C, Table.Elt, std::move(Dims));
          }};
}

} // namespace gradc::ir
