//===- tests/unit/ElementwiseEvalTest.cpp - Eval and Grad of elementwise ops
//===//
//
// Every elementwise op on small hand-computed cases (broadcasting, f32
// rounding, infinities, NaN, the PyTorch conventions at kinks and ties), then
// every gradient rule against central differences with grad-of-grad, and the
// exact gradients at the points where central differences cannot decide
// (ties, kinks, masks, NaN).
//
//===----------------------------------------------------------------------===//
#include "EvalTestUtil.h"

#include <limits>

using namespace evaltest;

namespace {

constexpr double Inf = std::numeric_limits<double>::infinity();
constexpr double NaN = std::numeric_limits<double>::quiet_NaN();
const double InvE = std::exp(-1.0);

TensorType F64(Shape S) { return {DType::F64, std::move(S)}; }
TensorType F32(Shape S) { return {DType::F32, std::move(S)}; }
TensorType I32(Shape S) { return {DType::I32, std::move(S)}; }

AttrValue Num(double D) { return D; }

/// One f64 vector operand.
Tensor v(Data D) {
  int64_t N = static_cast<int64_t>(D.size());
  return f64({N}, std::move(D));
}

/// Evaluates the unary \p O elementwise on \p X.
Data unary(Op O, Data X, const Kw &K = {}) {
  return run(O, {v(std::move(X))}, K).Data;
}

/// The gradient of sum(O(X)) for a unary \p O at f64 values \p X.
Data gradUnary(Op O, Data X, const Kw &K = {}) {
  auto G = gradOfSum(O, {v(std::move(X))}, K);
  EXPECT_TRUE(G[0].has_value());
  return G[0] ? G[0]->Data : Data{};
}

void expectData(const Data &Got, const Data &Want, double Tol = 1e-12) {
  expectTensor(v(Got), F64({static_cast<int64_t>(Want.size())}), Want, Tol);
}

//===--- Arithmetic -------------------------------------------------------===//

TEST(ElementwiseEval, ArithmeticBroadcasts) {
  Tensor A = f64({2, 3}, {1, 2, 3, 4, 5, 6}), Row = f64({3}, {10, 20, 30});
  Tensor Col = f64({2, 1}, {2, 4}), S = f64({}, {0.5});
  expectTensor(run(Op::Add, {A, Row}), F64({2, 3}), {11, 22, 33, 14, 25, 36});
  expectTensor(run(Op::Sub, {Row, A}), F64({2, 3}), {9, 18, 27, 6, 15, 24});
  expectTensor(run(Op::Mul, {A, Col}), F64({2, 3}), {2, 4, 6, 16, 20, 24});
  expectTensor(run(Op::Div, {A, Col}), F64({2, 3}),
               {0.5, 1, 1.5, 1, 1.25, 1.5});
  expectTensor(run(Op::Mul, {S, A}), F64({2, 3}), {0.5, 1, 1.5, 2, 2.5, 3});
  // [2, 1] with [3]: an outer operation.
  expectTensor(run(Op::Add, {Col, Row}), F64({2, 3}), {12, 22, 32, 14, 24, 34});
  expectTensor(run(Op::Neg, {A}), F64({2, 3}), {-1, -2, -3, -4, -5, -6});
  expectTensor(run(Op::Identity, {A}), F64({2, 3}), A.Data);
  expectTensor(run(Op::Identity, {i32({2}, {3, -1})}), I32({2}), {3, -1});
  // IEEE division.
  expectData(run(Op::Div, {v({1, -1, 0}), v({0, 0, 0})}).Data,
             {Inf, -Inf, NaN});
}

TEST(ElementwiseEval, F32ResultsAreRounded) {
  Tensor R = run(Op::Add, {f32({1}, {0.1}), f32({1}, {0.2})});
  EXPECT_EQ(R.Data[0], static_cast<double>(static_cast<float>(0.1 + 0.2)));
  Tensor D = run(Op::Div, {f32({}, {1}), f32({}, {3})});
  EXPECT_EQ(D.Data[0], static_cast<double>(1.0f / 3.0f));
}

TEST(ElementwiseEval, MaximumMinimumPropagateNaN) {
  Tensor A = v({1, 5, NaN, 2, -0.0}), B = v({3, 2, 1, NaN, 0});
  expectData(run(Op::Maximum, {A, B}).Data, {3, 5, NaN, NaN, 0});
  expectData(run(Op::Minimum, {A, B}).Data, {1, 2, NaN, NaN, 0});
  expectTensor(run(Op::Maximum, {f64({2, 1}, {0, 10}), v({-1, 5, 20})}),
               F64({2, 3}), {0, 5, 20, 10, 10, 20});
}

TEST(ElementwiseEval, Pow) {
  expectData(run(Op::Pow, {v({2, 9, 0, 0, -2, -8, 4}),
                           v({10, 0.5, 0, -1, 3, 1.0 / 3, -0.5})})
                 .Data,
             {1024, 3, 1, Inf, -8, NaN, 0.5});
  // A scalar exponent broadcasts.
  expectData(run(Op::Pow, {v({1, 2, 3}), f64({}, {2})}).Data, {1, 4, 9});
}

//===--- Unary maths ------------------------------------------------------===//

TEST(ElementwiseEval, ExpLogSqrtRsqrt) {
  expectData(unary(Op::Exp, {0, 1, -Inf, 1000}), {1, M_E, 0, Inf});
  expectData(unary(Op::Log, {1, M_E, 0, -1}), {0, 1, -Inf, NaN});
  expectData(unary(Op::Sqrt, {4, 2, 0, -1}), {2, M_SQRT2, 0, NaN});
  expectData(unary(Op::Rsqrt, {4, 0.25, 0, Inf}), {0.5, 2, Inf, 0});
}

TEST(ElementwiseEval, AbsSquareSign) {
  expectData(unary(Op::Abs, {-2.5, 0, 3, -Inf}), {2.5, 0, 3, Inf});
  expectData(unary(Op::Square, {-3, 0.5, 0}), {9, 0.25, 0});
  expectData(unary(Op::Sign, {-3, -0.0, 0, 2, -Inf}), {-1, 0, 0, 1, -1});
}

TEST(ElementwiseEval, Erf) {
  expectData(unary(Op::Erf, {0, 0.5, -1, Inf, -Inf}),
             {0, 0.5204998778130465, -0.8427007929497149, 1, -1}, 1e-15);
}

//===--- Activations ------------------------------------------------------===//

TEST(ElementwiseEval, Relu) {
  expectData(unary(Op::Relu, {-2, 0, 3, -Inf, Inf}), {0, 0, 3, 0, Inf});
  // NaN stays NaN, as torch.relu.
  EXPECT_TRUE(std::isnan(unary(Op::Relu, {NaN})[0]));
}

TEST(ElementwiseEval, SigmoidTanh) {
  expectData(unary(Op::Sigmoid, {0, 2, -2, 1000, -1000}),
             {0.5, 0.8807970779778823, 0.11920292202211755, 1, 0}, 1e-15);
  expectData(unary(Op::Tanh, {0, 1, -1, 50}),
             {0, 0.7615941559557649, -0.7615941559557649, 1}, 1e-15);
}

TEST(ElementwiseEval, SoftplusIsLinearAbove20) {
  expectData(unary(Op::Softplus, {0, 1, -50, 20, 20.5, 1000}),
             {M_LN2, 1.3132616875182228, 1.9287498479639178e-22,
              20.000000002061153, 20.5, 1000},
             1e-15);
}

TEST(ElementwiseEval, GeluExactForm) {
  // Far left 1 + erf(x / sqrt 2) rounds to 0, in PyTorch as here.
  expectData(unary(Op::Gelu, {0, 1, -1, 3, -10}),
             {0, 0.8413447460685429, -0.15865525393145707, 2.99595030590511, 0},
             1e-14);
}

TEST(ElementwiseEval, LeakyReluElu) {
  expectData(unary(Op::LeakyRelu, {-2, 0, 3}), {-0.02, 0, 3});
  expectData(unary(Op::LeakyRelu, {-2, 3}, {{"slope", Num(0.1)}}), {-0.2, 3});
  expectData(unary(Op::Elu, {-1, 0, 2, -Inf}), {InvE - 1, 0, 2, -1}, 1e-15);
  expectData(unary(Op::Elu, {-1, 2}, {{"alpha", Num(2)}}), {2 * (InvE - 1), 2},
             1e-15);
  // expm1: tiny negative inputs keep their precision.
  expectData(unary(Op::Elu, {-1e-10}), {-9.9999999995e-11}, 1e-15);
}

TEST(ElementwiseEval, Clamp) {
  Kw K{{"lo", Num(-1)}, {"hi", Num(2)}};
  expectData(unary(Op::Clamp, {-5, -1, 0.5, 2, 7, -Inf, Inf}, K),
             {-1, -1, 0.5, 2, 2, -1, 2});
  EXPECT_TRUE(std::isnan(unary(Op::Clamp, {NaN}, K)[0]));
  expectData(unary(Op::Clamp, {-5, 5}, {{"lo", Num(0)}, {"hi", Num(Inf)}}),
             {0, 5});
}

TEST(ElementwiseEval, Cast) {
  // To i32: truncation toward zero.
  expectTensor(run(Op::Cast, {v({-1.7, 2.9, 0.2, -0.0})}, {{"to", DType::I32}}),
               I32({4}), {-1, 2, 0, 0});
  // i32 to float: the value.
  expectTensor(run(Op::Cast, {i32({2}, {7, -3})}, {{"to", DType::F32}}),
               F32({2}), {7, -3});
  // f64 to f32 rounds; f32 to f64 is exact.
  Tensor R = run(Op::Cast, {v({0.1})}, {{"to", DType::F32}});
  EXPECT_EQ(R.Type, F32({1}));
  EXPECT_EQ(R.Data[0], static_cast<double>(0.1f));
  expectTensor(run(Op::Cast, {f32({1}, {0.1f})}, {{"to", DType::F64}}),
               F64({1}), {static_cast<double>(0.1f)}, 0);
}

//===--- Internal ops
//------------------------------------------------------===//

TEST(ElementwiseEval, Comparisons) {
  Tensor A = v({1, 2, 3, NaN}), B = v({2, 2, 2, NaN});
  expectData(run(Op::Gt, {A, B}).Data, {0, 0, 1, 0});
  expectData(run(Op::Ge, {A, B}).Data, {0, 1, 1, 0});
  expectData(run(Op::Eq, {A, B}).Data, {0, 1, 0, 0});
  // In the operands' dtype, broadcast.
  expectTensor(run(Op::Gt, {f32({2, 1}, {0, 5}), f32({}, {1})}), F32({2, 1}),
               {0, 1});
}

TEST(ElementwiseEval, SelectBroadcastsAllThree) {
  Tensor C = f64({2, 1}, {1, 0}), A = v({1, 2, 3}), B = f64({}, {-1});
  expectTensor(run(Op::Select, {C, A, B}), F64({2, 3}), {1, 2, 3, -1, -1, -1});
  // Any non-zero condition selects a; NaN is non-zero.
  expectData(
      run(Op::Select, {v({-2, NaN, 0}), v({1, 1, 1}), v({0, 0, 0})}).Data,
      {1, 1, 0});
}

TEST(ElementwiseEval, EveryElementwiseOpHasAnEval) {
#define GRADC_OP(Name, Mn, Min, Max, Family, Flags)                            \
  if (OpFamily::Family == OpFamily::Elementwise) {                             \
    EXPECT_NE(getOpDef(Op::Name).Eval, nullptr) << Mn;                         \
  }
#include "ir/Ops.def"
}

//===--- Gradient rules against central differences -----------------------===//

TEST(ElementwiseGrad, BinaryWithBroadcasting) {
  for (Op O : {Op::Add, Op::Sub, Op::Mul, Op::Maximum, Op::Minimum}) {
    checkGradRandom(O, {{2, 3}, {2, 3}});
    checkGradRandom(O, {{2, 3}, {3}});
    checkGradRandom(O, {{2, 1}, {1, 3}});
    checkGradRandom(O, {{}, {4}});
  }
}

TEST(ElementwiseGrad, Div) {
  // Divisors away from zero.
  std::mt19937_64 R(3);
  checkGrad(Op::Div, {random(F64({2, 3}), R), random(F64({2, 3}), R, 0.5, 2)});
  checkGrad(Op::Div, {random(F64({2, 3}), R), random(F64({3}), R, -2, -0.5)});
  checkGrad(Op::Div, {random(F64({}), R), random(F64({4}), R, 0.5, 2)});
}

TEST(ElementwiseGrad, Pow) {
  std::mt19937_64 R(5);
  checkGrad(Op::Pow, {random(F64({2, 3}), R, 0.5, 2), random(F64({2, 3}), R)});
  checkGrad(Op::Pow, {random(F64({3}), R, 0.5, 2), random(F64({}), R)});
}

TEST(ElementwiseGrad, Unary) {
  for (Op O : {Op::Neg, Op::Exp, Op::Abs, Op::Square, Op::Relu, Op::Sigmoid,
               Op::Tanh, Op::Softplus, Op::Gelu, Op::LeakyRelu, Op::Elu,
               Op::Erf, Op::Identity}) {
    checkGradRandom(O, {{2, 3}});
    checkGradRandom(O, {{}});
  }
  checkGradRandom(Op::LeakyRelu, {{5}}, {{"slope", Num(0.3)}});
  checkGradRandom(Op::Elu, {{5}}, {{"alpha", Num(1.7)}});
  checkGradRandom(Op::Clamp, {{3, 4}}, {{"lo", Num(-1)}, {"hi", Num(0.5)}});
  checkGradRandom(Op::Clamp, {{6}}, {{"lo", Num(-Inf)}, {"hi", Num(0.5)}});
  checkGradRandom(Op::Clamp, {{6}}, {{"lo", Num(-0.5)}, {"hi", Num(Inf)}});
  checkGradRandom(Op::Cast, {{2, 3}}, {{"to", DType::F64}});
}

TEST(ElementwiseGrad, PositiveDomain) {
  std::mt19937_64 R(9);
  for (Op O : {Op::Log, Op::Sqrt, Op::Rsqrt})
    checkGrad(O, {random(F64({2, 3}), R, 0.3, 3)});
}

TEST(ElementwiseGrad, LargeAndSmallArguments) {
  // Softplus on both sides of its threshold; sigmoid, tanh, gelu, erf in
  // their tails.
  checkGrad(Op::Softplus, {v({-30, -5, 19.5, 20.5, 40})});
  checkGrad(Op::Sigmoid, {v({-30, -8, 8, 30})});
  checkGrad(Op::Tanh, {v({-6, 6})});
  checkGrad(Op::Gelu, {v({-8, -3, 3, 8})});
  checkGrad(Op::Erf, {v({-4, 4})});
  checkGrad(Op::Elu, {v({-30, -3})});
}

//===--- Exact gradients at ties, kinks, masks and NaN --------------------===//

TEST(ElementwiseGrad, MaximumMinimumSplitTies) {
  Tensor A = v({1, 2, 3}), B = v({2, 2, 1});
  auto G = gradOfSum(Op::Maximum, {A, B});
  expectData(G[0]->Data, {0, 0.5, 1});
  expectData(G[1]->Data, {1, 0.5, 0});
  G = gradOfSum(Op::Minimum, {A, B});
  expectData(G[0]->Data, {1, 0.5, 0});
  expectData(G[1]->Data, {0, 0.5, 1});
  // Where an operand is NaN neither loses (PyTorch's masked_fill).
  G = gradOfSum(Op::Maximum, {v({NaN}), v({1})});
  expectData(G[0]->Data, {1});
  expectData(G[1]->Data, {1});
  // Broadcast: the scalar collects the gradient of every position it wins.
  G = gradOfSum(Op::Maximum, {v({0, 1, 2, 3}), f64({}, {1.5})});
  expectData(G[0]->Data, {0, 0, 1, 1});
  expectData(G[1]->Data, {2});
  G = gradOfSum(Op::Maximum, {v({0, 1, 2}), f64({}, {1})});
  expectData(G[1]->Data, {1.5});
}

TEST(ElementwiseGrad, KinksFollowPyTorch) {
  // relu' = out > 0; PyTorch's threshold_backward passes NaN's gradient.
  expectData(gradUnary(Op::Relu, {-1, 0, 2, NaN}), {0, 0, 1, 1});
  // abs' = sign(x), 0 at 0.
  expectData(gradUnary(Op::Abs, {-3, 0, 3}), {-1, 0, 1});
  // leaky_relu' at 0 is the slope; elu' at 0 is alpha (the x <= 0 branch).
  expectData(gradUnary(Op::LeakyRelu, {-1, 0, 1}, {{"slope", Num(0.2)}}),
             {0.2, 0.2, 1});
  expectData(gradUnary(Op::Elu, {-1, 0, 1}, {{"alpha", Num(2)}}),
             {2 * InvE, 2, 1}, 1e-15);
  // elu' far left keeps its relative precision (alpha exp(x), not out + alpha).
  expectData(gradUnary(Op::Elu, {-40}), {std::exp(-40.0)}, 1e-14);
  // clamp' is 1 on the closed interval [lo, hi].
  expectData(gradUnary(Op::Clamp, {-2, -1, 0, 1, 2, NaN},
                       {{"lo", Num(-1)}, {"hi", Num(1)}}),
             {0, 1, 1, 1, 0, 0});
  expectData(gradUnary(Op::Clamp, {-1e300, NaN},
                       {{"lo", Num(-Inf)}, {"hi", Num(Inf)}}),
             {1, 0});
  // softplus' is 1 above 20, sigmoid(x) at and below.
  expectData(gradUnary(Op::Softplus, {0, 20, 21, 1000}),
             {0.5, 1 / (1 + std::exp(-20.0)), 1, 1}, 1e-15);
  // sign has zero gradient: no rule at all.
  EXPECT_EQ(getOpDef(Op::Sign).Grad, nullptr);
}

TEST(ElementwiseGrad, ClosedForms) {
  expectData(gradUnary(Op::Gelu, {0, 1}), {0.5, 1.0833154705876864}, 1e-14);
  expectData(gradUnary(Op::Erf, {0, 1}), {M_2_SQRTPI, M_2_SQRTPI * InvE},
             1e-15);
  expectData(gradUnary(Op::Sigmoid, {0}), {0.25});
  expectData(gradUnary(Op::Tanh, {0}), {1});
  expectData(gradUnary(Op::Sqrt, {4}), {0.25});
  expectData(gradUnary(Op::Rsqrt, {4}), {-1.0 / 16});
  expectData(gradUnary(Op::Log, {4}), {0.25});
  expectData(gradUnary(Op::Square, {-3}), {-6});
  auto G = gradOfSum(Op::Div, {v({3}), v({2})});
  expectData(G[0]->Data, {0.5});
  expectData(G[1]->Data, {-0.75});
}

TEST(ElementwiseGrad, PowMasksLikePyTorch) {
  // d/da is 0 where b == 0 (even at a == 0); d/db is 0 where a == 0, b >= 0.
  auto G = gradOfSum(Op::Pow, {v({0, 0, 2, 2}), v({0, 2, 0, 3})});
  expectData(G[0]->Data, {0, 0, 0, 12});
  expectData(G[1]->Data, {0, 0, M_LN2, 8 * M_LN2});
  // A negative base with an integer exponent: d/da is finite, d/db is NaN
  // (log of a negative number), as in PyTorch.
  G = gradOfSum(Op::Pow, {v({-2}), v({3})});
  expectData(G[0]->Data, {12});
  expectData(G[1]->Data, {NaN});
}

TEST(ElementwiseGrad, SelectRoutesTheGradient) {
  auto G = gradOfSum(Op::Select, {v({1, 0, 1}), v({5, 6, 7}), f64({}, {9})});
  expectData(G[0]->Data, {0, 0, 0}); // the condition's gradient is zero
  expectData(G[1]->Data, {1, 0, 1});
  expectData(G[2]->Data, {1});
}

TEST(ElementwiseGrad, CastBetweenFloatsCastsTheGradientBack) {
  auto G = gradOfSum(Op::Cast, {v({0.1, 0.2})}, {{"to", DType::F32}});
  ASSERT_TRUE(G[0].has_value());
  expectTensor(*G[0], F64({2}), {1, 1});
  // A cast to i32 passes nothing back.
  G = gradOfSum(Op::Cast, {v({1.5})}, {{"to", DType::I32}});
  EXPECT_FALSE(G[0].has_value());
}

TEST(ElementwiseGrad, RulesExactlyWhereExpected) {
  // Every differentiable elementwise op has a rule; the comparisons and sign
  // (OF_NoGrad) have none.
#define GRADC_OP(Name, Mn, Min, Max, Family, Flags)                            \
  if (OpFamily::Family == OpFamily::Elementwise) {                             \
    EXPECT_EQ(getOpDef(Op::Name).Grad == nullptr,                              \
              getOpInfo(Op::Name).has(OF_NoGrad))                              \
        << Mn;                                                                 \
  }
#include "ir/Ops.def"
}

} // namespace
