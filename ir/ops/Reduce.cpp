//===- ir/ops/Reduce.cpp - Reductions and normalizations along axes ------===//
//
// Shape rules: the operand is float. Reductions (sum mean max logsumexp) take
// `axes` (empty: all axes), normalized to a sorted list of distinct
// non-negative axes, and drop those axes from the shape (or keep them as 1
// with keepdims). softmax and log_softmax keep the operand's type; argmax
// drops its axis and returns i32. A single `axis` is normalized to be
// non-negative.
//
// Gradients bring the result's gradient back to the operand's rank through
// the keepdims form of the result (reshape), then let NumPy broadcasting (or
// an explicit broadcast) spread it over the reduced axes. Evaluation is in
// f64; softmax, log_softmax and logsumexp subtract the maximum first.
//
//===----------------------------------------------------------------------===//
#include "ir/Grad.h"
#include "ir/Interpreter.h"
#include "ir/ops/Common.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>

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

/// \p X with the (normalized) reduced \p Axes kept as 1: the keepdims form.
static Shape keptShape(Shape X, const IntList &Axes) {
  for (int64_t A : Axes)
    X[static_cast<size_t>(A)] = 1;
  return X;
}

/// The number of elements reduced into each result element.
static int64_t reducedCount(const Shape &X, const IntList &Axes) {
  int64_t N = 1;
  for (int64_t A : Axes)
    N *= X[static_cast<size_t>(A)];
  return N;
}

//===----------------------------------------------------------------------===//
// Gradient helpers
//===----------------------------------------------------------------------===//

/// \p V (a reduction's result or its gradient) reshaped to the keepdims form
/// of the reduction, so that it broadcasts against the operand.
static ValueId keepDims(GradCtx &C, ValueId V) {
  Shape Kept = keptShape(C.type(C.operand(0)).Dims, C.getInts("axes"));
  if (C.type(V).Dims == Kept)
    return V;
  return C.make(Op::Reshape, {V}, {{"shape", IntList(Kept)}});
}

/// \p V broadcast to shape \p S (V itself when it has that shape already).
static ValueId broadcastTo(GradCtx &C, ValueId V, const Shape &S) {
  if (C.type(V).Dims == S)
    return V;
  return C.make(Op::Broadcast, {V}, {{"shape", IntList(S)}});
}

/// sum(V, axis, keepdims = true) for the softmax rules.
static ValueId sumAxisKept(GradCtx &C, ValueId V, int64_t Axis) {
  return C.make(Op::Sum, {V}, {{"axes", IntList{Axis}}, {"keepdims", true}});
}

//===----------------------------------------------------------------------===//
// Evaluation helpers
//===----------------------------------------------------------------------===//

/// Calls \p F(In, Out) for every element of operand 0, with the flat index of
/// the result element it reduces into (the result's layout is the same with
/// or without keepdims).
template <typename Fn> static void forEachReduced(EvalCtx &C, Fn &&F) {
  const Shape &X = C.in(0).Type.Dims;
  std::array<Shape, 1> Kept = {keptShape(X, C.getInts("axes"))};
  forEachBroadcast(X, std::span<const Shape>(Kept),
                   [&](int64_t I, std::span<const int64_t> O) { F(I, O[0]); });
}

/// The larger of \p Acc and \p V, NaN winning (as torch.amax).
static double maxNaN(double Acc, double V) {
  return std::isnan(V) || V > Acc ? V : Acc;
}

/// Writes the per-result maximum of operand 0 into \p M.
static void reduceMax(EvalCtx &C, std::vector<double> &M) {
  M.assign(C.out().size(), -std::numeric_limits<double>::infinity());
  const std::vector<double> &X = C.in(0).Data;
  forEachReduced(C, [&](int64_t I, int64_t O) { M[O] = maxNaN(M[O], X[I]); });
}

/// Operand 0 viewed as [Outer, Len, Inner] around `axis`; calls \p F(Base,
/// Len, Stride) for every line along the axis (element k at Base + k*Stride).
template <typename Fn> static void forEachLine(EvalCtx &C, Fn &&F) {
  const Shape &X = C.in(0).Type.Dims;
  size_t Axis = static_cast<size_t>(C.getInt("axis"));
  int64_t Outer = 1, Inner = 1, Len = X[Axis];
  for (size_t I = 0; I < Axis; ++I)
    Outer *= X[I];
  for (size_t I = Axis + 1; I < X.size(); ++I)
    Inner *= X[I];
  for (int64_t O = 0; O < Outer; ++O)
    for (int64_t In = 0; In < Inner; ++In)
      F(O * Len * Inner + In, Len, Inner);
}

