//===- tests/unit/ReduceEvalTest.cpp - Eval and Grad of the Reduce family -===//
//
// sum, mean, max, logsumexp, softmax, log_softmax and argmax on small
// hand-computed cases (axes, keepdims, layouts, infinities, NaN, ties, large
// values that need the max subtracted), then their gradient rules against
// central differences, grad-of-grad included.
//
//===----------------------------------------------------------------------===//
#include "EvalTestUtil.h"

#include <limits>

using namespace evaltest;

namespace {

constexpr double Inf = std::numeric_limits<double>::infinity();
constexpr double NaN = std::numeric_limits<double>::quiet_NaN();

AttrValue Ax(std::initializer_list<int64_t> V) { return IntList(V); }
AttrValue Bool(bool B) { return B; }

TensorType F64(Shape S) { return {DType::F64, std::move(S)}; }
TensorType F32(Shape S) { return {DType::F32, std::move(S)}; }
TensorType I32(Shape S) { return {DType::I32, std::move(S)}; }

// [[1, 2, 3], [4, 5, 6]]
Tensor m23() { return f64({2, 3}, {1, 2, 3, 4, 5, 6}); }
// [2, 3, 2]: x[i][j][k] = 100 i + 10 j + k
Tensor t232() {
  return f64({2, 3, 2}, {0, 1, 10, 11, 20, 21, 100, 101, 110, 111, 120, 121});
}

//===--- sum, mean --------------------------------------------------------===//

TEST(ReduceEval, Sum) {
  expectTensor(run(Op::Sum, {m23()}), F64({}), {21});
  expectTensor(run(Op::Sum, {m23()}, {{"axes", Ax({1})}}), F64({2}), {6, 15});
  expectTensor(
      run(Op::Sum, {m23()}, {{"axes", Ax({0})}, {"keepdims", Bool(true)}}),
      F64({1, 3}), {5, 7, 9});
  expectTensor(run(Op::Sum, {m23()}, {{"axes", Ax({-1, 0})}}), F64({}), {21});
  // The middle axis of [2, 3, 2], and the outer two.
  expectTensor(run(Op::Sum, {t232()}, {{"axes", Ax({1})}}), F64({2, 2}),
               {30, 33, 330, 333});
  expectTensor(
      run(Op::Sum, {t232()}, {{"axes", Ax({0, 2})}, {"keepdims", Bool(true)}}),
      F64({1, 3, 1}), {202, 242, 282});
  // A scalar reduces to itself.
  expectTensor(run(Op::Sum, {f64({}, {2.5})}), F64({}), {2.5});
  // f32 results are rounded to f32 after the f64 sum.
  Tensor S = run(Op::Sum, {f32({3}, {0.1, 0.2, 0.3})});
  EXPECT_EQ(S.Data[0],
            static_cast<double>(static_cast<float>(0.1 + 0.2 + 0.3)));
}

TEST(ReduceEval, Mean) {
  expectTensor(run(Op::Mean, {m23()}), F64({}), {3.5});
  expectTensor(run(Op::Mean, {m23()}, {{"axes", Ax({1})}}), F64({2}), {2, 5});
  expectTensor(
      run(Op::Mean, {t232()}, {{"axes", Ax({0, 1})}, {"keepdims", Bool(true)}}),
      F64({1, 1, 2}), {60, 61});
  expectTensor(run(Op::Mean, {f64({2}, {1, Inf})}), F64({}), {Inf});
}

//===--- max --------------------------------------------------------------===//

TEST(ReduceEval, Max) {
  expectTensor(run(Op::Max, {m23()}), F64({}), {6});
  expectTensor(
      run(Op::Max, {f64({2, 3}, {3, -1, 3, -7, -8, -9})}, {{"axes", Ax({1})}}),
      F64({2}), {3, -7});
  expectTensor(
      run(Op::Max, {t232()}, {{"axes", Ax({1})}, {"keepdims", Bool(true)}}),
      F64({2, 1, 2}), {20, 21, 120, 121});
  // All -inf gives -inf; NaN propagates (torch.amax).
  expectTensor(run(Op::Max, {f64({2}, {-Inf, -Inf})}), F64({}), {-Inf});
  expectTensor(run(Op::Max, {f64({3}, {1, NaN, 5})}), F64({}), {NaN});
  expectTensor(run(Op::Max, {f64({3}, {NaN, 1, 5})}), F64({}), {NaN});
}

//===--- logsumexp --------------------------------------------------------===//

TEST(ReduceEval, LogSumExp) {
  expectTensor(run(Op::LogSumExp, {f64({3}, {1, 2, 3})}), F64({}),
               {std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0))});
  expectTensor(run(Op::LogSumExp, {m23()}, {{"axes", Ax({0})}}), F64({3}),
               {4 + std::log1p(std::exp(-3.0)), 5 + std::log1p(std::exp(-3.0)),
                6 + std::log1p(std::exp(-3.0))});
  // Stable: the max is subtracted first.
  expectTensor(run(Op::LogSumExp, {f64({2}, {1000, 1000})}), F64({}),
               {1000 + std::log(2.0)});
  expectTensor(run(Op::LogSumExp, {f64({2}, {-1000, -1000})}), F64({}),
               {-1000 + std::log(2.0)});
  // Infinite maxima (PyTorch): all -inf gives -inf, +inf gives +inf.
  expectTensor(run(Op::LogSumExp, {f64({2}, {-Inf, -Inf})}), F64({}), {-Inf});
  expectTensor(run(Op::LogSumExp, {f64({2}, {-Inf, 0})}), F64({}), {0});
  expectTensor(run(Op::LogSumExp, {f64({2}, {Inf, 0})}), F64({}), {Inf});
  expectTensor(
      run(Op::LogSumExp, {t232()},
          {{"axes", Ax({2})}, {"keepdims", Bool(true)}}),
      F64({2, 3, 1}),
      {1 + std::log1p(std::exp(-1.0)), 11 + std::log1p(std::exp(-1.0)),
       21 + std::log1p(std::exp(-1.0)), 101 + std::log1p(std::exp(-1.0)),
       111 + std::log1p(std::exp(-1.0)), 121 + std::log1p(std::exp(-1.0))});
}

