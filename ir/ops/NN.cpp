//===- ir/ops/NN.cpp - Neural-network layers -----------------------------===//
//
// Shape rules: pooling takes a float NCHW tensor and slides a window over H
// and W: OH = floor((H + 2*ph - kh) / sh) + 1 (stride 0 means the kernel
// size, normalized to the explicit value). batch_norm and dropout keep x's
// type; batch_norm's gamma and beta are [C] with C = x.dims[1]. embedding
// maps i32 ids [...] through a float table [V, D] to [..., D].
//
// Evals: plain loops in f64. Pooling windows are clamped to the input (the
// padding is never read: max ignores it, avg counts it as zeros). Ids are
// checked against the table before any read.
//
//===----------------------------------------------------------------------===//
#include "ir/Grad.h"
#include "ir/Interpreter.h"
#include "ir/ops/Common.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace gradc::ir {
using namespace ops;

//===----------------------------------------------------------------------===//
// Pooling windows.
//===----------------------------------------------------------------------===//

namespace {
/// One pooling: x [N, C, H, W] -> y [N, C, OH, OW].
struct PoolGeom {
  int64_t Planes, H, W, OH, OW, KH, KW, SH, SW, PH, PW;
};
} // namespace

/// \p X and \p Y are the input's and output's shapes. A stride of 0 means
/// the kernel size (the internal gradient ops may carry it unnormalized).
static PoolGeom poolGeom(const EvalCtx &C, const Shape &X, const Shape &Y) {
  const IntList &K = C.getInts("kernel"), &S = C.getInts("stride"),
                &P = C.getInts("padding");
  return {X[0] * X[1], X[2], X[3], Y[2], Y[3], K[0], K[1],
          S[0] == 0 ? K[0] : S[0], S[1] == 0 ? K[1] : S[1], P[0], P[1]};
}

/// Calls F(YIndex, XPlane, H0, H1, W0, W1) for every output element: its
/// window covers rows [H0, H1) and columns [W0, W1) of the input plane that
/// starts at flat index XPlane (already clamped to the input; never empty,
/// since padding <= kernel / 2).
template <typename Fn> static void forEachWindow(const PoolGeom &G, Fn &&F) {
  for (int64_t Pl = 0; Pl < G.Planes; ++Pl)
    for (int64_t I = 0; I < G.OH; ++I) {
      int64_t H0 = I * G.SH - G.PH, H1 = std::min(H0 + G.KH, G.H);
      H0 = std::max<int64_t>(H0, 0);
      for (int64_t J = 0; J < G.OW; ++J) {
        int64_t W0 = J * G.SW - G.PW, W1 = std::min(W0 + G.KW, G.W);
        W0 = std::max<int64_t>(W0, 0);
        F((Pl * G.OH + I) * G.OW + J, Pl * G.H * G.W, H0, H1, W0, W1);
      }
    }
}

/// The flat index of the maximum of a window, as PyTorch's CPU kernel finds
/// it: a row-major scan from the window's first element, replacing the
/// candidate when a value is greater than it or NaN (so the first of tied
/// maxima wins, and NaN propagates).
static int64_t windowArgmax(const std::vector<double> &X, int64_t Plane,
                            int64_t H0, int64_t H1, int64_t W0, int64_t W1,
                            int64_t W) {
  int64_t Best = Plane + H0 * W + W0;
  double Max = -std::numeric_limits<double>::infinity();
  for (int64_t H = H0; H < H1; ++H)
    for (int64_t V = W0; V < W1; ++V) {
      int64_t Idx = Plane + H * W + V;
      if (X[Idx] > Max || std::isnan(X[Idx])) {
        Max = X[Idx];
        Best = Idx;
      }
    }
  return Best;
}

/// The pooling attributes of the node being differentiated.
static AttrList poolAttrsOf(const GradCtx &C) {
  return {{"kernel", C.getInts("kernel")},
          {"stride", C.getInts("stride")},
          {"padding", C.getInts("padding")}};
}

/// "[3, 1]": the multi-index of flat position \p Pos in shape \p S.
static std::string formatPosition(const Shape &S, int64_t Pos) {
  Shape Idx(S.size());
  for (size_t A = S.size(); A-- > 0;) {
    Idx[A] = Pos % S[A];
    Pos /= S[A];
  }
  return formatShape(Idx);
}

