//===- tests/unit/LinalgEvalTest.cpp - Evals and gradients of matmul, conv ===//
//
// The reference semantics of matmul (with batch broadcasting), conv2d (stride,
// padding, dilation, groups, bias) and its two gradient ops: hand-computed
// cases, a naive reference convolution written here from the definition, the
// adjoint identities
//   <conv2d(x, w), g> == <x, conv2d_grad_input(g, w)>
//                     == <w, conv2d_grad_weight(x, g)>
// on random data, and the gradient rules (including those of the gradient
// ops, for grad-of-grad) against central differences of the Evals, directly
// and through autodiff with a Hessian-vector product.
//
//===----------------------------------------------------------------------===//
#include "EvalTestUtil.h"
#include "ir/Grad.h"
#include "ir/Interpreter.h"
#include "ir/OpDefs.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

using namespace gradc::ir;

namespace {

using Kw = std::vector<NamedAttrValue>;
AttrValue L(std::initializer_list<int64_t> V) { return IntList(V); }
AttrValue I(int64_t V) { return V; }

TensorType f64(Shape S) { return {DType::F64, std::move(S)}; }

/// A node of \p O on operands of types \p Ts with attributes \p K, bound
/// and typed like the front end does.
Node makeNode(Op O, const std::vector<TensorType> &Ts, const Kw &K = {}) {
  Node N;
  N.Opcode = O;
  std::string Err;
  int ErrArg;
  bool Ok =
      bindAttrs(mnemonic(O), getOpDef(O).Attrs, {}, K, N.Attrs, Err, ErrArg);
  EXPECT_TRUE(Ok) << Err;
  Ok = Ok && inferType(O, Ts, N.Attrs, N.Type, Err, ErrArg);
  EXPECT_TRUE(Ok) << mnemonic(O) << ": " << Err;
  return N;
}

Tensor tensor(TensorType T, std::vector<double> Data) {
  Tensor R(std::move(T));
  EXPECT_EQ(R.size(), Data.size());
  R.Data = std::move(Data);
  return R;
}

Tensor random(TensorType T, std::mt19937_64 &Rng) {
  Tensor R(std::move(T));
  std::uniform_real_distribution<double> U(-1, 1);
  for (double &D : R.Data)
    D = U(Rng);
  return R;
}

/// Evaluates \p O on \p Ins; expects success.
Tensor eval(Op O, const std::vector<const Tensor *> &Ins, const Kw &K = {}) {
  std::vector<TensorType> Ts;
  for (const Tensor *T : Ins)
    Ts.push_back(T->Type);
  Node N = makeNode(O, Ts, K);
  Tensor Out;
  std::string Err;
  EXPECT_TRUE(evalNode(N, Ins, Out, Err)) << Err;
  EXPECT_EQ(Out.Type, N.Type);
  return Out;
}

double dot(const Tensor &A, const Tensor &B) {
  EXPECT_EQ(A.Type.Dims, B.Type.Dims);
  double S = 0;
  for (size_t I = 0; I < A.size(); ++I)
    S += A.Data[I] * B.Data[I];
  return S;
}

void expectNear(const Tensor &A, const Tensor &B, double Tol = 1e-12) {
  ASSERT_EQ(A.Type, B.Type);
  for (size_t I = 0; I < A.size(); ++I)
    EXPECT_NEAR(A.Data[I], B.Data[I], Tol) << "at " << I;
}

//===----------------------------------------------------------------------===//
// matmul, matmul_t
//===----------------------------------------------------------------------===//

/// \p T with its last two axes swapped, through the transpose op.
Tensor swapLastTwo(const Tensor &T) {
  return eval(Op::Transpose, {&T});
}

// matmul_t(a, b) with flags is matmul of the explicitly transposed operands,
// bit for bit: the same products summed in the same order.
TEST(LinalgEval, MatmulTIsMatmulOfTransposes) {
  std::mt19937_64 Rng(11);
  for (int TA = 0; TA < 2; ++TA)
    for (int TB = 0; TB < 2; ++TB) {
      SCOPED_TRACE(fmt::format("transpose_a = {}, transpose_b = {}", TA, TB));
      // op(a) [2, 1, 3, 5] @ op(b) [4, 5, 2] -> [2, 4, 3, 2]
      Tensor A = random(f64(TA ? Shape{2, 1, 5, 3} : Shape{2, 1, 3, 5}), Rng);
      Tensor B = random(f64(TB ? Shape{4, 2, 5} : Shape{4, 5, 2}), Rng);
      Tensor OpA = TA ? swapLastTwo(A) : A, OpB = TB ? swapLastTwo(B) : B;
      Tensor Want = eval(Op::Matmul, {&OpA, &OpB});
      Tensor Got = eval(Op::MatmulT, {&A, &B},
                        {{"transpose_a", AttrValue(bool(TA))},
                         {"transpose_b", AttrValue(bool(TB))}});
      ASSERT_EQ(Got.Type, f64({2, 4, 3, 2}));
      EXPECT_EQ(Got.Data, Want.Data);
    }
}

TEST(LinalgEval, MatmulByHand) {
  Tensor A = tensor(f64({2, 3}), {1, 2, 3, 4, 5, 6});
  Tensor B = tensor(f64({3, 2}), {7, 8, 9, 10, 11, 12});
  Tensor Y = eval(Op::Matmul, {&A, &B});
  EXPECT_EQ(Y.Type, f64({2, 2}));
  EXPECT_EQ(Y.Data, (std::vector<double>{58, 64, 139, 154}));
}

TEST(LinalgEval, MatmulF32RoundsTheResult) {
  Tensor A = tensor({DType::F32, {1, 2}}, {1, 1});
  Tensor B = tensor({DType::F32, {2, 1}}, {1, 1e-10});
  Tensor Y = eval(Op::Matmul, {&A, &B});
  EXPECT_EQ(Y.Data[0], static_cast<double>(1.0f + 1e-10f));
}

TEST(LinalgEval, MatmulBroadcastsBatchAxes) {
  std::mt19937_64 Rng(1);
  // [2, 1, 2, 3] @ [3, 3, 4] -> [2, 3, 2, 4]
  Tensor A = random(f64({2, 1, 2, 3}), Rng), B = random(f64({3, 3, 4}), Rng);
  Tensor Y = eval(Op::Matmul, {&A, &B});
  ASSERT_EQ(Y.Type, f64({2, 3, 2, 4}));
  for (int64_t P = 0; P < 2; ++P)
    for (int64_t Q = 0; Q < 3; ++Q)
      for (int64_t M = 0; M < 2; ++M)
        for (int64_t N = 0; N < 4; ++N) {
          double S = 0;
          for (int64_t K = 0; K < 3; ++K)
            S += A.Data[(P * 2 + M) * 3 + K] * B.Data[(Q * 3 + K) * 4 + N];
          EXPECT_NEAR(Y.Data[((P * 3 + Q) * 2 + M) * 4 + N], S, 1e-14);
        }
  // A rank-2 operand against a batch: [2, 3] @ [5, 3, 1] -> [5, 2, 1].
  Tensor A2 = random(f64({2, 3}), Rng), B2 = random(f64({5, 3, 1}), Rng);
  Tensor Y2 = eval(Op::Matmul, {&A2, &B2});
  ASSERT_EQ(Y2.Type, f64({5, 2, 1}));
  for (int64_t Q = 0; Q < 5; ++Q)
    for (int64_t M = 0; M < 2; ++M) {
      double S = 0;
      for (int64_t K = 0; K < 3; ++K)
        S += A2.Data[M * 3 + K] * B2.Data[Q * 3 + K];
      EXPECT_NEAR(Y2.Data[Q * 2 + M], S, 1e-14);
    }
}

//===----------------------------------------------------------------------===//
// conv2d
//===----------------------------------------------------------------------===//

struct ConvCase {
  Shape X, W;
  int64_t SH, SW, PH, PW, DH, DW, Groups;
  bool Bias;
};

Kw convKw(const ConvCase &C) {
  return {{"stride", L({C.SH, C.SW})},
          {"padding", L({C.PH, C.PW})},
          {"dilation", L({C.DH, C.DW})},
          {"groups", I(C.Groups)}};
}

/// conv2d straight from its definition: one output element at a time.
Tensor naiveConv(const ConvCase &C, const Tensor &X, const Tensor &W,
                 const Tensor *B, const Shape &YShape) {
  Tensor Y(f64(YShape));
  int64_t N = X.Type.Dims[0], Cin = X.Type.Dims[1], H = X.Type.Dims[2],
          Wd = X.Type.Dims[3];
  int64_t Cout = W.Type.Dims[0], Cg = W.Type.Dims[1], KH = W.Type.Dims[2],
          KW = W.Type.Dims[3];
  int64_t OH = YShape[2], OW = YShape[3];
  EXPECT_EQ(Cg * C.Groups, Cin);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < Cout; ++o) {
      int64_t g = o / (Cout / C.Groups);
      for (int64_t i = 0; i < OH; ++i)
        for (int64_t j = 0; j < OW; ++j) {
          double S = B ? B->Data[o] : 0.0;
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t p = 0; p < KH; ++p)
              for (int64_t q = 0; q < KW; ++q) {
                int64_t h = i * C.SH - C.PH + p * C.DH;
                int64_t w = j * C.SW - C.PW + q * C.DW;
                if (h < 0 || h >= H || w < 0 || w >= Wd)
                  continue;
                S += X.Data[((n * Cin + g * Cg + c) * H + h) * Wd + w] *
                     W.Data[((o * Cg + c) * KH + p) * KW + q];
              }
          Y.Data[((n * Cout + o) * OH + i) * OW + j] = S;
        }
    }
  return Y;
}