//===--- softmax, log_softmax ---------------------------------------------===//

TEST(ReduceEval, Softmax) {
  double E1 = std::exp(1.0), E2 = std::exp(2.0), E3 = std::exp(3.0),
         Z = E1 + E2 + E3;
  expectTensor(run(Op::Softmax, {f64({3}, {1, 2, 3})}), F64({3}),
               {E1 / Z, E2 / Z, E3 / Z});
  // Stable: huge and tiny logits.
  expectTensor(run(Op::Softmax, {f64({3}, {1001, 1002, 1003})}), F64({3}),
               {E1 / Z, E2 / Z, E3 / Z});
  expectTensor(run(Op::Softmax, {f64({2}, {-1000, -1000})}), F64({2}),
               {0.5, 0.5});
  // Along axis 0 of [[1, 2, 3], [4, 5, 6]]: each column is softmax([a, a+3]).
  double P = 1 / (1 + std::exp(3.0));
  expectTensor(run(Op::Softmax, {m23()}, {{"axis", int64_t(0)}}), F64({2, 3}),
               {P, P, P, 1 - P, 1 - P, 1 - P});
  // The middle axis of a rank-3 tensor.
  Tensor Y = run(Op::Softmax, {t232()}, {{"axis", int64_t(1)}});
  double A = std::exp(-20.0), B = std::exp(-10.0), S = A + B + 1;
  expectTensor(Y, F64({2, 3, 2}),
               {A / S, A / S, B / S, B / S, 1 / S, 1 / S, A / S, A / S, B / S,
                B / S, 1 / S, 1 / S});
  // -inf logits get probability 0.
  expectTensor(run(Op::Softmax, {f64({3}, {-Inf, 0, 0})}), F64({3}),
               {0, 0.5, 0.5});
  // f32 keeps its type.
  EXPECT_EQ(run(Op::Softmax, {f32({2}, {0, 0})}).Type, F32({2}));
}

TEST(ReduceEval, LogSoftmax) {
  double L = std::log(std::exp(1.0) + std::exp(2.0) + std::exp(3.0));
  expectTensor(run(Op::LogSoftmax, {f64({3}, {1, 2, 3})}), F64({3}),
               {1 - L, 2 - L, 3 - L});
  // Stable where exp overflows or underflows.
  expectTensor(
      run(Op::LogSoftmax, {f64({2}, {1000, 0})}), F64({2}),
      {-std::log1p(std::exp(-1000.0)), -1000 - std::log1p(std::exp(-1000.0))});
  expectTensor(run(Op::LogSoftmax, {f64({3}, {-1e4, -1e4, -1e4})}), F64({3}),
               {-std::log(3.0), -std::log(3.0), -std::log(3.0)});
  double Q = std::log1p(std::exp(-3.0));
  expectTensor(run(Op::LogSoftmax, {m23()}, {{"axis", int64_t(-2)}}),
               F64({2, 3}), {-3 - Q, -3 - Q, -3 - Q, -Q, -Q, -Q});
  expectTensor(run(Op::LogSoftmax, {f64({2}, {-Inf, 0})}), F64({2}), {-Inf, 0});
}