/// Checks every id of operand 0 against [0, \p Num).
static bool checkIds(EvalCtx &C, int64_t Num) {
  const Tensor &Ids = C.in(0);
  for (int64_t P = 0; P < static_cast<int64_t>(Ids.size()); ++P) {
    double Id = Ids.Data[P];
    if (!(Id >= 0 && Id < static_cast<double>(Num)))
      return C.error("id {} at position {} is outside [0, {})", Id,
                     formatPosition(Ids.Type.Dims, P), Num);
  }
  return true;
}

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

// d/dx max_pool2d(x) = max_pool2d_grad(x, g): each window's g goes to the
// first maximum of the window (accumulated where windows overlap)
static void gradMaxPool2d(GradCtx &C) {
  if (C.needs(0))
    C.setGrad(0, C.make(Op::MaxPool2dGrad, {C.operand(0), C.grad()},
                        poolAttrsOf(C)));
}

static bool evalMaxPool2d(EvalCtx &C) {
  const Tensor &X = C.in(0);
  Tensor &Y = C.out();
  PoolGeom G = poolGeom(C, X.Type.Dims, Y.Type.Dims);
  forEachWindow(G, [&](int64_t YI, int64_t Pl, int64_t H0, int64_t H1,
                       int64_t W0, int64_t W1) {
    Y.Data[YI] = X.Data[windowArgmax(X.Data, Pl, H0, H1, W0, W1, G.W)];
  });
  return true;
}

// max_pool2d(x)[n, c, i, j] = max over the window at (i*sh - ph, j*sw - pw);
// padding never wins (as -inf)
OpDef defineMaxPool2d() {
  return {poolAttrs(), poolRule, gradMaxPool2d, evalMaxPool2d};
}

// avg_pool2d is linear: d/dx avg_pool2d(x) = avg_pool2d_grad(g), its adjoint
static void gradAvgPool2d(GradCtx &C) {
  if (!C.needs(0))
    return;
  AttrList A = poolAttrsOf(C);
  const Shape X = C.type(C.operand(0)).Dims;
  A.push_back({"input_size", IntList{X[2], X[3]}});
  C.setGrad(0, C.make(Op::AvgPool2dGrad, {C.grad()}, std::move(A)));
}

static bool evalAvgPool2d(EvalCtx &C) {
  const Tensor &X = C.in(0);
  Tensor &Y = C.out();
  PoolGeom G = poolGeom(C, X.Type.Dims, Y.Type.Dims);
  double Area = static_cast<double>(G.KH * G.KW);
  forEachWindow(G, [&](int64_t YI, int64_t Pl, int64_t H0, int64_t H1,
                       int64_t W0, int64_t W1) {
    double Sum = 0;
    for (int64_t H = H0; H < H1; ++H)
      for (int64_t V = W0; V < W1; ++V)
        Sum += X.Data[Pl + H * G.W + V];
    Y.Data[YI] = Sum / Area;
  });
  return true;
}

// avg_pool2d(x)[n, c, i, j] = sum over the window / (kh * kw); padding counts
// as zeros
OpDef defineAvgPool2d() {
  return {poolAttrs(), poolRule, gradAvgPool2d, evalAvgPool2d};
}

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

// d/dtable embedding(ids, table) = embedding_grad(ids, g) {num = V}; the
// i32 ids get no gradient
static void gradEmbedding(GradCtx &C) {
  if (C.needs(1))
    C.setGrad(1, C.make(Op::EmbeddingGrad, {C.operand(0), C.grad()},
                        {{"num", C.type(C.operand(1)).Dims[0]}}));
}

static bool evalEmbedding(EvalCtx &C) {
  const Tensor &Ids = C.in(0), &Table = C.in(1);
  int64_t V = Table.Type.Dims[0], D = Table.Type.Dims[1];
  if (!checkIds(C, V))
    return false;
  Tensor &Out = C.out();
  for (size_t P = 0; P < Ids.size(); ++P) {
    int64_t Row = static_cast<int64_t>(Ids.Data[P]);
    std::copy_n(Table.Data.begin() + Row * D, D, Out.Data.begin() + P * D);
  }
  return true;
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
          },
          gradEmbedding, evalEmbedding};
}

//===----------------------------------------------------------------------===//
// Internal ops: gradients and the dropout mask.
//===----------------------------------------------------------------------===//

