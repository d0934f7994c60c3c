//===- tests/unit/GradCheckTest.cpp - Gradients against finite differences ===//
//
// Every differentiable op of the table, in every attribute variant that
// changes the maths, is checked in f64 against central differences: the loss
// is sum(op(params...) * w) for a random w, differentiated by the autodiff
// core and run on the interpreter. An op that is neither OF_NoGrad nor
// covered here fails the test, so a new op is checked without a new test.
// Also: a Hessian-vector product (autodiff of the backward graph), and every
// example model converted to f64.
//
//===----------------------------------------------------------------------===//
#include "GradCheck.h"

#include "ir/OpDefs.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

using namespace gradc;
using namespace gradc::ir;
using namespace gradc::test;

namespace gradc::ir {
void PrintTo(Op O, std::ostream *OS) { *OS << mnemonic(O); }
} // namespace gradc::ir

namespace {

TensorType f64(Shape S) { return {DType::F64, std::move(S)}; }
TensorType i32(Shape S) { return {DType::I32, std::move(S)}; }
AttrValue I(int64_t V) { return V; }
AttrValue F(double V) { return V; }
AttrValue L(std::initializer_list<int64_t> V) { return IntList(V); }
const Domain Pos{0.5, 2.0};
const Domain Prob{0.05, 0.95};

/// The cases: every attribute variant that changes the maths.
std::vector<OpCase> cases() {
  std::vector<OpCase> V = {
      // Elementwise, with broadcasting both ways.
      {Op::Add, {f64({2, 3}), f64({3})}},
      {Op::Sub, {f64({2, 1}), f64({1, 3})}},
      {Op::Mul, {f64({2, 3}), f64({2, 3})}},
      {Op::Div, {f64({2, 3}), f64({3})}, {}, {{}, Pos}},
      {Op::Neg, {f64({4})}},
      {Op::Maximum, {f64({2, 3}), f64({3})}},
      {Op::Minimum, {f64({3}), f64({2, 3})}},
      {Op::Pow, {f64({2, 3}), f64({2, 3})}, {}, {Pos, {}}},
      {Op::Exp, {f64({2, 3})}},
      {Op::Log, {f64({2, 3})}, {}, {Pos}},
      {Op::Sqrt, {f64({2, 3})}, {}, {Pos}},
      {Op::Rsqrt, {f64({2, 3})}, {}, {Pos}},
      {Op::Abs, {f64({2, 3})}},
      {Op::Square, {f64({2, 3})}},
      {Op::Relu, {f64({2, 3})}},
      {Op::Sigmoid, {f64({2, 3})}},
      {Op::Tanh, {f64({2, 3})}},
      {Op::Softplus, {f64({2, 3})}},
      {Op::Softplus, {f64({2, 3})}, {}, {{19.0, 22.0}}},
      {Op::Gelu, {f64({2, 3})}},
      {Op::LeakyRelu, {f64({2, 3})}, {{"slope", F(0.2)}}},
      {Op::Elu, {f64({2, 3})}, {{"alpha", F(1.5)}}},
      {Op::Clamp, {f64({2, 3})}, {{"lo", F(-0.5)}, {"hi", F(0.7)}}},
      {Op::Cast, {f64({2, 3})}, {{"to", DType::F64}}},
      {Op::Identity, {f64({2, 3})}},
      {Op::Erf, {f64({2, 3})}},
      {Op::Select, {f64({2, 3}), f64({2, 3}), f64({3})}, {}, {{-1, 1}, {}, {}}},
      // Reductions: all axes, some axes, keepdims.
      {Op::Sum, {f64({2, 3, 4})}},
      {Op::Sum, {f64({2, 3, 4})}, {{"axes", L({0, 2})}, {"keepdims", AttrValue(true)}}},
      {Op::Mean, {f64({2, 3, 4})}, {{"axes", L({1})}}},
      {Op::Mean, {f64({2, 3})}, {{"keepdims", AttrValue(true)}}},
      {Op::Max, {f64({2, 3, 4})}, {{"axes", L({-1})}}},
      {Op::Max, {f64({3, 4})}},
      {Op::LogSumExp, {f64({2, 3, 4})}, {{"axes", L({1, 2})}}},
      {Op::LogSumExp, {f64({3, 4})}, {{"keepdims", AttrValue(true)}}},
      {Op::Softmax, {f64({2, 3, 4})}, {{"axis", I(1)}}},
      {Op::Softmax, {f64({3, 5})}},
      {Op::LogSoftmax, {f64({2, 3, 4})}, {{"axis", I(0)}}},
      {Op::LogSoftmax, {f64({3, 5})}},
      // Movement.
      {Op::Transpose, {f64({2, 3, 4})}, {{"perm", L({2, 0, 1})}}},
      {Op::Transpose, {f64({2, 3})}},
      {Op::Reshape, {f64({2, 3, 4})}, {{"shape", L({4, -1})}}},
      {Op::Flatten, {f64({2, 3, 4})}},
      {Op::Concat, {f64({2, 3}), f64({2, 2}), f64({2, 1})}, {{"axis", I(1)}}},
      {Op::Concat, {f64({1, 3}), f64({2, 3})}},
      {Op::Slice, {f64({5, 3})}, {{"axis", I(0)}, {"start", I(1)}, {"end", I(4)}}},
      {Op::Slice, {f64({2, 6})}, {{"axis", I(1)}, {"start", I(-2)}}},
      {Op::Broadcast, {f64({3, 1})}, {{"shape", L({2, 3, 4})}}},
      // Linear algebra.
      {Op::Matmul, {f64({3, 4}), f64({4, 2})}},
      {Op::Matmul, {f64({2, 3, 4}), f64({4, 5})}},
      {Op::Matmul, {f64({2, 1, 3, 4}), f64({3, 4, 2})}},
      {Op::MatmulT, {f64({4, 3}), f64({4, 2})}, {{"transpose_a", AttrValue(true)}}},
      {Op::MatmulT, {f64({3, 4}), f64({2, 4})}, {{"transpose_b", AttrValue(true)}}},
      {Op::MatmulT, {f64({2, 4, 3}), f64({5, 4})},
       {{"transpose_a", AttrValue(true)}, {"transpose_b", AttrValue(true)}}},
      {Op::Conv2d, {f64({2, 3, 5, 5}), f64({4, 3, 3, 3})}},
      {Op::Conv2d, {f64({1, 2, 6, 7}), f64({2, 2, 3, 2}), f64({2})},
       {{"stride", L({2, 1})}, {"padding", L({1, 2})}}},
      {Op::Conv2d, {f64({1, 4, 7, 7}), f64({6, 2, 2, 3})},
       {{"dilation", L({2, 1})}, {"groups", I(2)}, {"padding", I(1)}}},
      {Op::Conv2dGradInput, {f64({1, 2, 3, 3}), f64({2, 3, 3, 3})},
       {{"input_size", L({5, 5})}}},
      {Op::Conv2dGradInput, {f64({1, 4, 3, 4}), f64({4, 1, 2, 2})},
       {{"input_size", L({6, 8})}, {"stride", I(2)}, {"groups", I(2)}}},
      {Op::Conv2dGradWeight, {f64({1, 3, 5, 5}), f64({1, 2, 3, 3})},
       {{"kernel", L({3, 3})}}},
      {Op::Conv2dGradWeight, {f64({2, 4, 6, 6}), f64({2, 2, 4, 4})},
       {{"kernel", L({2, 2})}, {"stride", I(2)}, {"padding", I(1)}, {"groups", I(2)}}},
      // Layers.
      {Op::MaxPool2d, {f64({1, 2, 5, 5})}, {{"kernel", I(2)}}},
      {Op::MaxPool2d, {f64({1, 1, 6, 6})}, {{"kernel", I(3)}, {"stride", I(2)}, {"padding", I(1)}}},
      {Op::AvgPool2d, {f64({1, 2, 4, 4})}, {{"kernel", I(2)}}},
      {Op::AvgPool2d, {f64({1, 1, 5, 5})}, {{"kernel", I(3)}, {"stride", I(2)}, {"padding", I(1)}}},
      {Op::AvgPool2dGrad, {f64({1, 1, 3, 3})},
       {{"kernel", I(3)}, {"stride", I(2)}, {"padding", I(1)}, {"input_size", L({5, 5})}}},
      {Op::Embedding, {i32({2, 3}), f64({5, 4})}, {}, {{0, 5}, {}}},
      {Op::EmbeddingGrad, {i32({2, 3}), f64({2, 3, 4})}, {{"num", I(5)}}, {{0, 5}, {}}},
      // Losses.
      {Op::Mse, {f64({3, 4}), f64({4})}},
      {Op::Bce, {f64({6}), f64({6})}, {}, {Prob, Prob}},
      {Op::BceWithLogits, {f64({2, 3}), f64({2, 3})}, {}, {{}, Prob}},
      {Op::SoftmaxCrossEntropy, {f64({4, 3}), i32({4})}, {}, {{}, {0, 3}}},
      {Op::SoftmaxCrossEntropy, {f64({4, 3}), f64({4, 3})}, {}, {{}, Prob}},
  };
  return V;
}

/// Ops whose gradient is checked elsewhere: batch_norm and dropout are
/// lowered to other ops before autodiff (see ModelGradients below).
bool loweredBeforeAutodiff(Op O) { return O == Op::BatchNorm || O == Op::Dropout; }

std::vector<Op> differentiableOps() {
  std::vector<Op> Ops;
#define GRADC_OP(Name, Mnemonic, Min, Max, Family, Flags)                      \
  if (OpFamily::Family != OpFamily::Source && !((Flags) & OF_NoGrad) &&          \
      !loweredBeforeAutodiff(Op::Name))                                        \
    Ops.push_back(Op::Name);
#include "ir/Ops.def"
  return Ops;
}

class OpGradient : public ::testing::TestWithParam<Op> {};

TEST_P(OpGradient, MatchesCentralDifferences) {
  Op O = GetParam();
  if (!getOpDef(O).Grad) {
    EXPECT_EQ(O, Op::MaxPool2dGrad) << "'" << mnemonic(O) << "' has no gradient rule";
    return;
  }
  int Count = 0;
  for (const OpCase &C : cases()) {
    if (C.O != O)
      continue;
    ++Count;
    checkOpGradient(C);
  }
  EXPECT_GT(Count, 0) << "no gradient case for '" << mnemonic(O)
                      << "': add one to cases() in GradCheckTest.cpp";
}

INSTANTIATE_TEST_SUITE_P(AllOps, OpGradient, ::testing::ValuesIn(differentiableOps()),
                         [](const ::testing::TestParamInfo<Op> &Info) {
                           return std::string(mnemonic(Info.param));
                         });

TEST(GradCheck, HessianVectorProductOfAnMLP) { checkHessianVectorProduct(); }

class ModelGradients : public ::testing::TestWithParam<std::string> {};

TEST_P(ModelGradients, MatchCentralDifferencesInF64) {
  checkModelGradients(std::string(GRADC_SOURCE_DIR) + "/examples/" + GetParam());
}

INSTANTIATE_TEST_SUITE_P(Examples, ModelGradients,
                         ::testing::Values("xor.nn", "linreg.nn", "mnist_mlp.nn",
                                           "lenet.nn", "bn_mlp.nn", "mlp_wide.nn"),
                         [](const ::testing::TestParamInfo<std::string> &Info) {
                           std::string N = Info.param.substr(0, Info.param.find('.'));
                           return N;
                         });

} // namespace