//===--- argmax -----------------------------------------------------------===//

TEST(ReduceEval, Argmax) {
  expectTensor(run(Op::Argmax, {m23()}), I32({2}), {2, 2}, 0);
  expectTensor(run(Op::Argmax, {m23()}, {{"axis", int64_t(0)}}), I32({3}),
               {1, 1, 1}, 0);
  // The first of tied maxima.
  expectTensor(run(Op::Argmax, {f64({2, 4}, {1, 7, 7, 2, 5, 5, 5, 5})}),
               I32({2}), {1, 0}, 0);
  // The middle axis: x[i][j][k] grows with j.
  expectTensor(run(Op::Argmax, {t232()}, {{"axis", int64_t(1)}}), I32({2, 2}),
               {2, 2, 2, 2}, 0);
  // A NaN counts as the maximum (torch.argmax); -inf rows give 0.
  expectTensor(run(Op::Argmax, {f64({2, 3}, {1, NaN, 5, -Inf, -Inf, -Inf})}),
               I32({2}), {1, 0}, 0);
  expectTensor(run(Op::Argmax, {f32({1}, {3})}), I32({}), {0}, 0);
}

TEST(ReduceEval, ArgmaxHasNoGradRule) {
  EXPECT_EQ(getOpDef(Op::Argmax).Grad, nullptr);
  EXPECT_TRUE(getOpInfo(Op::Argmax).has(OF_NoGrad));
}

//===--- gradients --------------------------------------------------------===//

TEST(ReduceGrad, SumAndMean) {
  for (Op O : {Op::Sum, Op::Mean}) {
    checkGradRandom(O, {{2, 3, 4}});
    checkGradRandom(O, {{2, 3, 4}}, {{"axes", Ax({1})}});
    checkGradRandom(O, {{2, 3, 4}},
                    {{"axes", Ax({0, 2})}, {"keepdims", Bool(true)}});
    checkGradRandom(O, {{2, 3, 4}},
                    {{"axes", Ax({-1})}, {"keepdims", Bool(false)}});
    checkGradRandom(O, {{}});
    checkGradRandom(O, {{5}}, {{"keepdims", Bool(true)}});
  }
}

TEST(ReduceGrad, MaxAndLogSumExp) {
  for (Op O : {Op::Max, Op::LogSumExp}) {
    checkGradRandom(O, {{2, 3, 4}});
    checkGradRandom(O, {{2, 3, 4}}, {{"axes", Ax({1})}});
    checkGradRandom(O, {{2, 3, 4}},
                    {{"axes", Ax({2, 0})}, {"keepdims", Bool(true)}});
    checkGradRandom(O, {{4}}, {{"keepdims", Bool(true)}});
    checkGradRandom(O, {{}});
  }
}

TEST(ReduceGrad, SoftmaxAndLogSoftmax) {
  for (Op O : {Op::Softmax, Op::LogSoftmax}) {
    checkGradRandom(O, {{5}});
    checkGradRandom(O, {{3, 4}});
    checkGradRandom(O, {{3, 4}}, {{"axis", int64_t(0)}});
    checkGradRandom(O, {{2, 3, 4}}, {{"axis", int64_t(1)}});
    checkGradRandom(O, {{2, 1}}); // one class: constant output
  }
}

/// The gradient of max is split evenly among tied maxima (torch.amax).
TEST(ReduceGrad, MaxSplitsTies) {
  Function F;
  Builder B(F);
  Node X;
  X.Opcode = Op::Input;
  X.Type = F64({2, 3});
  X.Symbol = "x";
  F.Nodes.push_back(X);
  ValueId Y = B.make(Op::Max, {0}, {{"axes", Ax({1})}});
  ValueId L = B.make(Op::Sum, {Y});
  gradc::passes::Gradients G =
      gradc::passes::differentiate(B, L, std::vector<ValueId>{0});
  ASSERT_TRUE(G.Of[0]);
  F.Results.push_back({ResultKind::Output, "dx", *G.Of[0]});
  Module M;
  TensorMap In{{"x", f64({2, 3}, {3, 1, 3, 5, 5, 5})}}, State;
  RunResult R = interpret(M, F, In, State);
  ASSERT_TRUE(R.Ok) << R.Error;
  expectTensor(R.Results[0], F64({2, 3}),
               {0.5, 0, 0.5, 1.0 / 3, 1.0 / 3, 1.0 / 3});
}

} // namespace
