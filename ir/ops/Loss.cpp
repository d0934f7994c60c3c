//===- ir/ops/Loss.cpp - Losses and metrics ------------------------------===//
//
// Shape rules: every op here returns a scalar of its first operand's float
// dtype. mse broadcasts its operands (NumPy) and averages over the broadcast
// shape; bce and bce_with_logits need equal shapes; softmax_cross_entropy
// and accuracy take logits [B, C] and targets that are either i32 class ids
// [B] or a float [B, C] of the logits' dtype.
//
// Semantics and gradients are PyTorch 1.13's (reduction = mean). Every loss
// is computed in f64 per element and averaged; the gradient rules divide by
// the element (or row) count as PyTorch's backward kernels do.
//
//===----------------------------------------------------------------------===//
#include "ir/Grad.h"
#include "ir/Interpreter.h"
#include "ir/ops/Common.h"

#include <algorithm>
#include <cmath>

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

//===----------------------------------------------------------------------===//
// Reference semantics (f64)
//===----------------------------------------------------------------------===//

/// The index of the first largest of \p N values at \p X with stride 1; NaN
/// counts as the largest (as PyTorch's argmax).
static int64_t argmaxRow(const double *X, int64_t N) {
  int64_t Best = 0;
  for (int64_t I = 1; I < N; ++I)
    if (!std::isnan(X[Best]) && (X[I] > X[Best] || std::isnan(X[I])))
      Best = I;
  return Best;
}

/// log_softmax of one row of \p N values: (x - m) - log(sum(exp(x - m))) with
/// m = max(x), as PyTorch computes it.
static void logSoftmaxRow(const double *X, int64_t N, double *Out) {
  if (N == 0)
    return;
  double M = X[argmaxRow(X, N)], S = 0;
  for (int64_t I = 0; I < N; ++I)
    S += std::exp(X[I] - M);
  double L = std::log(S);
  for (int64_t I = 0; I < N; ++I)
    Out[I] = (X[I] - M) - L;
}

static bool evalMse(EvalCtx &C) {
  const Tensor &A = C.in(0), &B = C.in(1);
  Shape S = *broadcastShapes(A.Type.Dims, B.Type.Dims);
  std::vector<Shape> Ins{A.Type.Dims, B.Type.Dims};
  double Sum = 0;
  int64_t N = 0;
  forEachBroadcast(S, Ins, [&](int64_t, std::span<const int64_t> I) {
    double D = A.Data[I[0]] - B.Data[I[1]];
    Sum += D * D;
    ++N;
  });
  C.out().Data[0] = Sum / static_cast<double>(N);
  return true;
}

static bool evalBce(EvalCtx &C) {
  const std::vector<double> &P = C.in(0).Data, &T = C.in(1).Data;
  double Sum = 0;
  for (size_t I = 0; I < P.size(); ++I)
    Sum += (T[I] - 1) * std::max(std::log(1 - P[I]), -100.0) -
           T[I] * std::max(std::log(P[I]), -100.0);
  C.out().Data[0] = Sum / static_cast<double>(P.size());
  return true;
}

static bool evalBceWithLogits(EvalCtx &C) {
  const std::vector<double> &Z = C.in(0).Data, &T = C.in(1).Data;
  double Sum = 0;
  for (size_t I = 0; I < Z.size(); ++I)
    Sum += std::max(Z[I], 0.0) - Z[I] * T[I] +
           std::log1p(std::exp(-std::fabs(Z[I])));
  C.out().Data[0] = Sum / static_cast<double>(Z.size());
  return true;
}

static bool evalSoftmaxCrossEntropy(EvalCtx &C) {
  const Tensor &Z = C.in(0), &Y = C.in(1);
  int64_t B = Z.Type.Dims[0], K = Z.Type.Dims[1];
  std::vector<double> L(static_cast<size_t>(K));
  double Sum = 0;
  for (int64_t Row = 0; Row < B; ++Row) {
    if (Y.Type.Elt == DType::I32) {
      double Id = Y.Data[Row];
      if (!(Id >= 0 && Id < static_cast<double>(K)))
        return C.error("class id {} of example {} is outside [0, {})",
                       static_cast<int64_t>(Id), Row, K);
    }
    logSoftmaxRow(Z.Data.data() + Row * K, K, L.data());
    if (Y.Type.Elt == DType::I32) {
      Sum -= L[static_cast<size_t>(Y.Data[Row])];
      continue;
    }
    double RowSum = 0;
    for (int64_t I = 0; I < K; ++I)
      RowSum += Y.Data[Row * K + I] * L[I];
    Sum -= RowSum;
  }
  C.out().Data[0] = Sum / static_cast<double>(B);
  return true;
}