const std::vector<ConvCase> &convCases() {
  static const std::vector<ConvCase> Cases = {
      // X, W, stride, padding, dilation, groups, bias
      {{1, 1, 5, 5}, {1, 1, 3, 3}, 1, 1, 0, 0, 1, 1, 1, false},
      {{2, 3, 6, 5}, {4, 3, 3, 2}, 1, 1, 1, 1, 1, 1, 1, true},  // padding
      {{2, 2, 7, 8}, {3, 2, 3, 3}, 2, 3, 0, 1, 1, 1, 1, true},  // stride
      {{1, 2, 8, 7}, {2, 2, 3, 2}, 1, 1, 2, 1, 2, 3, 1, false}, // dilation
      {{2, 4, 5, 5}, {6, 2, 3, 3}, 1, 1, 1, 1, 1, 1, 2, true},  // groups
      {{1, 6, 6, 6}, {6, 1, 3, 3}, 2, 1, 1, 0, 1, 2, 6, true},  // depthwise
      {{2, 6, 9, 10}, {3, 2, 2, 3}, 3, 2, 2, 1, 2, 2, 3, true}, // everything
      {{1, 2, 6, 6}, {2, 2, 1, 1}, 2, 2, 0, 0, 1, 1, 1, false}, // 1x1, stride
      {{1, 1, 4, 4}, {1, 1, 2, 2}, 3, 3, 1, 1, 1, 1, 1, false}, // rows skipped
  };
  return Cases;
}