/// The largest element of a line, NaN winning.
static double lineMax(const std::vector<double> &X, int64_t Base, int64_t Len,
                      int64_t Stride) {
  double M = -std::numeric_limits<double>::infinity();
  for (int64_t K = 0; K < Len; ++K)
    M = maxNaN(M, X[Base + K * Stride]);
  return M;
}

//===----------------------------------------------------------------------===//
// sum
//===----------------------------------------------------------------------===//

// d/dx sum(x) = 1 for each element summed into an output:
// dx = broadcast(reshape(g, keepdims form), x's shape)
static void gradSum(GradCtx &C) {
  if (!C.needs(0))
    return;
  Shape X = C.type(C.operand(0)).Dims; // a copy: make() may move the nodes
  C.setGrad(0, broadcastTo(C, keepDims(C, C.grad()), X));
}

static bool evalSum(EvalCtx &C) {
  const std::vector<double> &X = C.in(0).Data;
  std::vector<double> &Out = C.out().Data;
  forEachReduced(C, [&](int64_t I, int64_t O) { Out[O] += X[I]; });
  return true;
}

// sum(x) = the sum of x over `axes`
OpDef defineSum() { return {reduceAttrs(), reduceRule, gradSum, evalSum}; }

//===----------------------------------------------------------------------===//
// mean
//===----------------------------------------------------------------------===//

// d/dx mean(x) = 1/n, n the number of elements averaged into each output:
// dx = broadcast(reshape(g, keepdims form) / n, x's shape)
static void gradMean(GradCtx &C) {
  if (!C.needs(0))
    return;
  Shape X = C.type(C.operand(0)).Dims; // a copy: make() may move the nodes
  double N = static_cast<double>(reducedCount(X, C.getInts("axes")));
  ValueId G = C.make(Op::Div, {keepDims(C, C.grad()), C.scalar(N)});
  C.setGrad(0, broadcastTo(C, G, X));
}

static bool evalMean(EvalCtx &C) {
  evalSum(C);
  double N =
      static_cast<double>(reducedCount(C.in(0).Type.Dims, C.getInts("axes")));
  for (double &D : C.out().Data)
    D /= N;
  return true;
}

// mean(x) = sum(x) / (the number of elements reduced)
OpDef defineMean() { return {reduceAttrs(), reduceRule, gradMean, evalMean}; }

//===----------------------------------------------------------------------===//
// max
//===----------------------------------------------------------------------===//

// d/dx max(x) = mask / count, mask = (x == max(x)), count = sum(mask) over
// the axes: g is split evenly among tied maxima (torch.amax):
// dx = (reshape(g) / sum(mask, axes, keepdims)) * mask
static void gradMax(GradCtx &C) {
  if (!C.needs(0))
    return;
  ValueId Mask = C.make(Op::Eq, {C.operand(0), keepDims(C, C.out())});
  ValueId Count = C.make(Op::Sum, {Mask},
                         {{"axes", C.getInts("axes")}, {"keepdims", true}});
  ValueId Share = C.make(Op::Div, {keepDims(C, C.grad()), Count});
  C.setGrad(0, C.make(Op::Mul, {Share, Mask}));
}

static bool evalMax(EvalCtx &C) {
  reduceMax(C, C.out().Data);
  return true;
}

// max(x) = the largest element of x over `axes`
OpDef defineMax() { return {reduceAttrs(), reduceRule, gradMax, evalMax}; }

//===----------------------------------------------------------------------===//
// logsumexp
//===----------------------------------------------------------------------===//

// d/dx logsumexp(x) = exp(x - logsumexp(x)) (the softmax over the axes):
// dx = reshape(g) * exp(x - reshape(out))
static void gradLogSumExp(GradCtx &C) {
  if (!C.needs(0))
    return;
  ValueId P =
      C.make(Op::Exp, {C.make(Op::Sub, {C.operand(0), keepDims(C, C.out())})});
  C.setGrad(0, C.make(Op::Mul, {keepDims(C, C.grad()), P}));
}

// m + log(sum(exp(x - m))), m = max(x), with m taken as 0 when it is
// infinite (as PyTorch: all -inf gives -inf, any +inf gives +inf).
static bool evalLogSumExp(EvalCtx &C) {
  std::vector<double> M;
  reduceMax(C, M);
  for (double &D : M)
    if (std::isinf(D))
      D = 0;
  const std::vector<double> &X = C.in(0).Data;
  std::vector<double> &Out = C.out().Data;
  forEachReduced(
      C, [&](int64_t I, int64_t O) { Out[O] += std::exp(X[I] - M[O]); });
  for (size_t O = 0; O < Out.size(); ++O)
    Out[O] = M[O] + std::log(Out[O]);
  return true;
}

