//===- ir/ops/Reduce.cpp - Reductions and normalizations along axes ------===//
//
// Shape rules: the operand is float. Reductions (sum mean max logsumexp) take
// `axes` (empty: all axes), normalized to a sorted list of distinct
// non-negative axes, and drop those axes from the shape (or keep them as 1
// with keepdims). softmax and log_softmax keep the operand's type; argmax
// drops its axis and returns i32. A single `axis` is normalized to be
// non-negative.
//
//===----------------------------------------------------------------------===//
#include "ir/ops/Common.h"

#include <algorithm>

namespace gradc::ir {
using namespace ops;

static std::vector<AttrSpec> reduceAttrs() {
  return {{"axes", AttrKind::Axes, IntList{}},
          {"keepdims", AttrKind::Bool, false}};
}

/// sum, mean, max, logsumexp.
static bool reduceRule(InferCtx &C) {
  if (!requireFloat(C, 0))
    return false;
  const TensorType &X = C.operand(0);
  int64_t Rank = X.rank();
  IntList Axes = C.getInts("axes");
  if (Axes.empty()) {
    for (int64_t I = 0; I < Rank; ++I)
      Axes.push_back(I);
  } else {
    std::vector<bool> Seen(static_cast<size_t>(Rank), false);
    for (int64_t &A : Axes) {
      if (!normalizeAxis(C, A, Rank))
        return false;
      if (Seen[static_cast<size_t>(A)])
        return C.error("axis {} is listed twice in 'axes' of '{}' (axes = {})",
                       A, C.name(), formatAttrValue(C.getInts("axes")));
      Seen[static_cast<size_t>(A)] = true;
    }
    std::sort(Axes.begin(), Axes.end());
  }
  bool KeepDims = C.getBool("keepdims");
  Shape Dims;
  size_t Next = 0; // index into the sorted Axes
  for (int64_t I = 0; I < Rank; ++I) {
    if (Next < Axes.size() && Axes[Next] == I) {
      ++Next;
      if (KeepDims)
        Dims.push_back(1);
    } else {
      Dims.push_back(X.Dims[static_cast<size_t>(I)]);
    }
  }
  C.set("axes", std::move(Axes));
  C.Result = TensorType(X.Elt, std::move(Dims));
  return true;
}

/// softmax, log_softmax: the axis is normalized; same type.
static bool softmaxRule(InferCtx &C) {
  if (!requireFloat(C, 0) || !requireMinRank(C, 0, 1))
    return false;
  int64_t Axis = C.getInt("axis");
  if (!normalizeAxis(C, Axis, C.operand(0).rank()))
    return false;
  C.set("axis", Axis);
  C.Result = C.operand(0);
  return true;
}

// sum(x) = the sum of x over `axes`
OpDef defineSum() { return {reduceAttrs(), reduceRule}; }
// mean(x) = sum(x) / (the number of elements reduced)
OpDef defineMean() { return {reduceAttrs(), reduceRule}; }
// max(x) = the largest element of x over `axes`
OpDef defineMax() { return {reduceAttrs(), reduceRule}; }
// logsumexp(x) = m + log(sum(exp(x - m))) with m = max(x), over `axes`
OpDef defineLogSumExp() { return {reduceAttrs(), reduceRule}; }

// softmax(x) = exp(x - logsumexp(x, axis, keepdims))
OpDef defineSoftmax() {
  return {{{"axis", AttrKind::Int, int64_t(-1)}}, softmaxRule};
}
// log_softmax(x) = x - logsumexp(x, axis, keepdims)
OpDef defineLogSoftmax() {
  return {{{"axis", AttrKind::Int, int64_t(-1)}}, softmaxRule};
}

// argmax(x) = the index (i32) of the first largest element along `axis`
OpDef defineArgmax() {
  return {{{"axis", AttrKind::Int, int64_t(-1)}}, [](InferCtx &C) {
            if (!requireFloat(C, 0) || !requireMinRank(C, 0, 1))
              return false;
            const TensorType &X = C.operand(0);
            int64_t Axis = C.getInt("axis");
            if (!normalizeAxis(C, Axis, X.rank()))
              return false;
            C.set("axis", Axis);
            Shape Dims = X.Dims;
            Dims.erase(Dims.begin() + Axis);
            C.Result = TensorType(DType::I32, std::move(Dims));
            return true;
          }};
}

} // namespace gradc::ir
