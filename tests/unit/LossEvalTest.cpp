//===- tests/unit/LossEvalTest.cpp - Eval and Grad of losses and metrics --===//
//
// mse, bce, bce_with_logits, softmax_cross_entropy (class ids and float
// targets), accuracy and one_hot on small hand-computed cases, including
// the clamps, the numerically stable forms at extreme values and the runtime
// error for a class id out of range; then the gradient rules against central
// differences with grad-of-grad, and the closed forms PyTorch uses.
//
//===----------------------------------------------------------------------===//
#include "EvalTestUtil.h"

#include <gmock/gmock.h>

#include <limits>

using namespace evaltest;
using ::testing::HasSubstr;

namespace {

constexpr double NaN = std::numeric_limits<double>::quiet_NaN();

TensorType F64(Shape S) { return {DType::F64, std::move(S)}; }
TensorType F32(Shape S) { return {DType::F32, std::move(S)}; }

/// A scalar result's value, expecting success and a scalar of \p T.
double scalarOf(Op O, const std::vector<Tensor> &Ins, DType T = DType::F64) {
  Tensor R = run(O, Ins);
  EXPECT_EQ(R.Type, TensorType(T, {}));
  return R.Data.empty() ? NaN : R.Data[0];
}

/// The gradient of O(Ins) (a scalar) with respect to each f64 operand.
std::vector<std::optional<Tensor>> gradOf(Op O,
                                          const std::vector<Tensor> &Ins) {
  std::vector<std::optional<Tensor>> G = gradOfSum(O, Ins);
  for (size_t I = 0; I < Ins.size(); ++I)
    if (Ins[I].Type.Elt != DType::F64)
      G[I].reset();
  return G;
}

//===--- mse --------------------------------------------------------------===//

TEST(LossEval, Mse) {
  EXPECT_DOUBLE_EQ(
      scalarOf(Op::Mse, {f64({3}, {1, 2, 3}), f64({3}, {1, 1, 1})}), 5.0 / 3);
  // Averaged over the broadcast shape: [2, 1] with [3] is [2, 3].
  EXPECT_DOUBLE_EQ(
      scalarOf(Op::Mse, {f64({2, 1}, {1, 2}), f64({3}, {0, 1, 2})}), 7.0 / 6);
  EXPECT_DOUBLE_EQ(scalarOf(Op::Mse, {f64({}, {3}), f64({}, {1})}), 4);
  // f32: computed in f64, rounded once.
  EXPECT_EQ(
      scalarOf(Op::Mse, {f32({2}, {0.1f, 0.2f}), f32({2}, {0, 0})}, DType::F32),
      static_cast<double>(static_cast<float>(
          (double(0.1f) * double(0.1f) + double(0.2f) * double(0.2f)) / 2)));
}

//===--- bce, bce_with_logits ---------------------------------------------===//

TEST(LossEval, Bce) {
  EXPECT_NEAR(scalarOf(Op::Bce, {f64({2}, {0.9, 0.2}), f64({2}, {1, 0})}),
              -(std::log(0.9) + std::log(0.8)) / 2, 1e-15);
  // Soft targets.
  EXPECT_NEAR(scalarOf(Op::Bce, {f64({1}, {0.25}), f64({1}, {0.3})}),
              -(0.3 * std::log(0.25) + 0.7 * std::log(0.75)), 1e-15);
  // Logarithms clamped at -100: a confident wrong answer costs 100, not inf.
  EXPECT_DOUBLE_EQ(scalarOf(Op::Bce, {f64({2}, {0, 1}), f64({2}, {1, 0})}),
                   100);
  // ... and a confident right one costs 0, not NaN (0 * -inf).
  EXPECT_DOUBLE_EQ(scalarOf(Op::Bce, {f64({2}, {1, 0}), f64({2}, {1, 0})}), 0);
}

TEST(LossEval, BceWithLogits) {
  EXPECT_NEAR(scalarOf(Op::BceWithLogits, {f64({2}, {0, 2}), f64({2}, {1, 0})}),
              (std::log(2.0) + 2 + std::log1p(std::exp(-2.0))) / 2, 1e-15);
  // Stable at extreme logits: no overflow, no cancellation to 0 - 0.
  EXPECT_DOUBLE_EQ(
      scalarOf(Op::BceWithLogits, {f64({2}, {1000, -1000}), f64({2}, {1, 0})}),
      0);
  EXPECT_DOUBLE_EQ(
      scalarOf(Op::BceWithLogits, {f64({1}, {-1000}), f64({1}, {1})}), 1000);
  EXPECT_NEAR(scalarOf(Op::BceWithLogits, {f64({1}, {40}), f64({1}, {1})}),
              std::exp(-40.0), 1e-30);
  // Equals bce(sigmoid(z), t) away from the extremes.
  double Z = 0.7, T = 0.4, P = 1 / (1 + std::exp(-Z));
  EXPECT_NEAR(scalarOf(Op::BceWithLogits, {f64({1}, {Z}), f64({1}, {T})}),
              scalarOf(Op::Bce, {f64({1}, {P}), f64({1}, {T})}), 1e-15);
}

//===--- softmax_cross_entropy --------------------------------------------===//

TEST(LossEval, SoftmaxCrossEntropyWithClassIds) {
  Tensor Z = f64({2, 3}, {1, 2, 3, 1, 1, 1});
  double Lse0 = 3 + std::log(std::exp(-2.0) + std::exp(-1.0) + 1);
  EXPECT_NEAR(scalarOf(Op::SoftmaxCrossEntropy, {Z, i32({2}, {2, 0})}),
              ((Lse0 - 3) + std::log(3.0)) / 2, 1e-15);
  // Stable: the max is subtracted first.
  EXPECT_DOUBLE_EQ(scalarOf(Op::SoftmaxCrossEntropy,
                            {f64({1, 2}, {1000, 0}), i32({1}, {0})}),
                   0);
  EXPECT_DOUBLE_EQ(scalarOf(Op::SoftmaxCrossEntropy,
                            {f64({1, 2}, {1000, 0}), i32({1}, {1})}),
                   1000);
  // One class: the loss is 0.
  EXPECT_DOUBLE_EQ(scalarOf(Op::SoftmaxCrossEntropy,
                            {f64({2, 1}, {5, -7}), i32({2}, {0, 0})}),
                   0);
}

TEST(LossEval, SoftmaxCrossEntropyClassIdOutOfRange) {
  Tensor Z = f64({2, 3}, {1, 2, 3, 1, 1, 1});
  EvalResult R = eval(Op::SoftmaxCrossEntropy, {Z, i32({2}, {0, 3})});
  EXPECT_FALSE(R.Ok);
  EXPECT_THAT(R.Err, HasSubstr("class id 3 of example 1 is outside [0, 3)"));
  R = eval(Op::SoftmaxCrossEntropy, {Z, i32({2}, {-1, 0})});
  EXPECT_FALSE(R.Ok);
  EXPECT_THAT(R.Err, HasSubstr("class id -1 of example 0 is outside [0, 3)"));
}

TEST(LossEval, SoftmaxCrossEntropyWithFloatTargets) {
  Tensor Z = f64({2, 3}, {1, 2, 3, 1, 1, 1});
  // One-hot targets give the class-id loss.
  EXPECT_NEAR(
      scalarOf(Op::SoftmaxCrossEntropy, {Z, f64({2, 3}, {0, 0, 1, 1, 0, 0})}),
      scalarOf(Op::SoftmaxCrossEntropy, {Z, i32({2}, {2, 0})}), 1e-15);
  // Soft targets (label smoothing); unnormalized rows are allowed.
  double Lse0 = 3 + std::log(std::exp(-2.0) + std::exp(-1.0) + 1);
  double Row0 = 0.5 * (Lse0 - 1) + 0.5 * (Lse0 - 2);
  double Row1 = 2 * std::log(3.0);
  EXPECT_NEAR(scalarOf(Op::SoftmaxCrossEntropy,
                       {Z, f64({2, 3}, {0.5, 0.5, 0, 0, 2, 0})}),
              (Row0 + Row1) / 2, 1e-15);
  // f32 logits and targets.
  EXPECT_NEAR(scalarOf(Op::SoftmaxCrossEntropy,
                       {f32({1, 2}, {0, 0}), f32({1, 2}, {1, 0})}, DType::F32),
              std::log(2.0), 1e-7);
}

//===--- accuracy, one_hot ------------------------------------------------===//

TEST(LossEval, Accuracy) {
  // Row 1 ties: the first maximum (class 0) counts.
  Tensor Z = f64({3, 3}, {1, 3, 2, 5, 5, 1, 0, 0, 0});
  EXPECT_DOUBLE_EQ(scalarOf(Op::Accuracy, {Z, i32({3}, {1, 0, 2})}), 2.0 / 3);
  EXPECT_DOUBLE_EQ(scalarOf(Op::Accuracy, {Z, i32({3}, {1, 1, 0})}), 2.0 / 3);
  // An id out of range simply never matches.
  EXPECT_DOUBLE_EQ(scalarOf(Op::Accuracy, {Z, i32({3}, {7, -1, 0})}), 1.0 / 3);
  // Float targets: compared with the target row's argmax.
  Tensor T = f64({3, 3}, {0.1, 0.8, 0.1, 0, 0, 1, 1, 0, 0});
  EXPECT_DOUBLE_EQ(scalarOf(Op::Accuracy, {Z, T}), 2.0 / 3);
  // NaN is the largest, as in torch.argmax.
  EXPECT_DOUBLE_EQ(
      scalarOf(Op::Accuracy, {f64({1, 3}, {1, NaN, 2}), i32({1}, {1})}), 1);
  EXPECT_EQ(getOpDef(Op::Accuracy).Grad, nullptr);
}

TEST(LossEval, OneHot) {
  Kw K{{"classes", int64_t(3)}, {"dtype", DType::F32}};
  expectTensor(run(Op::OneHot, {i32({3}, {0, 2, 1})}, K), F32({3, 3}),
               {1, 0, 0, 0, 0, 1, 0, 1, 0});
  // Any shape of ids; an id outside [0, classes) gives a zero row.
  expectTensor(run(Op::OneHot, {i32({2, 2}, {1, -1, 3, 0})},
                   {{"classes", int64_t(3)}, {"dtype", DType::F64}}),
               F64({2, 2, 3}), {0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0});
}

//===--- Gradient rules against central differences -----------------------===//

TEST(LossGrad, Mse) {
  checkGradRandom(Op::Mse, {{2, 3}, {2, 3}});
  checkGradRandom(Op::Mse, {{2, 1}, {3}});
  checkGradRandom(Op::Mse, {{}, {4}});
}

TEST(LossGrad, Bce) {
  std::mt19937_64 R(11);
  checkGrad(Op::Bce,
            {random(F64({2, 3}), R, 0.05, 0.95), random(F64({2, 3}), R, 0, 1)});
  checkGrad(Op::Bce,
            {random(F64({4}), R, 0.2, 0.8), random(F64({4}), R, 0, 1)});
}

TEST(LossGrad, BceWithLogits) {
  std::mt19937_64 R(13);
  checkGrad(Op::BceWithLogits,
            {random(F64({2, 3}), R, -4, 4), random(F64({2, 3}), R, 0, 1)});
}

TEST(LossGrad, SoftmaxCrossEntropy) {
  std::mt19937_64 R(17);
  // Class ids are held constant; the logits vary.
  checkGrad(Op::SoftmaxCrossEntropy,
            {random(F64({3, 4}), R), i32({3}, {0, 3, 1})});
  // Float targets: both vary (rows need not sum to 1).
  checkGrad(Op::SoftmaxCrossEntropy,
            {random(F64({3, 4}), R), random(F64({3, 4}), R, 0, 1)});
  checkGrad(Op::SoftmaxCrossEntropy,
            {random(F64({2, 1}), R), i32({2}, {0, 0})});
}

//===--- Closed forms
//------------------------------------------------------===//

TEST(LossGrad, ClosedForms) {
  // mse: 2 (a - b) / N.
  auto G = gradOf(Op::Mse, {f64({2}, {3, 1}), f64({2}, {1, 1})});
  expectTensor(*G[0], F64({2}), {2, 0});
  expectTensor(*G[1], F64({2}), {-2, 0});
  // bce: (p - t) / (p (1 - p)) / N, and the clamped logs' difference for t.
  G = gradOf(Op::Bce, {f64({2}, {0.25, 0.5}), f64({2}, {1, 0})});
  expectTensor(*G[0], F64({2}), {-0.75 / 0.1875 / 2, 0.5 / 0.25 / 2});
  expectTensor(*G[1], F64({2}), {(std::log(0.75) - std::log(0.25)) / 2, 0});
  // At p = 0 the denominator is held at 1e-12 and the logs at -100.
  G = gradOf(Op::Bce, {f64({1}, {0}), f64({1}, {1})});
  expectTensor(*G[0], F64({1}), {-1e12});
  expectTensor(*G[1], F64({1}), {100});
  // bce_with_logits: (sigmoid(z) - t) / N and -z / N.
  G = gradOf(Op::BceWithLogits, {f64({2}, {0, 2}), f64({2}, {1, 0})});
  expectTensor(*G[0], F64({2}), {-0.25, 1 / (1 + std::exp(-2.0)) / 2});
  expectTensor(*G[1], F64({2}), {0, -1});
  // softmax_cross_entropy: (softmax - one_hot) / B; d/dt = -log_softmax / B.
  G = gradOf(Op::SoftmaxCrossEntropy,
             {f64({2, 2}, {0, 0, 0, std::log(3.0)}), i32({2}, {1, 1})});
  expectTensor(*G[0], F64({2, 2}), {0.25, -0.25, 0.125, -0.125});
  EXPECT_FALSE(G[1].has_value());
  G = gradOf(Op::SoftmaxCrossEntropy,
             {f64({1, 2}, {0, 0}), f64({1, 2}, {0.5, 1.5})});
  // softmax * sum(t) - t = [0.5 * 2 - 0.5, 0.5 * 2 - 1.5]
  expectTensor(*G[0], F64({1, 2}), {0.5, -0.5});
  expectTensor(*G[1], F64({1, 2}), {std::log(2.0), std::log(2.0)});
}

TEST(LossGrad, RulesExactlyWhereExpected) {
#define GRADC_OP(Name, Mn, Min, Max, Family, Flags)                            \
  if (OpFamily::Family == OpFamily::Loss) {                                    \
    EXPECT_NE(getOpDef(Op::Name).Eval, nullptr) << Mn;                         \
    EXPECT_EQ(getOpDef(Op::Name).Grad == nullptr,                              \
              getOpInfo(Op::Name).has(OF_NoGrad))                              \
        << Mn;                                                                 \
  }
#include "ir/Ops.def"
}

} // namespace