// logsumexp(x) = m + log(sum(exp(x - m))) with m = max(x), over `axes`
OpDef defineLogSumExp() {
  return {reduceAttrs(), reduceRule, gradLogSumExp, evalLogSumExp};
}

//===----------------------------------------------------------------------===//
// softmax, log_softmax
//===----------------------------------------------------------------------===//

// y = softmax(x): dy_i/dx_j = y_i (delta_ij - y_j), so
// dx = y * (g - sum(g * y, axis, keepdims))
static void gradSoftmax(GradCtx &C) {
  if (!C.needs(0))
    return;
  ValueId Y = C.out(), G = C.grad();
  ValueId Dot = sumAxisKept(C, C.make(Op::Mul, {G, Y}), C.getInt("axis"));
  C.setGrad(0, C.make(Op::Mul, {Y, C.make(Op::Sub, {G, Dot})}));
}

static bool evalSoftmax(EvalCtx &C) {
  const std::vector<double> &X = C.in(0).Data;
  std::vector<double> &Y = C.out().Data;
  forEachLine(C, [&](int64_t Base, int64_t Len, int64_t St) {
    double M = lineMax(X, Base, Len, St), S = 0;
    for (int64_t K = 0; K < Len; ++K)
      S += Y[Base + K * St] = std::exp(X[Base + K * St] - M);
    for (int64_t K = 0; K < Len; ++K)
      Y[Base + K * St] /= S;
  });
  return true;
}

// softmax(x) = exp(x - logsumexp(x, axis, keepdims))
OpDef defineSoftmax() {
  return {{{"axis", AttrKind::Int, int64_t(-1)}},
          softmaxRule,
          gradSoftmax,
          evalSoftmax};
}

// y = log_softmax(x): dy_i/dx_j = delta_ij - softmax(x)_j, so
// dx = g - exp(y) * sum(g, axis, keepdims)
static void gradLogSoftmax(GradCtx &C) {
  if (!C.needs(0))
    return;
  ValueId G = C.grad();
  ValueId S = sumAxisKept(C, G, C.getInt("axis"));
  ValueId P = C.make(Op::Exp, {C.out()});
  C.setGrad(0, C.make(Op::Sub, {G, C.make(Op::Mul, {P, S})}));
}

static bool evalLogSoftmax(EvalCtx &C) {
  const std::vector<double> &X = C.in(0).Data;
  std::vector<double> &Y = C.out().Data;
  forEachLine(C, [&](int64_t Base, int64_t Len, int64_t St) {
    double M = lineMax(X, Base, Len, St), S = 0;
    for (int64_t K = 0; K < Len; ++K)
      S += std::exp(X[Base + K * St] - M);
    double L = std::log(S);
    for (int64_t K = 0; K < Len; ++K)
      Y[Base + K * St] = X[Base + K * St] - M - L;
  });
  return true;
}

// log_softmax(x) = x - logsumexp(x, axis, keepdims)
OpDef defineLogSoftmax() {
  return {{{"axis", AttrKind::Int, int64_t(-1)}},
          softmaxRule,
          gradLogSoftmax,
          evalLogSoftmax};
}

//===----------------------------------------------------------------------===//
// argmax
//===----------------------------------------------------------------------===//

// The first index of the largest element (a NaN counts as the largest, as in
// torch.argmax). forEachLine visits the lines in the result's row-major
// order (the operand's with the axis removed).
static bool evalArgmax(EvalCtx &C) {
  const std::vector<double> &X = C.in(0).Data;
  std::vector<double> &Out = C.out().Data;
  size_t Next = 0;
  forEachLine(C, [&](int64_t Base, int64_t Len, int64_t St) {
    int64_t Best = 0;
    for (int64_t K = 1; K < Len && !std::isnan(X[Base + Best * St]); ++K) {
      double V = X[Base + K * St];
      if (std::isnan(V) || V > X[Base + Best * St])
        Best = K;
    }
    Out[Next++] = static_cast<double>(Best);
  });
  return true;
}

// argmax(x) = the index (i32) of the first largest element along `axis`
OpDef defineArgmax() {
  return {{{"axis", AttrKind::Int, int64_t(-1)}},
          [](InferCtx &C) {
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
          },
          nullptr,
          evalArgmax};
}

} // namespace gradc::ir
