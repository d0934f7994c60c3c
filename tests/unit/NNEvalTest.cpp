//===- tests/unit/NNEvalTest.cpp - Evals and gradients of the NN family ---===//
//
// max_pool2d, avg_pool2d, embedding, their gradient ops and dropout_mask:
// hand-computed cases (ties, padding, overlapping windows), naive references
// written here from the definitions, the adjoint identities
//   <avg_pool2d(x), g> == <x, avg_pool2d_grad(g)>
//   <embedding(ids, t), g> == <t, embedding_grad(ids, g)>
//   <d max_pool2d(x)[v], g> == <v, max_pool2d_grad(x, g)>
// on random data, runtime errors for ids out of range, the dropout hash
// against an independent implementation of its documented definition, and
// the gradient rules through autodiff (with grad-of-grad where defined).
//
//===----------------------------------------------------------------------===//
#include "EvalTestUtil.h"
#include "ir/Grad.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

using namespace gradc::ir;
using namespace evaltest;
using ::testing::HasSubstr;

namespace {

AttrValue L(std::initializer_list<int64_t> V) { return IntList(V); }
AttrValue I(int64_t V) { return V; }
AttrValue F(double V) { return V; }
TensorType f64t(Shape S) { return {DType::F64, std::move(S)}; }
constexpr double Inf = std::numeric_limits<double>::infinity();

double dot(const Tensor &A, const Tensor &B) {
  EXPECT_EQ(A.Type.Dims, B.Type.Dims);
  double S = 0;
  for (size_t K = 0; K < A.size(); ++K)
    S += A.Data[K] * B.Data[K];
  return S;
}

Tensor axpy(const Tensor &X, double A, const Tensor &V) {
  Tensor R = X;
  for (size_t K = 0; K < R.size(); ++K)
    R.Data[K] += A * V.Data[K];
  return R;
}

//===----------------------------------------------------------------------===//
// Pooling
//===----------------------------------------------------------------------===//

struct PoolCase {
  Shape X;
  int64_t KH, KW, SH, SW, PH, PW; // stride 0: the kernel
};

Kw poolKw(const PoolCase &C) {
  return {{"kernel", L({C.KH, C.KW})},
          {"stride", L({C.SH, C.SW})},
          {"padding", L({C.PH, C.PW})}};
}

const std::vector<PoolCase> &poolCases() {
  static const std::vector<PoolCase> Cases = {
      {{1, 1, 4, 4}, 2, 2, 0, 0, 0, 0}, // tiling
      {{2, 3, 5, 5}, 2, 2, 0, 0, 0, 0}, // last row and column unused
      {{1, 2, 6, 5}, 3, 3, 1, 1, 1, 1}, // overlapping, padded
      {{2, 1, 7, 6}, 3, 2, 2, 1, 1, 0}, // rectangular
      {{1, 1, 5, 6}, 2, 3, 2, 3, 1, 1}, // padding on both axes
      {{1, 2, 3, 3}, 3, 3, 1, 1, 1, 1}, // windows larger than half the input
  };
  return Cases;
}

/// Pooling from the definition: the window at (i*sh - ph, j*sw - pw) over
/// the padded input; max sees padding as -inf (and keeps the first of tied
/// maxima), avg as zeros and divides by kh*kw. \p Arg receives the flat
/// index of each window's maximum.
Tensor naivePool(const PoolCase &C, const Tensor &X, bool Max,
                 std::vector<int64_t> *Arg = nullptr) {
  int64_t SH = C.SH ? C.SH : C.KH, SW = C.SW ? C.SW : C.KW;
  int64_t H = C.X[2], W = C.X[3];
  int64_t OH = (H + 2 * C.PH - C.KH) / SH + 1,
          OW = (W + 2 * C.PW - C.KW) / SW + 1;
  Tensor Y(f64t({C.X[0], C.X[1], OH, OW}));
  for (int64_t P = 0; P < C.X[0] * C.X[1]; ++P)
    for (int64_t i = 0; i < OH; ++i)
      for (int64_t j = 0; j < OW; ++j) {
        double Acc = Max ? -Inf : 0;
        int64_t Best = -1;
        for (int64_t p = 0; p < C.KH; ++p)
          for (int64_t q = 0; q < C.KW; ++q) {
            int64_t h = i * SH - C.PH + p, w = j * SW - C.PW + q;
            bool In = h >= 0 && h < H && w >= 0 && w < W;
            double V = In ? X.Data[(P * H + h) * W + w] : (Max ? -Inf : 0);
            if (!Max)
              Acc += V;
            else if (In && (Best < 0 || V > Acc)) {
              Acc = V;
              Best = (P * H + h) * W + w;
            }
          }
        Y.Data[(P * OH + i) * OW + j] = Max ? Acc : Acc / (C.KH * C.KW);
        if (Arg)
          Arg->push_back(Best);
      }
  return Y;
}

TEST(NNEval, MaxPoolByHandWithTies) {
  Tensor X = f64({1, 1, 4, 4}, {1, 3, 2, 1, //
                                3, 0, 1, 4, //
                                5, 6, 7, 7, //
                                2, 6, 0, 1});
  Kw K = {{"kernel", I(2)}};
  expectTensor(run(Op::MaxPool2d, {X}, K), f64t({1, 1, 2, 2}), {3, 4, 6, 7}, 0);
  // Each window's gradient goes to the first of its tied maxima.
  Tensor G = f64({1, 1, 2, 2}, {1, 2, 3, 4});
  expectTensor(run(Op::MaxPool2dGrad, {X, G}, K), X.Type,
               {0, 1, 0, 0, //
                0, 0, 0, 2, //
                0, 3, 4, 0, //
                0, 0, 0, 0},
               0);
}

TEST(NNEval, MaxPoolGradAccumulatesOverlappingWindows) {
  // Two windows share their maximum 5: it gets both gradients.
  Tensor X = f64({1, 1, 2, 3}, {0, 5, 0, 0, 0, 0});
  Tensor G = f64({1, 1, 1, 2}, {1, 2});
  Kw K = {{"kernel", I(2)}, {"stride", I(1)}};
  expectTensor(run(Op::MaxPool2d, {X}, K), G.Type, {5, 5}, 0);
  expectTensor(run(Op::MaxPool2dGrad, {X, G}, K), X.Type, {0, 3, 0, 0, 0, 0},
               0);
}

TEST(NNEval, MaxPoolPaddingNeverWins) {
  Tensor X = f64({1, 1, 2, 2}, {-5, -6, -7, -8});
  Kw K = {{"kernel", I(2)}, {"stride", I(1)}, {"padding", I(1)}};
  expectTensor(run(Op::MaxPool2d, {X}, K), f64t({1, 1, 3, 3}),
               {-5, -5, -6, -5, -5, -6, -7, -7, -8}, 0);
  // All -inf: the result is -inf and the gradient goes to the window's
  // first element inside the input, as in PyTorch.
  Tensor N = f64({1, 1, 2, 2}, {-Inf, -Inf, -Inf, -Inf});
  expectTensor(run(Op::MaxPool2d, {N}, K), f64t({1, 1, 3, 3}),
               std::vector<double>(9, -Inf));
  Tensor G = f64({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  expectTensor(run(Op::MaxPool2dGrad, {N, G}, K), N.Type,
               {1 + 2 + 4 + 5, 3 + 6, 7 + 8, 9}, 0);
}

TEST(NNEval, MaxPoolPropagatesNaN) {
  double NaN = std::numeric_limits<double>::quiet_NaN();
  Tensor X = f64({1, 1, 2, 2}, {1, NaN, 3, 2});
  Tensor Y = run(Op::MaxPool2d, {X}, {{"kernel", I(2)}});
  EXPECT_TRUE(std::isnan(Y.Data[0]));
  Tensor DX =
      run(Op::MaxPool2dGrad, {X, f64({1, 1, 1, 1}, {1})}, {{"kernel", I(2)}});
  expectTensor(DX, X.Type, {0, 1, 0, 0}, 0);
}

TEST(NNEval, AvgPoolByHandCountsPaddingAsZeros) {
  Tensor X = f64({1, 1, 2, 2}, {1, 2, 3, 4});
  Kw K = {{"kernel", I(2)}, {"stride", I(1)}, {"padding", I(1)}};
  expectTensor(run(Op::AvgPool2d, {X}, K), f64t({1, 1, 3, 3}),
               {0.25, 0.75, 0.5, 1, 2.5, 1.5, 0.75, 1.75, 1});
  // The adjoint: each input element collects g / 4 from the 4 windows that
  // hold it.
  Tensor G = f64({1, 1, 3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  Kw KG = K;
  KG.push_back({"input_size", L({2, 2})});
  expectTensor(run(Op::AvgPool2dGrad, {G}, KG), X.Type,
               {(1 + 2 + 4 + 5) / 4.0, (2 + 3 + 5 + 6) / 4.0,
                (4 + 5 + 7 + 8) / 4.0, (5 + 6 + 8 + 9) / 4.0});
}

TEST(NNEval, PoolingMatchesNaiveReference) {
  std::mt19937_64 Rng(11);
  for (const PoolCase &C : poolCases()) {
    SCOPED_TRACE(formatShape(C.X) + " kernel " + std::to_string(C.KH) + "x" +
                 std::to_string(C.KW));
    Tensor X = random(f64t(C.X), Rng);
    Tensor MaxY = run(Op::MaxPool2d, {X}, poolKw(C));
    expectTensor(MaxY, MaxY.Type, naivePool(C, X, true).Data, 0);
    Tensor AvgY = run(Op::AvgPool2d, {X}, poolKw(C));
    expectTensor(AvgY, AvgY.Type, naivePool(C, X, false).Data, 1e-14);
  }
}

TEST(NNEval, PoolingGradOpsAreAdjoints) {
  std::mt19937_64 Rng(12);
  for (const PoolCase &C : poolCases()) {
    SCOPED_TRACE(formatShape(C.X) + " kernel " + std::to_string(C.KH) + "x" +
                 std::to_string(C.KW));
    Tensor X = random(f64t(C.X), Rng);
    Tensor Y = run(Op::AvgPool2d, {X}, poolKw(C));
    Tensor G = random(Y.Type, Rng);
    Kw KG = poolKw(C);
    KG.push_back({"input_size", L({C.X[2], C.X[3]})});
    Tensor DX = run(Op::AvgPool2dGrad, {G}, KG);
    ASSERT_EQ(DX.Type, X.Type);
    EXPECT_NEAR(dot(Y, G), dot(X, DX), 1e-12);

    // max_pool2d is linear near x (no ties in random data): its derivative
    // along v, against g, is <v, max_pool2d_grad(x, g)>.
    Tensor DM = run(Op::MaxPool2dGrad, {X, G}, poolKw(C));
    ASSERT_EQ(DM.Type, X.Type);
    Tensor V = random(X.Type, Rng);
    const double Eps = 1e-7;
    double Dir = (dot(run(Op::MaxPool2d, {axpy(X, Eps, V)}, poolKw(C)), G) -
                  dot(run(Op::MaxPool2d, {axpy(X, -Eps, V)}, poolKw(C)), G)) /
                 (2 * Eps);
    EXPECT_NEAR(Dir, dot(V, DM), 1e-7);
    // And it routes each g to the reference's argmax.
    std::vector<int64_t> Arg;
    naivePool(C, X, true, &Arg);
    Tensor Want(X.Type);
    for (size_t K = 0; K < Arg.size(); ++K)
      Want.Data[Arg[K]] += G.Data[K];
    expectTensor(DM, X.Type, Want.Data, 1e-14);
  }
}

//===----------------------------------------------------------------------===//
// Embedding
//===----------------------------------------------------------------------===//

TEST(NNEval, EmbeddingByHand) {
  Tensor Ids = i32({2, 2}, {0, 2, 1, 0});
  Tensor T = f64({3, 2}, {1, 2, 3, 4, 5, 6});
  expectTensor(run(Op::Embedding, {Ids, T}), f64t({2, 2, 2}),
               {1, 2, 5, 6, 3, 4, 1, 2}, 0);
  // embedding_grad sums the rows of g by id; ids never seen get zeros.
  Tensor G = f64({2, 2, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  expectTensor(run(Op::EmbeddingGrad, {Ids, G}, {{"num", I(4)}}), f64t({4, 2}),
               {1 + 7, 2 + 8, 5, 6, 3, 4, 0, 0}, 0);
}

TEST(NNEval, EmbeddingIdOutOfRangeIsAnError) {
  Tensor T = f64({3, 2}, {1, 2, 3, 4, 5, 6});
  EvalResult R = eval(Op::Embedding, {i32({2, 2}, {0, 1, 3, 0}), T});
  EXPECT_FALSE(R.Ok);
  EXPECT_EQ(R.Err, "id 3 at position [1, 0] is outside [0, 3)");
  R = eval(Op::Embedding, {i32({3}, {0, -1, 2}), T});
  EXPECT_FALSE(R.Ok);
  EXPECT_EQ(R.Err, "id -1 at position [1] is outside [0, 3)");
  R = eval(Op::EmbeddingGrad, {i32({2}, {4, 0}), f64({2, 2}, {1, 2, 3, 4})},
           {{"num", I(4)}});
  EXPECT_FALSE(R.Ok);
  EXPECT_EQ(R.Err, "id 4 at position [0] is outside [0, 4)");
}

TEST(NNEval, EmbeddingGradIsTheAdjoint) {
  std::mt19937_64 Rng(13);
  std::uniform_int_distribution<int> U(0, 6);
  Tensor Ids(TensorType(DType::I32, {3, 5, 2}));
  for (double &D : Ids.Data)
    D = U(Rng);
  Tensor T = random(f64t({7, 4}), Rng);
  Tensor Y = run(Op::Embedding, {Ids, T});
  ASSERT_EQ(Y.Type, f64t({3, 5, 2, 4}));
  Tensor G = random(Y.Type, Rng);
  Tensor DT = run(Op::EmbeddingGrad, {Ids, G}, {{"num", I(7)}});
  EXPECT_NEAR(dot(Y, G), dot(T, DT), 1e-12);
}

//===----------------------------------------------------------------------===//
// dropout_mask
//===----------------------------------------------------------------------===//

/// The hash exactly as documented above evalDropoutMask in ir/ops/NN.cpp.
uint64_t splitmix(uint64_t Z) {
  Z += 0x9E3779B97F4A7C15ull;
  Z = (Z ^ (Z >> 30)) * 0xBF58476D1CE4E5B9ull;
  Z = (Z ^ (Z >> 27)) * 0x94D049BB133111EBull;
  return Z ^ (Z >> 31);
}
double uniform(uint64_t Seed, uint64_t Step, int64_t Salt, uint64_t I) {
  uint64_t Key = splitmix(splitmix(splitmix(Seed) ^ Step) ^ uint64_t(Salt));
  return double(splitmix(Key ^ I) >> 11) / 9007199254740992.0; // 2^53
}

Tensor mask(double Seed, double Step, double P, int64_t Salt, Shape S,
            DType T = DType::F64) {
  return run(Op::DropoutMask, {tensor(T, {}, {Seed}), tensor(T, {}, {Step})},
             {{"p", F(P)},
              {"salt", I(Salt)},
              {"shape", AttrValue(IntList(S))},
              {"dtype", AttrValue(T)}});
}

TEST(NNEval, DropoutMaskFollowsItsDocumentedHash) {
  Tensor M = mask(42, 7, 0.3, -5, {4, 50});
  ASSERT_EQ(M.Type, f64t({4, 50}));
  for (size_t K = 0; K < M.size(); ++K)
    EXPECT_EQ(M.Data[K], uniform(42, 7, -5, K) >= 0.3 ? 1 / 0.7 : 0.0) << K;
  // f32: the kept value is 1 / (1 - p) rounded to f32.
  Tensor M32 = mask(1, 0, 0.1, 3, {16}, DType::F32);
  for (size_t K = 0; K < M32.size(); ++K)
    EXPECT_EQ(M32.Data[K],
              uniform(1, 0, 3, K) >= 0.1 ? double(float(1 / 0.9)) : 0.0);
}

TEST(NNEval, DropoutMaskIsDeterministicAndVariesWithItsInputs) {
  Tensor A = mask(3, 10, 0.5, 1, {1000});
  EXPECT_EQ(A.Data, mask(3, 10, 0.5, 1, {1000}).Data);
  EXPECT_NE(A.Data, mask(4, 10, 0.5, 1, {1000}).Data);
  EXPECT_NE(A.Data, mask(3, 11, 0.5, 1, {1000}).Data);
  EXPECT_NE(A.Data, mask(3, 10, 0.5, 2, {1000}).Data);
  for (double D : mask(3, 10, 0.0, 1, {100}).Data)
    EXPECT_EQ(D, 1.0);
}

TEST(NNEval, DropoutMaskKeepsAboutOneMinusP) {
  for (double P : {0.1, 0.5, 0.9}) {
    Tensor M = mask(0, 0, P, 99, {200000});
    size_t Kept = 0;
    for (double D : M.Data) {
      ASSERT_TRUE(D == 0 || D == 1 / (1 - P)) << D;
      Kept += D != 0;
    }
    double Frac = double(Kept) / double(M.size());
    EXPECT_NEAR(Frac, 1 - P, 0.005) << "p = " << P; // ~4.5 sigma at p = 0.5
  }
}

//===----------------------------------------------------------------------===//
// Gradient rules
//===----------------------------------------------------------------------===//

TEST(NNGrad, MaxPool2dRuleUsesMaxPool2dGrad) {
  // max_pool2d_grad has no rule, so the autodiff check with grad-of-grad
  // does not apply: check the rule's graph directly.
  Function Fn;
  Builder B(Fn);
  Node X;
  X.Opcode = Op::Input;
  X.Type = f64t({1, 2, 5, 5});
  Fn.Nodes.push_back(X);
  AttrList A = {{"kernel", L({3, 3})}, {"padding", I(1)}};
  ValueId Y = B.make(Op::MaxPool2d, {0}, A);
  ValueId G = B.make(Op::Identity, {Y});
  GradCtx C(B, Fn.node(Y), Y, G, {true});
  getOpDef(Op::MaxPool2d).Grad(C);
  ValueId D = C.grads()[0];
  ASSERT_NE(D, GradCtx::NoGrad);
  const Node &N = Fn.node(D);
  EXPECT_EQ(N.Opcode, Op::MaxPool2dGrad);
  EXPECT_EQ(N.Operands, (std::vector<ValueId>{0, G}));
  EXPECT_EQ(N.Attrs, Fn.node(Y).Attrs);
  EXPECT_EQ(N.Type, X.Type);
}

TEST(NNGrad, PoolingAndEmbedding) {
  // Through autodiff, including the Hessian-vector product (grad-of-grad).
  checkGradRandom(Op::AvgPool2d, {{1, 2, 4, 4}}, {{"kernel", I(2)}});
  checkGradRandom(
      Op::AvgPool2d, {{2, 1, 5, 6}},
      {{"kernel", L({3, 2})}, {"stride", L({2, 1})}, {"padding", L({1, 1})}});
  checkGradRandom(Op::AvgPool2dGrad, {{1, 2, 3, 3}},
                  {{"kernel", I(3)},
                   {"stride", I(2)},
                   {"padding", I(1)},
                   {"input_size", L({5, 6})}});
  std::mt19937_64 Rng(14);
  Tensor Ids = i32({2, 3}, {0, 4, 2, 2, 1, 4});
  checkGrad(Op::Embedding, {Ids, random(f64t({5, 3}), Rng)});
  checkGrad(Op::EmbeddingGrad, {Ids, random(f64t({2, 3, 3}), Rng)},
            {{"num", I(6)}});
}

TEST(NNGrad, MaxPool2dFirstOrder) {
  // sum(max_pool2d(x) * w) against central differences, through the rule's
  // max_pool2d_grad (grad-of-grad is not defined for it).
  std::mt19937_64 Rng(15);
  for (const PoolCase &C : poolCases()) {
    Tensor X = random(f64t(C.X), Rng);
    Tensor G = random(run(Op::MaxPool2d, {X}, poolKw(C)).Type, Rng);
    Tensor DX = run(Op::MaxPool2dGrad, {X, G}, poolKw(C));
    for (size_t K = 0; K < X.size(); ++K) {
      Tensor E(X.Type);
      E.Data[K] = 1;
      double FD = (dot(run(Op::MaxPool2d, {axpy(X, 1e-6, E)}, poolKw(C)), G) -
                   dot(run(Op::MaxPool2d, {axpy(X, -1e-6, E)}, poolKw(C)), G)) /
                  2e-6;
      EXPECT_NEAR(DX.Data[K], FD, 1e-8) << K;
    }
  }
}

} // namespace