// No gradient rule: linear in g, but its adjoint (gathering c at each
// window's argmax) has no op; autodiff reports it for grad-of-grad.
static bool evalMaxPool2dGrad(EvalCtx &C) {
  const Tensor &X = C.in(0), &G = C.in(1);
  Tensor &DX = C.out();
  PoolGeom Geo = poolGeom(C, X.Type.Dims, G.Type.Dims);
  forEachWindow(Geo, [&](int64_t YI, int64_t Pl, int64_t H0, int64_t H1,
                         int64_t W0, int64_t W1) {
    DX.Data[windowArgmax(X.Data, Pl, H0, H1, W0, W1, Geo.W)] += G.Data[YI];
  });
  return true;
}

// max_pool2d_grad(x, g) = d max_pool2d(x) / dx applied to g: each window's g
// goes to the first position of its maximum
OpDef defineMaxPool2dGrad() {
  return {poolAttrs(), [](InferCtx &C) {
            DType T;
            if (!requireSameFloat(C, T) ||
                !checkForward(C, Op::MaxPool2d, {C.operand(0)}, "", C.operand(1), 1))
              return false;
            C.Result = C.operand(0);
            return true;
          },
          nullptr, evalMaxPool2dGrad};
}

// avg_pool2d_grad is linear and its adjoint is avg_pool2d:
// d/dg avg_pool2d_grad(g) = avg_pool2d(c)
static void gradAvgPool2dGrad(GradCtx &C) {
  if (C.needs(0))
    C.setGrad(0, C.make(Op::AvgPool2d, {C.grad()}, poolAttrsOf(C)));
}

// dx[window] += g / (kh * kw)
static bool evalAvgPool2dGrad(EvalCtx &C) {
  const Tensor &G = C.in(0);
  Tensor &DX = C.out();
  PoolGeom Geo = poolGeom(C, DX.Type.Dims, G.Type.Dims);
  double Area = static_cast<double>(Geo.KH * Geo.KW);
  forEachWindow(Geo, [&](int64_t YI, int64_t Pl, int64_t H0, int64_t H1,
                         int64_t W0, int64_t W1) {
    double V = G.Data[YI] / Area;
    for (int64_t H = H0; H < H1; ++H)
      for (int64_t W = W0; W < W1; ++W)
        DX.Data[Pl + H * Geo.W + W] += V;
  });
  return true;
}

// avg_pool2d_grad(g) = d avg_pool2d(x) / dx applied to g, x being
// [N, C, input_size]
OpDef defineAvgPool2dGrad() {
  std::vector<AttrSpec> Attrs = poolAttrs();
  Attrs.push_back({"input_size", AttrKind::Pair, std::nullopt});
  return {Attrs, [](InferCtx &C) {
            const TensorType &G = C.operand(0);
            if (!requireFloat(C, 0) || !requireMinRank(C, 0, 4) ||
                !requirePairAtLeast(C, "input_size", 1))
              return false;
            if (G.rank() != 4)
              return C.errorAt(0, "'avg_pool2d_grad' needs rank 4, got {}", formatType(G));
            const IntList &Size = C.getInts("input_size");
            TensorType X(G.Elt, {G.Dims[0], G.Dims[1], Size[0], Size[1]});
            if (!checkForward(C, Op::AvgPool2d, {X}, "input_size", G, 0))
              return false;
            C.Result = X;
            return true;
          },
          gradAvgPool2dGrad, evalAvgPool2dGrad};
}

// embedding_grad(ids, g) is linear in g, with adjoint embedding:
// d/dg embedding_grad(ids, g) = embedding(ids, c); ids get no gradient
static void gradEmbeddingGrad(GradCtx &C) {
  if (C.needs(1))
    C.setGrad(1, C.make(Op::Embedding, {C.operand(0), C.grad()}));
}

static bool evalEmbeddingGrad(EvalCtx &C) {
  const Tensor &Ids = C.in(0), &G = C.in(1);
  Tensor &Out = C.out();
  int64_t D = Out.Type.Dims[1];
  if (!checkIds(C, Out.Type.Dims[0]))
    return false;
  for (size_t P = 0; P < Ids.size(); ++P) {
    int64_t Row = static_cast<int64_t>(Ids.Data[P]);
    for (int64_t I = 0; I < D; ++I)
      Out.Data[Row * D + I] += G.Data[P * D + I];
  }
  return true;
}