TEST(LinalgEval, Conv2dByHand) {
  Tensor X = tensor(f64({1, 1, 3, 3}), {1, 2, 3, 4, 5, 6, 7, 8, 9});
  Tensor W = tensor(f64({1, 1, 2, 2}), {1, 0, 0, -1});
  Tensor B = tensor(f64({1}), {10});
  Tensor Y = eval(Op::Conv2d, {&X, &W, &B});
  EXPECT_EQ(Y.Type, f64({1, 1, 2, 2}));
  EXPECT_EQ(Y.Data, (std::vector<double>{6, 6, 6, 6}));
  // Padding 1: zeros around; the corners see one element each.
  Tensor Yp = eval(Op::Conv2d, {&X, &W}, {{"padding", I(1)}});
  EXPECT_EQ(Yp.Type, f64({1, 1, 4, 4}));
  EXPECT_EQ(Yp.Data, (std::vector<double>{-1, -2, -3, 0, -4, -4, -4, 3, -7, -4,
                                          -4, 6, 0, 7, 8, 9}));
  // Stride 2 with padding 1: output [2, 2] reads the corners of the padded
  // input.
  Tensor Ys = eval(Op::Conv2d, {&X, &W}, {{"padding", I(1)}, {"stride", I(2)}});
  EXPECT_EQ(Ys.Data, (std::vector<double>{-1, -3, -7, -4}));
  // Dilation 2: the 2x2 kernel spans the 3x3 input: 1 - 9.
  Tensor Yd = eval(Op::Conv2d, {&X, &W}, {{"dilation", I(2)}});
  EXPECT_EQ(Yd.Data, (std::vector<double>{-8}));
}

