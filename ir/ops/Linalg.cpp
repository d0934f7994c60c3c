//===- ir/ops/Linalg.cpp - Matrix products and convolution ---------------===//
//
// Shape rules: operands are float, all of one dtype. matmul multiplies the
// last two axes, [..., M, K] @ [..., K, N] -> [..., M, N], broadcasting the
// batch axes as NumPy does (rank >= 2; IRGen handles 1-D operands). conv2d is
// NCHW: x [N, C, H, W], w [Cout, C/groups, KH, KW], optional b [Cout] ->
// [N, Cout, OH, OW] with OH = floor((H + 2*ph - dh*(KH-1) - 1) / sh) + 1.
//
//===----------------------------------------------------------------------===//
#include "ir/ops/Common.h"

namespace gradc::ir {
using namespace ops;

// matmul(a, b)[.., i, j] = sum_k a[.., i, k] * b[.., k, j]
OpDef defineMatmul() {
  return {{}, [](InferCtx &C) {
            DType T;
            if (!requireSameFloat(C, T) || !requireMinRank(C, 0, 2) ||
                !requireMinRank(C, 1, 2))
              return false;
            const TensorType &A = C.operand(0), &B = C.operand(1);
            size_t RA = A.Dims.size(), RB = B.Dims.size();
            if (A.Dims[RA - 1] != B.Dims[RB - 2])
              return C.error("matmul inner dimensions differ: {} @ {}",
                             formatType(A), formatType(B));
            std::optional<Shape> Batch =
                broadcastShapes(Shape(A.Dims.begin(), A.Dims.end() - 2),
                                Shape(B.Dims.begin(), B.Dims.end() - 2));
            if (!Batch)
              return C.error(
                  "matmul batch dimensions cannot broadcast: {} @ {}",
                  formatType(A), formatType(B));
            Shape Dims = std::move(*Batch);
            Dims.push_back(A.Dims[RA - 2]);
            Dims.push_back(B.Dims[RB - 1]);
            return setResult(C, T, std::move(Dims));
          }};
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
      }};
}

} // namespace gradc::ir
