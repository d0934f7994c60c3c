//===- ir/ops/Linalg.cpp - Matrix products and convolution ---------------===//
//
// Shape rules: operands are float, all of one dtype. matmul multiplies the
// last two axes, [..., M, K] @ [..., K, N] -> [..., M, N], broadcasting the
// batch axes as NumPy does (rank >= 2; IRGen handles 1-D operands). conv2d is
// NCHW: x [N, C, H, W], w [Cout, C/groups, KH, KW], optional b [Cout] ->
// [N, Cout, OH, OW] with OH = floor((H + 2*ph - dh*(KH-1) - 1) / sh) + 1.
//
// Evals: plain loops in f64. The three convolution ops share one loop over
// every (input element, weight element, output element) triple that the
// convolution multiplies together (forEachConvTap), so conv2d_grad_input and
// conv2d_grad_weight are the exact adjoints of conv2d by construction.
//
//===----------------------------------------------------------------------===//
#include "ir/Grad.h"
#include "ir/Interpreter.h"
#include "ir/ops/Common.h"

namespace gradc::ir {
using namespace ops;

//===----------------------------------------------------------------------===//
// matmul and matmul_t
//===----------------------------------------------------------------------===//

/// Whether \p A (a matmul or matmul_t node's attributes) asks for operand
/// \p Flag ("transpose_a", "transpose_b") transposed; plain matmul: never.
static bool flag(const AttrList &A, std::string_view Flag) {
  const AttrValue *V = findAttr(A, Flag);
  return V && std::get<bool>(*V);
}

/// op(X) @ op(Y) with op the transpose of the last two axes where \p TX /
/// \p TY are set: a plain matmul when neither is, else a matmul_t.
static ValueId makeMatmul(GradCtx &C, ValueId X, ValueId Y, bool TX, bool TY) {
  if (!TX && !TY)
    return C.make(Op::Matmul, {X, Y});
  return C.make(Op::MatmulT, {X, Y},
                {{"transpose_a", TX}, {"transpose_b", TY}});
}

// d/da a@b = g @ b^T, d/db a@b = a^T @ g (^T swaps the last two axes; the
// broadcast batch axes are summed down to each operand's shape by autodiff)
static void gradMatmul(GradCtx &C) {
  ValueId G = C.grad();
  if (C.needs(0))
    C.setGrad(0,
              C.make(Op::Matmul, {G, C.make(Op::Transpose, {C.operand(1)})}));
  if (C.needs(1))
    C.setGrad(1,
              C.make(Op::Matmul, {C.make(Op::Transpose, {C.operand(0)}), G}));
}

// With c = op(a) @ op(b), op the transpose of the last two axes where the
// node's flag is set:
//   d/d op(a) = g @ op(b)^T, so da = g @ op(b)^T     (a not transposed)
//                               da = op(b) @ g^T     (a transposed)
//   d/d op(b) = op(a)^T @ g, so db = op(a)^T @ g     (b not transposed)
//                               db = g^T @ op(a)     (b transposed)
// each a matmul with flags rather than a transpose op; the broadcast batch
// axes are summed down to each operand's shape by autodiff
static void gradMatmulT(GradCtx &C) {
  ValueId G = C.grad(), A = C.operand(0), B = C.operand(1);
  bool TA = C.getBool("transpose_a"), TB = C.getBool("transpose_b");
  if (C.needs(0))
    C.setGrad(0, TA ? makeMatmul(C, B, G, TB, true)
                    : makeMatmul(C, G, B, false, !TB));
  if (C.needs(1))
    C.setGrad(1, TB ? makeMatmul(C, G, A, true, TA)
                    : makeMatmul(C, A, G, !TA, false));
}

// out[.., i, j] += A(i, p) * B(p, j) for i, p, j in that order, so every
// element is summed in increasing p whatever the flags (a transposed operand
// is only indexed differently: A(i, p) = a[.., p, i], B(p, j) = b[.., j, p])
static bool evalMatmul(EvalCtx &C) {
  const Tensor &A = C.in(0), &B = C.in(1);
  Tensor &Out = C.out();
  const Shape &AD = A.Type.Dims, &BD = B.Type.Dims, &OD = Out.Type.Dims;
  bool TA = flag(C.node().Attrs, "transpose_a"),
       TB = flag(C.node().Attrs, "transpose_b");
  int64_t M = OD[OD.size() - 2], N = OD.back();
  int64_t K = TA ? AD[AD.size() - 2] : AD.back();
  // Strides of A(i, p) and B(p, j) within one matrix.
  int64_t AI = TA ? 1 : K, AP = TA ? M : 1, BP = TB ? 1 : N, BJ = TB ? K : 1;
  std::vector<Shape> Batches = {Shape(AD.begin(), AD.end() - 2),
                                Shape(BD.begin(), BD.end() - 2)};
  forEachBroadcast(
      Shape(OD.begin(), OD.end() - 2), Batches,
      [&](int64_t O, std::span<const int64_t> In) {
        const double *PA = A.Data.data() + In[0] * M * K;
        const double *PB = B.Data.data() + In[1] * K * N;
        double *PO = Out.Data.data() + O * M * N;
        for (int64_t I = 0; I < M; ++I)
          for (int64_t P = 0; P < K; ++P) {
            double AV = PA[I * AI + P * AP];
            for (int64_t J = 0; J < N; ++J)
              PO[I * N + J] += AV * PB[P * BP + J * BJ];
          }
      });
  return true;
}

/// [..., M, K] @ [..., K, N] -> [..., M, N] with the batch axes broadcast;
/// for matmul_t each operand's last two axes are read swapped when its
/// flag is set.
static bool matmulRule(InferCtx &C) {
  DType T;
  if (!requireSameFloat(C, T) || !requireMinRank(C, 0, 2) ||
      !requireMinRank(C, 1, 2))
    return false;
  bool TA = flag(C.attrs(), "transpose_a"), TB = flag(C.attrs(), "transpose_b");
  const TensorType &A = C.operand(0), &B = C.operand(1);
  size_t RA = A.Dims.size(), RB = B.Dims.size();
  int64_t M = A.Dims[TA ? RA - 1 : RA - 2], KA = A.Dims[TA ? RA - 2 : RA - 1];
  int64_t KB = B.Dims[TB ? RB - 1 : RB - 2], N = B.Dims[TB ? RB - 2 : RB - 1];
  if (KA != KB)
    return C.error("{} inner dimensions differ: {}{} @ {}{}", C.name(),
                   formatType(A), TA ? "^T" : "", formatType(B),
                   TB ? "^T" : "");
  std::optional<Shape> Batch =
      broadcastShapes(Shape(A.Dims.begin(), A.Dims.end() - 2),
                      Shape(B.Dims.begin(), B.Dims.end() - 2));
  if (!Batch)
    return C.error("{} batch dimensions cannot broadcast: {} @ {}", C.name(),
                   formatType(A), formatType(B));
  Shape Dims = std::move(*Batch);
  Dims.push_back(M);
  Dims.push_back(N);
  return setResult(C, T, std::move(Dims));
}

// matmul(a, b)[.., i, j] = sum_k a[.., i, k] * b[.., k, j]
OpDef defineMatmul() { return {{}, matmulRule, gradMatmul, evalMatmul}; }

// matmul_t(a, b) = op(a) @ op(b), op the transpose of the last two axes
// where `transpose_a` / `transpose_b` is set (internal: the layout pass folds
// transposes of matmul operands into these flags)
OpDef defineMatmulT() {
  return {{{"transpose_a", AttrKind::Bool, false},
           {"transpose_b", AttrKind::Bool, false}},
          matmulRule,
          gradMatmulT,
          evalMatmul};
}

//===----------------------------------------------------------------------===//
// conv2d and its gradient ops
//===----------------------------------------------------------------------===//

namespace {
/// The sizes of one convolution: x [N, C, H, W], w [Cout, Cg, KH, KW] with
/// Cg = C / Groups, y [N, Cout, OH, OW].
struct ConvGeom {
  int64_t N, C, H, W, Cout, Cg, KH, KW, OH, OW;
  int64_t SH, SW, PH, PW, DH, DW, Groups;
};
} // namespace

static ConvGeom convGeom(const EvalCtx &Ctx, const Shape &X, const Shape &W,
                         const Shape &Y) {
  const IntList &S = Ctx.getInts("stride"), &P = Ctx.getInts("padding"),
                &D = Ctx.getInts("dilation");
  return {X[0], X[1], X[2], X[3], W[0], W[1], W[2], W[3], Y[2], Y[3],
          S[0], S[1], P[0], P[1], D[0], D[1], Ctx.getInt("groups")};
}

/// Calls F(XIndex, WIndex, YIndex) for every product x[XIndex] * w[WIndex]
/// that the convolution adds into y[YIndex] (taps that fall into the
/// padding are skipped).
template <typename Fn> static void forEachConvTap(const ConvGeom &G, Fn &&F) {
  int64_t PerGroup = G.Cout / G.Groups;
  for (int64_t N = 0; N < G.N; ++N)
    for (int64_t O = 0; O < G.Cout; ++O) {
      int64_t YPlane = (N * G.Cout + O) * G.OH * G.OW;
      for (int64_t C = 0; C < G.Cg; ++C) {
        int64_t XPlane = (N * G.C + (O / PerGroup) * G.Cg + C) * G.H * G.W;
        for (int64_t P = 0; P < G.KH; ++P)
          for (int64_t Q = 0; Q < G.KW; ++Q) {
            int64_t WIdx = ((O * G.Cg + C) * G.KH + P) * G.KW + Q;
            for (int64_t I = 0; I < G.OH; ++I) {
              int64_t IH = I * G.SH - G.PH + P * G.DH;
              if (IH < 0 || IH >= G.H)
                continue;
              for (int64_t J = 0; J < G.OW; ++J) {
                int64_t IW = J * G.SW - G.PW + Q * G.DW;
                if (IW < 0 || IW >= G.W)
                  continue;
                F(XPlane + IH * G.W + IW, WIdx, YPlane + I * G.OW + J);
              }
            }
          }
      }
    }
}

/// The forward node's stride, padding, dilation and groups, after the
/// gradient op's size attribute \p Size (when not empty).
static AttrList convAttrs(const GradCtx &C, std::string_view Size = {},
                          IntList SizeValue = {}) {
  AttrList A;
  if (!Size.empty())
    A.push_back({std::string(Size), std::move(SizeValue)});
  for (const char *N : {"stride", "padding", "dilation"})
    A.push_back({N, C.getInts(N)});
  A.push_back({"groups", C.getInt("groups")});
  return A;
}

/// The last two dimensions of \p V's type: [H, W] or [KH, KW].
static IntList spatial(const GradCtx &C, ValueId V) {
  const Shape D = C.type(V).Dims;
  return {D[2], D[3]};
}

// d/dx conv2d(x, w, b) = conv2d_grad_input(g, w),
// d/dw conv2d(x, w, b) = conv2d_grad_weight(x, g),
// d/db conv2d(x, w, b) = sum(g, axes = [0, 2, 3])
static void gradConv2d(GradCtx &C) {
  ValueId G = C.grad(), X = C.operand(0), W = C.operand(1);
  if (C.needs(0))
    C.setGrad(0, C.make(Op::Conv2dGradInput, {G, W},
                        convAttrs(C, "input_size", spatial(C, X))));
  if (C.needs(1))
    C.setGrad(1, C.make(Op::Conv2dGradWeight, {X, G},
                        convAttrs(C, "kernel", spatial(C, W))));
  if (C.numOperands() == 3 && C.needs(2))
    C.setGrad(2, C.make(Op::Sum, {G}, {{"axes", IntList{0, 2, 3}}}));
}

static bool evalConv2d(EvalCtx &C) {
  const Tensor &X = C.in(0), &W = C.in(1);
  Tensor &Y = C.out();
  ConvGeom G = convGeom(C, X.Type.Dims, W.Type.Dims, Y.Type.Dims);
  if (C.numOperands() == 3) {
    const Tensor &B = C.in(2);
    int64_t Plane = G.OH * G.OW;
    for (int64_t I = 0; I < static_cast<int64_t>(Y.size()); ++I)
      Y.Data[I] = B.Data[(I / Plane) % G.Cout];
  }
  forEachConvTap(G, [&](int64_t XI, int64_t WI, int64_t YI) {
    Y.Data[YI] += X.Data[XI] * W.Data[WI];
  });
  return true;
}

// conv2d(x, w, b)[n, o, i, j] = b[o] + sum_{c, p, q} x[n, g*C/groups + c,
//   i*sh - ph + p*dh, j*sw - pw + q*dw] * w[o, c, p, q]  (g = o /
//   (Cout/groups), zero outside x); cross-correlation as in PyTorch
OpDef defineConv2d() {
  return {
      {{"stride", AttrKind::Pair, int64_t(1)},
       {"padding", AttrKind::Pair, int64_t(0)},
       {"dilation", AttrKind::Pair, int64_t(1)},
       {"groups", AttrKind::Int, int64_t(1)}},
      [](InferCtx &C) {
        DType T;
        if (!requireSameFloat(C, T))
          return false;
        const TensorType &X = C.operand(0), &W = C.operand(1);
        if (X.rank() != 4)
          return C.errorAt(0, "'conv2d' input must be [N, C, H, W], got {}",
                           formatType(X));
        if (W.rank() != 4)
          return C.errorAt(1,
                           "'conv2d' weight must be [Cout, C/groups, KH, KW], "
                           "got {}",
                           formatType(W));
        if (!requirePairAtLeast(C, "stride", 1) ||
            !requirePairAtLeast(C, "padding", 0) ||
            !requirePairAtLeast(C, "dilation", 1))
          return false;
        int64_t Groups = C.getInt("groups");
        if (Groups < 1)
          return C.error("'groups' of 'conv2d' must be >= 1, got {}", Groups);
        int64_t Chan = X.Dims[1], Cout = W.Dims[0];
        if (Chan % Groups != 0)
          return C.errorAt(0,
                           "'conv2d' input channels ({}) must be divisible by "
                           "groups ({}): input is {}",
                           Chan, Groups, formatType(X));
        if (Cout % Groups != 0)
          return C.errorAt(1,
                           "'conv2d' output channels ({}) must be divisible by "
                           "groups ({}): weight is {}",
                           Cout, Groups, formatType(W));
        if (W.Dims[1] != Chan / Groups)
          return C.errorAt(1,
                           "'conv2d' weight {} must have {} input channels "
                           "(C/groups = {}/{}) in axis 1 for the input {}",
                           formatType(W), Chan / Groups, Chan, Groups,
                           formatType(X));
        if (C.numOperands() == 3) {
          const TensorType &Bias = C.operand(2);
          if (Bias.Dims != Shape{Cout})
            return C.errorAt(
                2,
                "'conv2d' bias must be [{}] to match the weight {}, "
                "got {}",
                Cout, formatType(W), formatType(Bias));
        }
        const IntList &S = C.getInts("stride"), &P = C.getInts("padding"),
                      &D = C.getInts("dilation");
        int64_t OH, OW;
        if (!windowOutput(C, "height", X.Dims[2], W.Dims[2], S[0], P[0], D[0],
                          OH) ||
            !windowOutput(C, "width", X.Dims[3], W.Dims[3], S[1], P[1], D[1],
                          OW))
          return false;
        return setResult(C, T, {X.Dims[0], Cout, OH, OW});
      },
      gradConv2d, evalConv2d};
}

static std::vector<AttrSpec> convGradAttrs(std::string_view Size) {
  return {{Size, AttrKind::Pair, std::nullopt},
          {"stride", AttrKind::Pair, int64_t(1)},
          {"padding", AttrKind::Pair, int64_t(0)},
          {"dilation", AttrKind::Pair, int64_t(1)},
          {"groups", AttrKind::Int, int64_t(1)}};
}

/// Both gradient ops of conv2d take a rank-4 float pair of one dtype.
static bool convGradOperands(InferCtx &C) {
  DType T;
  if (!requireSameFloat(C, T))
    return false;
  for (size_t I = 0; I < 2; ++I)
    if (C.operand(I).rank() != 4)
      return C.errorAt(static_cast<int>(I), "'{}' operand must have rank 4, got {}",
                       C.name(), formatType(C.operand(I)));
  return requirePairAtLeast(C, C.op() == Op::Conv2dGradInput ? "input_size" : "kernel", 1) &&
         C.getInt("groups") >= 1;
}

// conv2d_grad_input(g, w) is bilinear; with c the gradient of its result
// (x-shaped): <c, conv2d_grad_input(g, w)> = <conv2d(c, w), g>
//                                          = <w, conv2d_grad_weight(c, g)>, so
// d/dg = conv2d(c, w), d/dw = conv2d_grad_weight(c, g)
static void gradConv2dGradInput(GradCtx &C) {
  ValueId Cot = C.grad(), G = C.operand(0), W = C.operand(1);
  if (C.needs(0))
    C.setGrad(0, C.make(Op::Conv2d, {Cot, W}, convAttrs(C)));
  if (C.needs(1))
    C.setGrad(1, C.make(Op::Conv2dGradWeight, {Cot, G},
                        convAttrs(C, "kernel", spatial(C, W))));
}

// dx[XI] += g[YI] * w[WI] over every tap of the forward convolution
static bool evalConv2dGradInput(EvalCtx &C) {
  const Tensor &G = C.in(0), &W = C.in(1);
  Tensor &X = C.out();
  ConvGeom Geo = convGeom(C, X.Type.Dims, W.Type.Dims, G.Type.Dims);
  forEachConvTap(Geo, [&](int64_t XI, int64_t WI, int64_t YI) {
    X.Data[XI] += G.Data[YI] * W.Data[WI];
  });
  return true;
}

// conv2d_grad_weight(x, g) is bilinear; with c the gradient of its result
// (w-shaped): <c, conv2d_grad_weight(x, g)> = <conv2d(x, c), g>
//                                           = <x, conv2d_grad_input(g, c)>, so
// d/dx = conv2d_grad_input(g, c), d/dg = conv2d(x, c)
static void gradConv2dGradWeight(GradCtx &C) {
  ValueId Cot = C.grad(), X = C.operand(0), G = C.operand(1);
  if (C.needs(0))
    C.setGrad(0, C.make(Op::Conv2dGradInput, {G, Cot},
                        convAttrs(C, "input_size", spatial(C, X))));
  if (C.needs(1))
    C.setGrad(1, C.make(Op::Conv2d, {X, Cot}, convAttrs(C)));
}

// dw[WI] += x[XI] * g[YI] over every tap of the forward convolution
static bool evalConv2dGradWeight(EvalCtx &C) {
  const Tensor &X = C.in(0), &G = C.in(1);
  Tensor &W = C.out();
  ConvGeom Geo = convGeom(C, X.Type.Dims, W.Type.Dims, G.Type.Dims);
  forEachConvTap(Geo, [&](int64_t XI, int64_t WI, int64_t YI) {
    W.Data[WI] += X.Data[XI] * G.Data[YI];
  });
  return true;
}

// conv2d_grad_input(g, w) = d conv2d(x, w) / dx applied to g: the transposed
// convolution, [N, Cout, OH, OW] -> [N, C, H, W] with [H, W] = input_size
OpDef defineConv2dGradInput() {
  return {convGradAttrs("input_size"), [](InferCtx &C) {
            if (!convGradOperands(C))
              return false;
            const TensorType &G = C.operand(0), &W = C.operand(1);
            const IntList &Size = C.getInts("input_size");
            TensorType X(G.Elt, {G.Dims[0], W.Dims[1] * C.getInt("groups"),
                                 Size[0], Size[1]});
            if (!checkForward(C, Op::Conv2d, {X, W}, "input_size", G, 0))
              return false;
            C.Result = X;
            return true;
          },
          gradConv2dGradInput, evalConv2dGradInput};
}

// conv2d_grad_weight(x, g) = d conv2d(x, w) / dw applied to g:
// [Cout, C/groups, KH, KW] with [KH, KW] = kernel
OpDef defineConv2dGradWeight() {
  return {convGradAttrs("kernel"), [](InferCtx &C) {
            if (!convGradOperands(C))
              return false;
            const TensorType &X = C.operand(0), &G = C.operand(1);
            const IntList &K = C.getInts("kernel");
            int64_t Groups = C.getInt("groups");
            if (X.Dims[1] % Groups != 0)
              return C.errorAt(0, "'{}' input channels must be divisible by groups", C.name());
            TensorType W(X.Elt, {G.Dims[1], X.Dims[1] / Groups, K[0], K[1]});
            if (!checkForward(C, Op::Conv2d, {X, W}, "kernel", G, 1))
              return false;
            C.Result = W;
            return true;
          },
          gradConv2dGradWeight, evalConv2dGradWeight};
}

} // namespace gradc::ir