TEST(LinalgEval, Conv2dGroupsByHand) {
  // Two groups of one channel: output channel o sees only input channel o.
  Tensor X = tensor(f64({1, 2, 1, 2}), {1, 2, 3, 4});
  Tensor W = tensor(f64({2, 1, 1, 1}), {10, 100});
  Tensor Y = eval(Op::Conv2d, {&X, &W}, {{"groups", I(2)}});
  EXPECT_EQ(Y.Data, (std::vector<double>{10, 20, 300, 400}));
}

TEST(LinalgEval, Conv2dMatchesNaiveReference) {
  std::mt19937_64 Rng(2);
  for (const ConvCase &C : convCases()) {
    SCOPED_TRACE(formatShape(C.X) + " * " + formatShape(C.W));
    Tensor X = random(f64(C.X), Rng), W = random(f64(C.W), Rng);
    Tensor B = random(f64({C.W[0]}), Rng);
    std::vector<const Tensor *> Ins = {&X, &W};
    if (C.Bias)
      Ins.push_back(&B);
    Tensor Y = eval(Op::Conv2d, Ins, convKw(C));
    expectNear(Y, naiveConv(C, X, W, C.Bias ? &B : nullptr, Y.Type.Dims),
               1e-13);
  }
}

TEST(LinalgEval, Conv2dGradOpsAreAdjoints) {
  std::mt19937_64 Rng(3);
  for (const ConvCase &C : convCases()) {
    SCOPED_TRACE(formatShape(C.X) + " * " + formatShape(C.W));
    Tensor X = random(f64(C.X), Rng), W = random(f64(C.W), Rng);
    Tensor Y = eval(Op::Conv2d, {&X, &W}, convKw(C));
    Tensor G = random(Y.Type, Rng);
    Kw In = convKw(C), Ker = convKw(C);
    In.push_back({"input_size", L({C.X[2], C.X[3]})});
    Ker.push_back({"kernel", L({C.W[2], C.W[3]})});
    Tensor DX = eval(Op::Conv2dGradInput, {&G, &W}, In);
    Tensor DW = eval(Op::Conv2dGradWeight, {&X, &G}, Ker);
    ASSERT_EQ(DX.Type, X.Type);
    ASSERT_EQ(DW.Type, W.Type);
    double Ref = dot(Y, G);
    EXPECT_NEAR(dot(X, DX), Ref, 1e-12 * (1 + std::fabs(Ref)));
    EXPECT_NEAR(dot(W, DW), Ref, 1e-12 * (1 + std::fabs(Ref)));
    // Each entry of the gradient ops is the derivative with respect to one
    // element: conv2d_grad_input(g, w)[k] = <conv2d(e_k, w), g>.
    Tensor E(X.Type);
    for (size_t K = 0; K < X.size(); K += 7) {
      E.Data.assign(E.size(), 0.0);
      E.Data[K] = 1;
      EXPECT_NEAR(DX.Data[K], dot(eval(Op::Conv2d, {&E, &W}, convKw(C)), G),
                  1e-12);
    }
  }
}

TEST(LinalgEval, Conv2dGradInputLeavesUnreadRowsZero) {
  // Stride 3 over 4 rows with a 2-row kernel: rows 2 (and column 2) are
  // never read by the forward convolution, so their gradient is zero.
  Tensor G = tensor(f64({1, 1, 2, 2}), {1, 2, 3, 4});
  Tensor W = tensor(f64({1, 1, 2, 2}), {1, 10, 100, 1000});
  Tensor DX = eval(Op::Conv2dGradInput, {&G, &W},
                   {{"input_size", L({5, 5})}, {"stride", I(3)}});
  EXPECT_EQ(DX.Data, (std::vector<double>{1,   10,   0, 2,   20,   //
                                          100, 1000, 0, 200, 2000, //
                                          0,   0,    0, 0,   0,    //
                                          3,   30,   0, 4,   40,   //
                                          300, 3000, 0, 400, 4000}));
}

//===----------------------------------------------------------------------===//
// Gradient rules: the graph each rule builds, evaluated, against central
// differences of the forward Eval.
//===----------------------------------------------------------------------===//