static bool evalAccuracy(EvalCtx &C) {
  const Tensor &Z = C.in(0), &Y = C.in(1);
  int64_t B = Z.Type.Dims[0], K = Z.Type.Dims[1], Hits = 0;
  for (int64_t Row = 0; Row < B; ++Row) {
    double Want =
        Y.Type.Elt == DType::I32
            ? Y.Data[Row]
            : static_cast<double>(argmaxRow(Y.Data.data() + Row * K, K));
    Hits += static_cast<double>(argmaxRow(Z.Data.data() + Row * K, K)) == Want;
  }
  C.out().Data[0] = static_cast<double>(Hits) / static_cast<double>(B);
  return true;
}

static bool evalOneHot(EvalCtx &C) {
  const std::vector<double> &Y = C.in(0).Data;
  int64_t K = C.getInt("classes");
  std::vector<double> &Out = C.out().Data;
  for (size_t I = 0; I < Y.size(); ++I)
    if (Y[I] >= 0 && Y[I] < static_cast<double>(K))
      Out[I * K + static_cast<size_t>(Y[I])] = 1;
  return true;
}

//===----------------------------------------------------------------------===//
// Gradient rules
//===----------------------------------------------------------------------===//

namespace {
/// Terse IR construction for the gradient rules (see Elementwise.cpp).
struct Ir {
  GradCtx &C;
  ValueId g() const { return C.grad(); }
  ValueId x(size_t I) const { return C.operand(I); }
  ValueId k(double V) { return C.scalar(V); }
  ValueId un(Op O, ValueId A) { return C.make(O, {A}); }
  ValueId bin(Op O, ValueId A, ValueId B) { return C.make(O, {A, B}); }
  ValueId sub(ValueId A, ValueId B) { return bin(Op::Sub, A, B); }
  ValueId mul(ValueId A, ValueId B) { return bin(Op::Mul, A, B); }
  ValueId div(ValueId A, ValueId B) { return bin(Op::Div, A, B); }
  /// max(log(A), -100), bce's clamped logarithm.
  ValueId clampedLog(ValueId A) {
    return bin(Op::Maximum, un(Op::Log, A), k(-100));
  }
  /// The number of elements of \p V, as a constant.
  ValueId count(ValueId V) {
    return k(static_cast<double>(C.type(V).numElements()));
  }
  ValueId softmaxOf(Op O, ValueId Logits) {
    return C.make(O, {Logits}, {{"axis", int64_t(1)}});
  }
  template <typename Fn> void set(size_t I, Fn &&Make) {
    if (C.needs(I) && isFloat(C.type(x(I)).Elt))
      C.setGrad(I, Make());
  }
};
} // namespace

// mse(a, b) = sum((a - b)^2) / N over the broadcast shape:
//   d/da = 2 (a - b) / N, d/db = -2 (a - b) / N
static void gradMse(GradCtx &C) {
  Ir B{C};
  ValueId D = B.sub(B.x(0), B.x(1));
  double N = static_cast<double>(C.type(D).numElements());
  ValueId Ga = B.mul(B.mul(B.k(2 / N), D), B.g());
  B.set(0, [&] { return Ga; });
  B.set(1, [&] { return B.un(Op::Neg, Ga); });
}

// bce(p, t) = -sum(t max(log p, -100) + (1 - t) max(log(1 - p), -100)) / N:
//   d/dp = (p - t) / max(p (1 - p), 1e-12) / N   (PyTorch's form)
//   d/dt = (max(log(1 - p), -100) - max(log p, -100)) / N
static void gradBce(GradCtx &C) {
  Ir B{C};
  ValueId P = B.x(0), T = B.x(1), N = B.count(P);
  B.set(0, [&] {
    ValueId Den = B.bin(Op::Maximum, B.mul(B.sub(B.k(1), P), P), B.k(1e-12));
    return B.div(B.div(B.mul(B.g(), B.sub(P, T)), Den), N);
  });
  B.set(1, [&] {
    ValueId D = B.sub(B.clampedLog(B.sub(B.k(1), P)), B.clampedLog(P));
    return B.div(B.mul(B.g(), D), N);
  });
}

