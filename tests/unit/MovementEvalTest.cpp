//===- tests/unit/MovementEvalTest.cpp - Eval and Grad of Movement ops ----===//
//
// transpose, reshape, flatten, concat, slice and broadcast on small
// hand-computed cases, in f64 and i32 (movement ops move values of any
// dtype), then their gradient rules against central differences,
// grad-of-grad included.
//
//===----------------------------------------------------------------------===//
#include "EvalTestUtil.h"

#include <numeric>

using namespace evaltest;

namespace {

AttrValue L(std::initializer_list<int64_t> V) { return IntList(V); }
AttrValue I(int64_t V) { return V; }

TensorType F64(Shape S) { return {DType::F64, std::move(S)}; }
TensorType I32(Shape S) { return {DType::I32, std::move(S)}; }

/// 0, 1, 2, ... in a tensor of shape \p S and dtype \p T.
Tensor iota(DType T, Shape S) {
  Tensor X(TensorType(T, std::move(S)));
  std::iota(X.Data.begin(), X.Data.end(), 0.0);
  return X;
}

//===--- transpose --------------------------------------------------------===//

TEST(MovementEval, Transpose) {
  // Default: swap the last two axes.
  expectTensor(run(Op::Transpose, {iota(DType::F64, {2, 3})}), F64({3, 2}),
               {0, 3, 1, 4, 2, 5}, 0);
  expectTensor(run(Op::Transpose, {iota(DType::I32, {2, 2, 3})}),
               I32({2, 3, 2}), {0, 3, 1, 4, 2, 5, 6, 9, 7, 10, 8, 11}, 0);
  // out[i][j][k] = x[j][k][i] for perm [2, 0, 1] of x: [2, 3, 4].
  Tensor X = iota(DType::F64, {2, 3, 4});
  Tensor Y = run(Op::Transpose, {X}, {{"perm", L({2, 0, 1})}});
  ASSERT_EQ(Y.Type, F64({4, 2, 3}));
  for (int64_t A = 0; A < 4; ++A)
    for (int64_t B = 0; B < 2; ++B)
      for (int64_t C = 0; C < 3; ++C)
        EXPECT_EQ(Y.Data[(A * 2 + B) * 3 + C], X.Data[(B * 3 + C) * 4 + A]);
  // The identity permutation, and rank 1.
  expectTensor(
      run(Op::Transpose, {iota(DType::F64, {2, 2})}, {{"perm", L({0, 1})}}),
      F64({2, 2}), {0, 1, 2, 3}, 0);
  expectTensor(run(Op::Transpose, {iota(DType::F64, {3})}, {{"perm", L({0})}}),
               F64({3}), {0, 1, 2}, 0);
}

//===--- reshape, flatten -------------------------------------------------===//

TEST(MovementEval, ReshapeAndFlatten) {
  expectTensor(
      run(Op::Reshape, {iota(DType::F64, {2, 3})}, {{"shape", L({3, -1})}}),
      F64({3, 2}), {0, 1, 2, 3, 4, 5}, 0);
  expectTensor(
      run(Op::Reshape, {iota(DType::I32, {6})}, {{"shape", L({1, 2, 3})}}),
      I32({1, 2, 3}), {0, 1, 2, 3, 4, 5}, 0);
  expectTensor(run(Op::Reshape, {f64({1, 1}, {7})}, {{"shape", L({})}}),
               F64({}), {7}, 0);
  expectTensor(run(Op::Flatten, {iota(DType::F64, {2, 2, 2})}), F64({2, 4}),
               {0, 1, 2, 3, 4, 5, 6, 7}, 0);
  expectTensor(run(Op::Flatten, {iota(DType::I32, {3})}), I32({3, 1}),
               {0, 1, 2}, 0);
}

//===--- concat -----------------------------------------------------------===//

TEST(MovementEval, Concat) {
  Tensor A = f64({2, 1}, {1, 2}), B = f64({2, 2}, {3, 4, 5, 6});
  expectTensor(run(Op::Concat, {A, B}, {{"axis", I(1)}}), F64({2, 3}),
               {1, 3, 4, 2, 5, 6}, 0);
  expectTensor(run(Op::Concat, {B, A}, {{"axis", I(-1)}}), F64({2, 3}),
               {3, 4, 1, 5, 6, 2}, 0);
  expectTensor(run(Op::Concat, {B, f64({1, 2}, {7, 8}), B}), F64({5, 2}),
               {3, 4, 5, 6, 7, 8, 3, 4, 5, 6}, 0);
  expectTensor(run(Op::Concat, {i32({2}, {1, 2}), i32({1}, {3})}), I32({3}),
               {1, 2, 3}, 0);
  expectTensor(run(Op::Concat, {iota(DType::F64, {3})}), F64({3}), {0, 1, 2},
               0);
  // The middle axis of rank-3 operands.
  expectTensor(run(Op::Concat,
                   {iota(DType::F64, {2, 1, 2}),
                    f64({2, 2, 2}, {10, 11, 12, 13, 14, 15, 16, 17})},
                   {{"axis", I(1)}}),
               F64({2, 3, 2}), {0, 1, 10, 11, 12, 13, 2, 3, 14, 15, 16, 17}, 0);
}

//===--- slice ------------------------------------------------------------===//

TEST(MovementEval, Slice) {
  Tensor X = iota(DType::F64, {2, 4});
  expectTensor(
      run(Op::Slice, {X}, {{"axis", I(1)}, {"start", I(1)}, {"end", I(3)}}),
      F64({2, 2}), {1, 2, 5, 6}, 0);
  expectTensor(run(Op::Slice, {X}, {{"axis", I(-1)}, {"start", I(-1)}}),
               F64({2, 1}), {3, 7}, 0);
  expectTensor(
      run(Op::Slice, {X}, {{"axis", I(0)}, {"start", I(1)}, {"end", I(99)}}),
      F64({1, 4}), {4, 5, 6, 7}, 0);
  expectTensor(
      run(Op::Slice, {iota(DType::I32, {5})}, {{"axis", I(0)}, {"end", I(-2)}}),
      I32({3}), {0, 1, 2}, 0);
  expectTensor(run(Op::Slice, {iota(DType::F64, {2, 3, 2})},
                   {{"axis", I(1)}, {"start", I(2)}}),
               F64({2, 1, 2}), {4, 5, 10, 11}, 0);
}

//===--- broadcast --------------------------------------------------------===//

TEST(MovementEval, Broadcast) {
  expectTensor(
      run(Op::Broadcast, {f64({3}, {1, 2, 3})}, {{"shape", L({2, 3})}}),
      F64({2, 3}), {1, 2, 3, 1, 2, 3}, 0);
  expectTensor(
      run(Op::Broadcast, {f64({2, 1}, {1, 2})}, {{"shape", L({2, 3})}}),
      F64({2, 3}), {1, 1, 1, 2, 2, 2}, 0);
  expectTensor(run(Op::Broadcast, {f64({}, {4})}, {{"shape", L({2, 2})}}),
               F64({2, 2}), {4, 4, 4, 4}, 0);
  expectTensor(
      run(Op::Broadcast, {i32({1, 2}, {5, 6})}, {{"shape", L({2, 2, 2})}}),
      I32({2, 2, 2}), {5, 6, 5, 6, 5, 6, 5, 6}, 0);
  expectTensor(run(Op::Broadcast, {f64({2}, {1, 2})}, {{"shape", L({2})}}),
               F64({2}), {1, 2}, 0);
}

//===--- gradients --------------------------------------------------------===//

TEST(MovementGrad, Transpose) {
  checkGradRandom(Op::Transpose, {{2, 3}});
  checkGradRandom(Op::Transpose, {{2, 3, 4}}, {{"perm", L({2, 0, 1})}});
  checkGradRandom(Op::Transpose, {{2, 3, 4}}, {{"perm", L({1, 2, 0})}});
}

TEST(MovementGrad, ReshapeAndFlatten) {
  checkGradRandom(Op::Reshape, {{2, 3}}, {{"shape", L({3, 2})}});
  checkGradRandom(Op::Reshape, {{1}}, {{"shape", L({})}});
  checkGradRandom(Op::Flatten, {{2, 3, 2}});
  checkGradRandom(Op::Flatten, {{3}});
}

TEST(MovementGrad, Concat) {
  checkGradRandom(Op::Concat, {{2, 1}, {2, 3}}, {{"axis", I(1)}});
  checkGradRandom(Op::Concat, {{1, 2}, {2, 2}, {3, 2}});
  checkGradRandom(Op::Concat, {{4}});
  // The same value twice: the two slices of g add up.
  std::mt19937_64 R(3);
  Tensor X = random(F64({2}), R);
  checkGrad(Op::Concat, {X, X});
}

TEST(MovementGrad, Slice) {
  checkGradRandom(Op::Slice, {{2, 5}},
                  {{"axis", I(1)}, {"start", I(1)}, {"end", I(3)}});
  checkGradRandom(Op::Slice, {{4, 2}},
                  {{"axis", I(0)}, {"start", I(0)}, {"end", I(2)}});
  checkGradRandom(Op::Slice, {{4, 2}}, {{"axis", I(0)}, {"start", I(2)}});
  checkGradRandom(Op::Slice, {{3}}, {{"axis", I(0)}});
  checkGradRandom(Op::Slice, {{2, 3, 2}},
                  {{"axis", I(1)}, {"start", I(1)}, {"end", I(2)}});
}

TEST(MovementGrad, Broadcast) {
  checkGradRandom(Op::Broadcast, {{3}}, {{"shape", L({2, 3})}});
  checkGradRandom(Op::Broadcast, {{2, 1}}, {{"shape", L({2, 3})}});
  checkGradRandom(Op::Broadcast, {{}}, {{"shape", L({2, 2})}});
  checkGradRandom(Op::Broadcast, {{2}}, {{"shape", L({2})}});
}

} // namespace