/// Sums \p T down to \p S (the inverse of NumPy broadcasting).
Tensor sumTo(const Tensor &T, const Shape &S) {
  if (T.Type.Dims == S)
    return T;
  Tensor R(TensorType(T.Type.Elt, S));
  std::vector<Shape> In = {S};
  forEachBroadcast(T.Type.Dims, In, [&](int64_t O, std::span<const int64_t> I) {
    R.Data[I[0]] += T.Data[O];
  });
  return R;
}

/// Builds O(operands) {K} and its gradient rule's graph for a random
/// gradient g, evaluates it, and checks <grad_i, v> against the central
/// difference of <O(..., x_i + eps v, ...), g> for every float operand.
/// Skips the test when an op the rule uses has no Eval yet.
void checkGradRule(Op O, std::vector<Tensor> Args, const Kw &K,
                   std::mt19937_64 &Rng) {
  Function F;
  Builder B(F);
  std::vector<ValueId> Ops;
  for (const Tensor &T : Args) {
    Node N;
    N.Opcode = Op::Input;
    N.Type = T.Type;
    F.Nodes.push_back(N);
    Ops.push_back(static_cast<ValueId>(F.Nodes.size() - 1));
  }
  std::vector<TensorType> Ts;
  for (const Tensor &T : Args)
    Ts.push_back(T.Type);
  Node Fwd = makeNode(O, Ts, K);
  Fwd.Operands = Ops;
  F.Nodes.push_back(Fwd);
  ValueId Out = static_cast<ValueId>(F.Nodes.size() - 1);
  Node GN;
  GN.Opcode = Op::Input;
  GN.Type = Fwd.Type;
  F.Nodes.push_back(GN);
  ValueId GId = static_cast<ValueId>(F.Nodes.size() - 1);
  std::vector<bool> Needs;
  for (const Tensor &T : Args)
    Needs.push_back(isFloat(T.Type.Elt));
  GradCtx C(B, F.node(Out), Out, GId, Needs);
  ASSERT_NE(getOpDef(O).Grad, nullptr) << mnemonic(O);
  getOpDef(O).Grad(C);

  // Evaluate the whole function.
  Tensor G = random(Fwd.Type, Rng);
  std::vector<Tensor> Vals(F.Nodes.size());
  for (ValueId V = 0; V < F.Nodes.size(); ++V) {
    const Node &N = F.Nodes[V];
    if (N.Opcode == Op::Input) {
      Vals[V] = V == GId ? G : Args[V];
      continue;
    }
    if (N.Opcode == Op::Constant) {
      Vals[V] = Tensor(N.Type);
      Vals[V].Data.assign(Vals[V].size(), getFloat(N.Attrs, "value"));
      continue;
    }
    if (!getOpDef(N.Opcode).Eval)
      GTEST_SKIP() << "no Eval for '" << mnemonic(N.Opcode) << "' yet";
    std::vector<const Tensor *> Ins;
    for (ValueId I : N.Operands)
      Ins.push_back(&Vals[I]);
    std::string Err;
    ASSERT_TRUE(evalNode(N, Ins, Vals[V], Err)) << Err;
  }

  for (size_t I = 0; I < Args.size(); ++I) {
    if (!Needs[I])
      continue;
    SCOPED_TRACE(fmt::format("{} operand {}", mnemonic(O), I));
    ValueId GV = C.grads()[I];
    ASSERT_NE(GV, GradCtx::NoGrad);
    Tensor Grad = sumTo(Vals[GV], Args[I].Type.Dims);
    Tensor V = random(Args[I].Type, Rng);
    const double Eps = 1e-6;
    auto At = [&](double S) {
      std::vector<Tensor> A = Args;
      for (size_t J = 0; J < V.size(); ++J)
        A[I].Data[J] += S * V.Data[J];
      std::vector<const Tensor *> Ins;
      for (const Tensor &T : A)
        Ins.push_back(&T);
      return dot(eval(O, Ins, K), G);
    };
    double FD = (At(Eps) - At(-Eps)) / (2 * Eps);
    EXPECT_NEAR(dot(Grad, V), FD, 1e-7 * (1 + std::fabs(FD)));
  }
}