// bce_with_logits(z, t) = sum(max(z, 0) - z t + log(1 + exp(-|z|))) / N:
//   d/dz = (sigmoid(z) - t) / N, d/dt = -z / N
static void gradBceWithLogits(GradCtx &C) {
  Ir B{C};
  ValueId Z = B.x(0), T = B.x(1), N = B.count(Z);
  B.set(0, [&] {
    ValueId D = B.sub(B.un(Op::Sigmoid, Z), T);
    return B.div(B.mul(D, B.g()), N);
  });
  B.set(1, [&] { return B.div(B.mul(B.un(Op::Neg, Z), B.g()), N); });
}

// softmax_cross_entropy(z, t) = -sum_b sum_c t[b, c] log_softmax(z)[b, c] / B
// with t = one_hot(y) for class ids:
//   d/dz = (softmax(z) sum_c(t) - t) / B   (= (softmax(z) - one_hot(y)) / B)
//   d/dt = -log_softmax(z) / B
static void gradSoftmaxCrossEntropy(GradCtx &C) {
  Ir B{C};
  ValueId Z = B.x(0), Y = B.x(1);
  const TensorType &ZT = C.type(Z);
  ValueId GOverB = B.div(B.g(), B.k(static_cast<double>(ZT.Dims[0])));
  B.set(0, [&] {
    ValueId Sm = B.softmaxOf(Op::Softmax, Z);
    if (C.type(Y).Elt == DType::I32) {
      ValueId OneHot =
          C.make(Op::OneHot, {Y}, {{"classes", ZT.Dims[1]}, {"dtype", ZT.Elt}});
      return B.mul(B.sub(Sm, OneHot), GOverB);
    }
    ValueId TSum =
        C.make(Op::Sum, {Y}, {{"axes", IntList{1}}, {"keepdims", true}});
    return B.mul(B.sub(B.mul(Sm, TSum), Y), GOverB);
  });
  B.set(1, [&] {
    return B.mul(B.softmaxOf(Op::LogSoftmax, Z), B.un(Op::Neg, GOverB));
  });
}

//===----------------------------------------------------------------------===//
// The ops
//===----------------------------------------------------------------------===//

// mse(a, b) = mean((a - b)^2) over the broadcast shape
OpDef defineMse() {
  return {{},
          [](InferCtx &C) {
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
          },
          gradMse,
          evalMse};
}

// bce(p, t) = mean(-(t * max(log p, -100) + (1 - t) * max(log(1 - p), -100)))
// (PyTorch 1.13's log(1 - p), not log1p(-p))
OpDef defineBce() { return {{}, sameShapeLossRule, gradBce, evalBce}; }
// bce_with_logits(z, t) = mean(max(z, 0) - z * t + log(1 + exp(-|z|)))
OpDef defineBceWithLogits() {
  return {{}, sameShapeLossRule, gradBceWithLogits, evalBceWithLogits};
}

// softmax_cross_entropy(z, y) = mean over rows b of
//   -sum_c t[b, c] * log_softmax(z)[b, c], t = one_hot(y) for class ids; a
//   class id outside [0, C) is a runtime error naming the example
OpDef defineSoftmaxCrossEntropy() {
  return {{}, classifierRule, gradSoftmaxCrossEntropy, evalSoftmaxCrossEntropy};
}
// accuracy(z, y) = the fraction of rows b with argmax(z[b]) == y[b] (for float
// targets: == argmax(y[b])); argmax is the first largest, NaN the largest
OpDef defineAccuracy() { return {{}, classifierRule, nullptr, evalAccuracy}; }

// one_hot(y)[..., c] = y[...] == c ? 1 : 0, of dtype `dtype` (internal); an
// id outside [0, classes) gives a zero row
OpDef defineOneHot() {
  return {{{"classes", AttrKind::Int, std::nullopt},
           {"dtype", AttrKind::DType, std::nullopt}},
          [](InferCtx &C) {
            const TensorType &Y = C.operand(0);
            if (Y.Elt != DType::I32)
              return C.errorAt(0, "'one_hot' needs i32 ids, got {}",
                               formatType(Y));
            if (C.getInt("classes") < 1 || !isFloat(C.getDType("dtype")))
              return C.error("'one_hot' needs classes >= 1 and a float dtype");
            Shape Dims = Y.Dims;
            Dims.push_back(C.getInt("classes"));
            return setResult(C, C.getDType("dtype"), std::move(Dims));
          },
          nullptr,
          evalOneHot};
}

} // namespace gradc::ir