// embedding_grad(ids, g)[v, d] = sum of g[..., d] over the positions where
// ids[...] == v; the result is [num, D]
OpDef defineEmbeddingGrad() {
  return {{{"num", AttrKind::Int, std::nullopt}}, [](InferCtx &C) {
            const TensorType &Ids = C.operand(0), &G = C.operand(1);
            int64_t Num = C.getInt("num");
            if (Ids.Elt != DType::I32 || !requireFloat(C, 1) || Num < 1)
              return C.error("'embedding_grad' needs i32 ids, a float gradient and num >= 1");
            Shape Want = Ids.Dims;
            if (G.rank() != Ids.rank() + 1 ||
                !std::equal(Want.begin(), Want.end(), G.Dims.begin()))
              return C.errorAt(1, "'embedding_grad' gradient {} does not match ids {}",
                               formatType(G), formatType(Ids));
            return setResult(C, G.Elt, {Num, G.Dims.back()});
          },
          gradEmbeddingGrad, evalEmbeddingGrad};
}

// The dropout mask's random numbers: a counter-based hash, so any element
// can be computed on its own, in any order, on any thread. Codegen
// reimplements exactly this in LLVM IR; every operation is on uint64 with
// wrap-around:
//
//   mix(z)  = splitmix64's finalizer:
//               z = z + 0x9E3779B97F4A7C15
//               z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
//               z = (z ^ (z >> 27)) * 0x94D049BB133111EB
//               return z ^ (z >> 31)
//   key     = mix(mix(mix(seed) ^ step) ^ salt)
//   u(i)    = (mix(key ^ i) >> 11) * 2^-53         (a double in [0, 1))
//
// seed and step are operands 0 and 1 (float scalars holding non-negative
// integers, as the --seed and the step counter do) converted to uint64 by
// truncation (fptoui); a value that is negative, NaN or >= 2^64 has no
// defined key (the interpreter uses 0). salt is the attribute as a uint64
// (two's complement) and i the element's row-major flat index. The mask is
//   out[i] = u(i) >= p ? 1 / (1 - p) : 0
// with 1 / (1 - p) computed in f64 and rounded to the result's dtype.
static uint64_t dropoutMix(uint64_t Z) {
  Z += 0x9E3779B97F4A7C15ull;
  Z = (Z ^ (Z >> 30)) * 0xBF58476D1CE4E5B9ull;
  Z = (Z ^ (Z >> 27)) * 0x94D049BB133111EBull;
  return Z ^ (Z >> 31);
}

static uint64_t toKey(double V) {
  return V >= 0 && V < 18446744073709551616.0 ? static_cast<uint64_t>(V) : 0;
}

static bool evalDropoutMask(EvalCtx &C) {
  uint64_t Key = dropoutMix(dropoutMix(dropoutMix(toKey(C.in(0).Data[0])) ^
                                       toKey(C.in(1).Data[0])) ^
                            static_cast<uint64_t>(C.getInt("salt")));
  double P = C.getFloat("p"), Scale = 1.0 / (1.0 - P);
  Tensor &Out = C.out();
  for (size_t I = 0; I < Out.size(); ++I) {
    double U = static_cast<double>(dropoutMix(Key ^ I) >> 11) * 0x1p-53;
    Out.Data[I] = U >= P ? Scale : 0.0;
  }
  return true;
}

// dropout_mask(seed, step)[i] = (u(seed, step, salt, i) >= p) / (1 - p),
// u uniform in [0, 1) from a counter-based hash; a tensor of `shape`
OpDef defineDropoutMask() {
  return {{{"p", AttrKind::Float, std::nullopt},
           {"salt", AttrKind::Int, std::nullopt},
           {"shape", AttrKind::Ints, std::nullopt},
           {"dtype", AttrKind::DType, std::nullopt}},
          [](InferCtx &C) {
            for (size_t I = 0; I < 2; ++I)
              if (!requireFloat(C, I) || !C.operand(I).isScalar())
                return C.errorAt(static_cast<int>(I),
                                 "'dropout_mask' seed and step must be float scalars");
            double P = C.getFloat("p");
            if (!(P >= 0 && P < 1))
              return C.error("'p' of 'dropout_mask' must be in [0, 1)");
            for (int64_t D : C.getInts("shape"))
              if (D < 1)
                return C.error("'dropout_mask' shape must have positive dimensions");
            DType T = C.getDType("dtype");
            if (!isFloat(T))
              return C.error("'dropout_mask' dtype must be a float type");
            return setResult(C, T, C.getInts("shape"));
          },
          nullptr, evalDropoutMask};
}

} // namespace gradc::ir