TEST(LinalgGrad, MatmulT) {
  std::mt19937_64 Rng(12);
  for (int TA = 0; TA < 2; ++TA)
    for (int TB = 0; TB < 2; ++TB) {
      SCOPED_TRACE(fmt::format("transpose_a = {}, transpose_b = {}", TA, TB));
      Kw K = {{"transpose_a", AttrValue(bool(TA))},
              {"transpose_b", AttrValue(bool(TB))}};
      checkGradRule(Op::MatmulT,
                    {random(f64(TA ? Shape{2, 4, 3} : Shape{2, 3, 4}), Rng),
                     random(f64(TB ? Shape{5, 4} : Shape{4, 5}), Rng)},
                    K, Rng);
    }
}

TEST(LinalgGrad, Matmul) {
  std::mt19937_64 Rng(4);
  checkGradRule(Op::Matmul,
                {random(f64({3, 4}), Rng), random(f64({4, 2}), Rng)}, {}, Rng);
  checkGradRule(Op::Matmul,
                {random(f64({2, 1, 3, 4}), Rng), random(f64({3, 4, 2}), Rng)},
                {}, Rng);
}

TEST(LinalgGrad, Conv2d) {
  std::mt19937_64 Rng(5);
  for (const ConvCase &C : convCases()) {
    SCOPED_TRACE(formatShape(C.X) + " * " + formatShape(C.W));
    std::vector<Tensor> Args = {random(f64(C.X), Rng), random(f64(C.W), Rng)};
    if (C.Bias)
      Args.push_back(random(f64({C.W[0]}), Rng));
    checkGradRule(Op::Conv2d, Args, convKw(C), Rng);
  }
}

TEST(LinalgGrad, Conv2dGradOps) {
  std::mt19937_64 Rng(6);
  for (const ConvCase &C : convCases()) {
    SCOPED_TRACE(formatShape(C.X) + " * " + formatShape(C.W));
    Tensor X = random(f64(C.X), Rng), W = random(f64(C.W), Rng);
    Tensor Y = eval(Op::Conv2d, {&X, &W}, convKw(C));
    Kw In = convKw(C), Ker = convKw(C);
    In.push_back({"input_size", L({C.X[2], C.X[3]})});
    Ker.push_back({"kernel", L({C.W[2], C.W[3]})});
    checkGradRule(Op::Conv2dGradInput, {random(Y.Type, Rng), W}, In, Rng);
    checkGradRule(Op::Conv2dGradWeight, {X, random(Y.Type, Rng)}, Ker, Rng);
  }
}

TEST(LinalgGrad, ThroughAutodiffWithGradOfGrad) {
  evaltest::checkGradRandom(Op::Matmul, {{2, 1, 3, 4}, {3, 4, 2}});
  // Small convolutions: stride + padding + bias, dilation + groups.
  const Shape X1 = {1, 2, 5, 4}, W1 = {2, 2, 2, 3};
  Kw K1 = {{"stride", L({2, 1})}, {"padding", L({1, 2})}};
  evaltest::checkGradRandom(Op::Conv2d, {X1, W1, {2}}, K1);
  const Shape X2 = {2, 4, 5, 5}, W2 = {2, 2, 2, 2};
  Kw K2 = {{"dilation", L({2, 1})}, {"groups", I(2)}, {"padding", I(1)}};
  evaltest::checkGradRandom(Op::Conv2d, {X2, W2}, K2);
  // The gradient ops, whose rules make grad-of-grad of conv2d work.
  for (auto [X, W, K] : {std::tuple{X1, W1, K1}, std::tuple{X2, W2, K2}}) {
    Node N;
    std::string Err;
    ASSERT_TRUE(evaltest::makeNode(Op::Conv2d, {f64(X), f64(W)}, K, N, Err))
        << Err;
    Kw In = K, Ker = K;
    In.push_back({"input_size", L({X[2], X[3]})});
    Ker.push_back({"kernel", L({W[2], W[3]})});
    evaltest::checkGradRandom(Op::Conv2dGradInput, {N.Type.Dims, W}, In);
    evaltest::checkGradRandom(Op::Conv2dGradWeight, {X, N.Type.Dims}, Ker);
  }
  // Kernel 2, stride 2, padding 1 over 6x6: the output is 4x4.
  evaltest::checkGradRandom(Op::Conv2dGradWeight, {{2, 4, 6, 6}, {2, 2, 4, 4}},
                            {{"kernel", I(2)},
                             {"stride", I(2)},
                             {"padding", I(1)},
                             {"groups", I(2)}});
}

} // namespace
