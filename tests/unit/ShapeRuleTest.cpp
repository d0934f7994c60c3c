//===- tests/unit/ShapeRuleTest.cpp - Shape and dtype rules of every op ---===//
//
// Each op gets good cases (result type and normalized attributes) and bad
// cases (wrong dtype, mismatched shapes, bad attributes). A parametrized test
// over every non-Source op of Ops.def checks that normalization is idempotent
// and survives re-binding by name (what the IR printer and parser do).
//
//===----------------------------------------------------------------------===//
#include "ir/OpDefs.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

using namespace gradc::ir;
using ::testing::HasSubstr;

/// Expects the message \p Msg to contain \p Text.
#define EXPECT_ERR(Msg, Text) EXPECT_THAT(Msg, HasSubstr(Text))

namespace gradc::ir {
// gtest prints parameters with this ("add" rather than a byte dump).
void PrintTo(Op O, std::ostream *OS) { *OS << mnemonic(O); }
} // namespace gradc::ir

namespace {

TensorType f32(Shape S) { return {DType::F32, std::move(S)}; }
TensorType f64(Shape S) { return {DType::F64, std::move(S)}; }
TensorType i32(Shape S) { return {DType::I32, std::move(S)}; }

AttrValue I(int64_t V) { return V; }
AttrValue F(double V) { return V; }
AttrValue L(std::initializer_list<int64_t> V) { return IntList(V); }

constexpr int64_t IMin = std::numeric_limits<int64_t>::min();
constexpr int64_t IMax = std::numeric_limits<int64_t>::max();
constexpr double Inf = std::numeric_limits<double>::infinity();
constexpr double NaN = std::numeric_limits<double>::quiet_NaN();

using Kw = std::vector<NamedAttrValue>;
using Types = std::vector<TensorType>;

struct Outcome {
  bool Ok = false;
  TensorType Type;
  AttrList Attrs;
  std::string Err;
  int ErrOperand = -1;
  std::string text() const {
    return formatType(Type) + " " + formatAttrs(Attrs);
  }
};

/// Binds \p K (and \p Pos) like the front end, then applies the shape rule.
Outcome run(Op O, const Types &Operands, const Kw &K = {},
            const std::vector<AttrValue> &Pos = {}) {
  Outcome R;
  int ErrArg;
  if (!bindAttrs(mnemonic(O), getOpDef(O).Attrs, Pos, K, R.Attrs, R.Err,
                 ErrArg))
    return R;
  R.Ok = inferType(O, Operands, R.Attrs, R.Type, R.Err, R.ErrOperand);
  return R;
}

/// Expects success; "f32[2, 3] {axis = 1}" (type, then normalized attributes).
std::string good(Op O, const Types &Operands, const Kw &K = {},
                 const std::vector<AttrValue> &Pos = {}) {
  Outcome R = run(O, Operands, K, Pos);
  EXPECT_TRUE(R.Ok) << mnemonic(O) << ": " << R.Err;
  return R.Ok ? R.text() : "error: " + R.Err;
}

/// Expects failure; the message.
std::string bad(Op O, const Types &Operands, const Kw &K = {},
                const std::vector<AttrValue> &Pos = {}) {
  Outcome R = run(O, Operands, K, Pos);
  EXPECT_FALSE(R.Ok) << mnemonic(O) << " unexpectedly gave " << R.text();
  return R.Err;
}

/// Expects failure about operand \p At (0-based); the message.
std::string badAt(int At, Op O, const Types &Operands, const Kw &K = {}) {
  Outcome R = run(O, Operands, K);
  EXPECT_FALSE(R.Ok) << mnemonic(O) << " unexpectedly gave " << R.text();
  EXPECT_EQ(R.ErrOperand, At) << R.Err;
  return R.Err;
}

const Op BinaryOps[] = {Op::Add,     Op::Sub,     Op::Mul, Op::Div,
                        Op::Maximum, Op::Minimum, Op::Pow};
const Op UnaryOps[] = {Op::Neg,  Op::Exp,      Op::Log,  Op::Sqrt, Op::Rsqrt,
                       Op::Abs,  Op::Square,   Op::Sign, Op::Relu, Op::Sigmoid,
                       Op::Tanh, Op::Softplus, Op::Gelu};
const Op ReduceOps[] = {Op::Sum, Op::Mean, Op::Max, Op::LogSumExp};

//===--- Elementwise ------------------------------------------------------===//

TEST(ElementwiseRule, BinaryBroadcasts) {
  for (Op O : BinaryOps) {
    SCOPED_TRACE(mnemonic(O));
    EXPECT_EQ(good(O, {f32({64, 784}), f32({784})}), "f32[64, 784] ");
    EXPECT_EQ(good(O, {f64({3, 1}), f64({1, 4})}), "f64[3, 4] ");
    EXPECT_EQ(good(O, {f32({}), f32({2, 5})}), "f32[2, 5] ");
    EXPECT_EQ(good(O, {f32({}), f32({})}), "f32[] ");
  }
}

TEST(ElementwiseRule, BinaryErrors) {
  EXPECT_ERR(bad(Op::Add, {f32({64, 784}), f32({100})}),
             "cannot broadcast f32[64, 784] with f32[100] in 'add'");
  EXPECT_ERR(bad(Op::Pow, {f32({2, 3}), f32({3, 2})}),
             "cannot broadcast f32[2, 3] with f32[3, 2] in 'pow'");
  std::string E = badAt(1, Op::Mul, {f32({2}), f64({2})});
  EXPECT_ERR(E, "dtype mismatch in 'mul': f32[2] and f64[2]");
  EXPECT_ERR(E, "cast");
  E = badAt(0, Op::Sub, {i32({2}), i32({2})});
  EXPECT_ERR(E, "'sub' needs a float tensor, but argument 1 is i32[2]");
  EXPECT_ERR(E, "use cast");
  EXPECT_ERR(badAt(1, Op::Div, {f32({2}), i32({2})}), "argument 2 is i32[2]");
  // The broadcast result would exceed MaxElements: an error, not an overflow.
  EXPECT_ERR(
      bad(Op::Add, {f32({int64_t(1) << 30, 1}), f32({1, int64_t(1) << 30})}),
      "the result of 'add' would have more than");
}

TEST(ElementwiseRule, UnaryKeepsType) {
  for (Op O : UnaryOps) {
    SCOPED_TRACE(mnemonic(O));
    EXPECT_EQ(good(O, {f64({2, 3})}), "f64[2, 3] ");
    EXPECT_EQ(good(O, {f32({})}), "f32[] ");
    EXPECT_ERR(badAt(0, O, {i32({4})}),
               fmt::format("'{}' needs a float tensor", mnemonic(O)));
  }
}

TEST(ElementwiseRule, Identity) {
  EXPECT_EQ(good(Op::Identity, {i32({7})}), "i32[7] ");
  EXPECT_EQ(good(Op::Identity, {f64({2, 2})}), "f64[2, 2] ");
}

TEST(ElementwiseRule, LeakyReluAndElu) {
  EXPECT_EQ(good(Op::LeakyRelu, {f32({3})}), "f32[3] {slope = 0.01}");
  EXPECT_EQ(good(Op::LeakyRelu, {f32({3})}, {}, {I(2)}),
            "f32[3] {slope = 2.0}");
  EXPECT_EQ(good(Op::Elu, {f32({3})}), "f32[3] {alpha = 1.0}");
  EXPECT_EQ(good(Op::Elu, {f64({3})}, {{"alpha", F(0.5)}}),
            "f64[3] {alpha = 0.5}");
  EXPECT_ERR(bad(Op::LeakyRelu, {f32({3})}, {{"slope", F(Inf)}}),
             "'slope' of 'leaky_relu' must be a finite number, got inf");
  EXPECT_ERR(bad(Op::Elu, {f32({3})}, {{"alpha", F(NaN)}}),
             "'alpha' of 'elu' must be a finite number, got nan");
  EXPECT_ERR(bad(Op::LeakyRelu, {f32({3})}, {{"slope", AttrValue(true)}}),
             "'slope' must be a number");
  EXPECT_ERR(bad(Op::Elu, {i32({3})}), "'elu' needs a float tensor");
}

TEST(ElementwiseRule, Clamp) {
  EXPECT_EQ(good(Op::Clamp, {f32({3})}, {}, {I(-1), F(1.5)}),
            "f32[3] {lo = -1.0, hi = 1.5}");
  EXPECT_EQ(good(Op::Clamp, {f32({3})}, {{"hi", I(0)}, {"lo", I(0)}}),
            "f32[3] {lo = 0.0, hi = 0.0}");
  EXPECT_EQ(good(Op::Clamp, {f32({3})}, {{"lo", F(-Inf)}, {"hi", I(0)}}),
            "f32[3] {lo = -inf, hi = 0.0}");
  EXPECT_ERR(bad(Op::Clamp, {f32({3})}, {{"lo", I(2)}, {"hi", I(1)}}),
             "'clamp' needs lo <= hi, got lo = 2.0, hi = 1.0");
  EXPECT_ERR(bad(Op::Clamp, {f32({3})}, {{"lo", I(2)}}),
             "missing argument 'hi'");
  EXPECT_ERR(bad(Op::Clamp, {i32({3})}, {{"lo", I(0)}, {"hi", I(1)}}),
             "'clamp' needs a float tensor");
}

TEST(ElementwiseRule, Cast) {
  EXPECT_EQ(good(Op::Cast, {f32({2, 3})}, {{"to", DType::I32}}),
            "i32[2, 3] {to = i32}");
  EXPECT_EQ(good(Op::Cast, {i32({4})}, {}, {DType::F64}), "f64[4] {to = f64}");
  EXPECT_EQ(good(Op::Cast, {f32({})}, {{"to", DType::F32}}),
            "f32[] {to = f32}");
  EXPECT_ERR(bad(Op::Cast, {f32({2})}), "missing argument 'to'");
  EXPECT_ERR(bad(Op::Cast, {f32({2})}, {{"to", I(1)}}), "'to' must be a dtype");
}

//===--- Reduce -----------------------------------------------------------===//

TEST(ReduceRule, AxesAreNormalized) {
  for (Op O : ReduceOps) {
    SCOPED_TRACE(mnemonic(O));
    EXPECT_EQ(good(O, {f32({2, 3})}),
              "f32[] {axes = [0, 1], keepdims = false}");
    EXPECT_EQ(good(O, {f64({2, 3})},
                   {{"axes", I(-1)}, {"keepdims", AttrValue(true)}}),
              "f64[2, 1] {axes = [1], keepdims = true}");
    EXPECT_EQ(good(O, {f32({2, 3, 4})}, {{"axes", L({2, -3})}}),
              "f32[3] {axes = [0, 2], keepdims = false}");
    EXPECT_EQ(good(O, {f32({2, 3, 4})}, {{"keepdims", AttrValue(true)}}),
              "f32[1, 1, 1] {axes = [0, 1, 2], keepdims = true}");
    EXPECT_EQ(good(O, {f32({})}), "f32[] {axes = [], keepdims = false}");
    EXPECT_EQ(good(O, {f32({5})}, {}, {I(0)}),
              "f32[] {axes = [0], keepdims = false}");
  }
}

TEST(ReduceRule, Errors) {
  EXPECT_ERR(bad(Op::Sum, {f32({2, 3})}, {{"axes", L({1, -1})}}),
             "axis 1 is listed twice in 'axes' of 'sum' (axes = [1, -1])");
  EXPECT_ERR(bad(Op::Mean, {f32({2, 3})}, {{"axes", L({2})}}),
             "axis 2 is out of range for 'mean' of a rank-2 tensor");
  EXPECT_ERR(bad(Op::Max, {f32({2, 3})}, {{"axes", L({-3})}}),
             "axis -3 is out of range");
  EXPECT_ERR(bad(Op::LogSumExp, {f32({})}, {{"axes", L({0})}}),
             "out of range for 'logsumexp' of a rank-0 tensor");
  EXPECT_ERR(bad(Op::Sum, {f32({2})}, {{"axes", L({IMin})}}),
             "is out of range");
  EXPECT_ERR(badAt(0, Op::Sum, {i32({2})}), "'sum' needs a float tensor");
  EXPECT_ERR(bad(Op::Sum, {f32({2})}, {{"keepdims", I(1)}}),
             "'keepdims' must be true or false");
}

TEST(ReduceRule, Softmax) {
  for (Op O : {Op::Softmax, Op::LogSoftmax}) {
    SCOPED_TRACE(mnemonic(O));
    EXPECT_EQ(good(O, {f32({4, 10})}), "f32[4, 10] {axis = 1}");
    EXPECT_EQ(good(O, {f64({4, 10})}, {{"axis", I(0)}}),
              "f64[4, 10] {axis = 0}");
    EXPECT_EQ(good(O, {f32({7})}), "f32[7] {axis = 0}");
    EXPECT_ERR(bad(O, {f32({4, 10})}, {{"axis", I(2)}}),
               "axis 2 is out of range");
    EXPECT_ERR(badAt(0, O, {f32({})}),
               fmt::format("'{}' needs a tensor of rank >= 1, got f32[]",
                           mnemonic(O)));
    EXPECT_ERR(badAt(0, O, {i32({3})}), "needs a float tensor");
  }
}

TEST(ReduceRule, Argmax) {
  EXPECT_EQ(good(Op::Argmax, {f32({4, 10})}), "i32[4] {axis = 1}");
  EXPECT_EQ(good(Op::Argmax, {f64({4, 10})}, {{"axis", I(-2)}}),
            "i32[10] {axis = 0}");
  EXPECT_EQ(good(Op::Argmax, {f32({5})}), "i32[] {axis = 0}");
  EXPECT_ERR(badAt(0, Op::Argmax, {f32({})}),
             "'argmax' needs a tensor of rank >= 1, got f32[]");
  EXPECT_ERR(bad(Op::Argmax, {f32({4, 10})}, {{"axis", I(5)}}),
             "axis 5 is out of range for 'argmax'");
  EXPECT_ERR(badAt(0, Op::Argmax, {i32({4})}), "'argmax' needs a float");
}

//===--- Movement ---------------------------------------------------------===//

TEST(MovementRule, Transpose) {
  EXPECT_EQ(good(Op::Transpose, {f32({2, 3})}), "f32[3, 2] {perm = [1, 0]}");
  EXPECT_EQ(good(Op::Transpose, {i32({2, 3, 4})}),
            "i32[2, 4, 3] {perm = [0, 2, 1]}");
  EXPECT_EQ(good(Op::Transpose, {f32({2, 3, 4})}, {{"perm", L({-1, 0, 1})}}),
            "f32[4, 2, 3] {perm = [2, 0, 1]}");
  EXPECT_EQ(good(Op::Transpose, {f32({5})}, {{"perm", L({0})}}),
            "f32[5] {perm = [0]}");
  EXPECT_ERR(badAt(0, Op::Transpose, {f32({5})}),
             "'transpose' without 'perm' swaps the last two axes, but "
             "the argument is f32[5]");
  EXPECT_ERR(bad(Op::Transpose, {f32({})}), "f32[]");
  EXPECT_ERR(bad(Op::Transpose, {f32({2, 3, 4})}, {{"perm", L({0, 1})}}),
             "'perm' of 'transpose' must be a permutation of the 3 axes "
             "of f32[2, 3, 4], got [0, 1]");
  EXPECT_ERR(bad(Op::Transpose, {f32({2, 3})}, {{"perm", L({1, -1})}}),
             "got [1, -1]");
  EXPECT_ERR(bad(Op::Transpose, {f32({2, 3})}, {{"perm", L({0, 2})}}),
             "must be a permutation");
  EXPECT_ERR(bad(Op::Transpose, {f32({2, 3})}, {{"perm", L({0, IMin})}}),
             "must be a permutation");
}

TEST(MovementRule, Reshape) {
  EXPECT_EQ(good(Op::Reshape, {f32({2, 3, 4})}, {{"shape", L({6, -1})}}),
            "f32[6, 4] {shape = [6, 4]}");
  EXPECT_EQ(good(Op::Reshape, {i32({6})}, {}, {L({2, 3})}),
            "i32[2, 3] {shape = [2, 3]}");
  EXPECT_EQ(good(Op::Reshape, {f32({1, 1})}, {{"shape", L({})}}),
            "f32[] {shape = []}");
  EXPECT_EQ(good(Op::Reshape, {f32({})}, {{"shape", L({-1})}}),
            "f32[1] {shape = [1]}");
  EXPECT_ERR(bad(Op::Reshape, {f32({2, 3})}, {{"shape", L({4, 2})}}),
             "cannot reshape f32[2, 3] (6 elements) to [4, 2]");
  EXPECT_ERR(bad(Op::Reshape, {f32({2, 3})}, {{"shape", L({4, -1})}}),
             "cannot reshape f32[2, 3] (6 elements) to [4, -1]");
  EXPECT_ERR(bad(Op::Reshape, {f32({2, 3})}, {{"shape", L({-1, -1})}}),
             "'shape' of 'reshape' may contain only one -1, got [-1, -1]");
  EXPECT_ERR(bad(Op::Reshape, {f32({2, 3})}, {{"shape", L({0, 6})}}),
             "'shape' of 'reshape' has dimension 0 in [0, 6]");
  EXPECT_ERR(bad(Op::Reshape, {f32({2, 3})}, {{"shape", L({-2, -3})}}),
             "has dimension -2");
  constexpr int64_t Big = int64_t(1) << 40;
  EXPECT_ERR(
      bad(Op::Reshape, {f32({2, 3})}, {{"shape", L({Big, Big, Big, -1})}}),
      "cannot reshape f32[2, 3]");
  EXPECT_ERR(bad(Op::Reshape, {f32({2, 3})}, {{"shape", L({IMax, 2})}}),
             "cannot reshape");
  EXPECT_ERR(bad(Op::Reshape, {f32({6})}), "missing argument 'shape'");
}

TEST(MovementRule, Flatten) {
  EXPECT_EQ(good(Op::Flatten, {f32({2, 3, 4})}), "f32[2, 12] ");
  EXPECT_EQ(good(Op::Flatten, {i32({5})}), "i32[5, 1] ");
  EXPECT_EQ(good(Op::Flatten, {f64({5, 7})}), "f64[5, 7] ");
  EXPECT_ERR(badAt(0, Op::Flatten, {f32({})}),
             "'flatten' needs a tensor of rank >= 1, got f32[]");
}

TEST(MovementRule, Concat) {
  EXPECT_EQ(good(Op::Concat, {f32({2, 3}), f32({4, 3})}),
            "f32[6, 3] {axis = 0}");
  EXPECT_EQ(good(Op::Concat, {f32({2, 3}), f32({2, 5}), f32({2, 1})},
                 {{"axis", I(-1)}}),
            "f32[2, 9] {axis = 1}");
  EXPECT_EQ(good(Op::Concat, {i32({4})}), "i32[4] {axis = 0}");
  EXPECT_ERR(badAt(2, Op::Concat, {f32({2}), f32({2}), f64({2})}),
             "dtype mismatch in 'concat': argument 1 is f32[2] but "
             "argument 3 is f64[2]");
  EXPECT_ERR(badAt(1, Op::Concat, {f32({2, 3}), f32({3})}),
             "'concat' needs operands of the same rank: argument 1 is "
             "f32[2, 3] but argument 2 is f32[3]");
  EXPECT_ERR(badAt(1, Op::Concat, {f32({2, 3}), f32({3, 4})}, {{"axis", I(1)}}),
             "'concat' operands must match except along axis 1: argument "
             "1 is f32[2, 3] but argument 2 is f32[3, 4]");
  EXPECT_ERR(badAt(0, Op::Concat, {f32({}), f32({})}),
             "'concat' cannot join scalars");
  EXPECT_ERR(bad(Op::Concat, {f32({2}), f32({2})}, {{"axis", I(1)}}),
             "axis 1 is out of range for 'concat' of a rank-1 tensor");
  EXPECT_ERR(bad(Op::Concat, {}), "'concat' expects at least 1");
  constexpr int64_t Half = (int64_t(1) << 39) + 1;
  EXPECT_ERR(bad(Op::Concat, {f32({Half}), f32({Half})}),
             "the result of 'concat' would have more than");
}

TEST(MovementRule, Slice) {
  EXPECT_EQ(good(Op::Slice, {f32({10, 4})},
                 {{"axis", I(0)}, {"start", I(2)}, {"end", I(5)}}),
            "f32[3, 4] {axis = 0, start = 2, end = 5}");
  EXPECT_EQ(good(Op::Slice, {i32({10, 4})}, {{"axis", I(-1)}, {"start", I(1)}}),
            "i32[10, 3] {axis = 1, start = 1, end = 4}");
  EXPECT_EQ(good(Op::Slice, {f32({10})}, {{"axis", I(0)}, {"start", I(-3)}}),
            "f32[3] {axis = 0, start = 7, end = 10}");
  EXPECT_EQ(good(Op::Slice, {f32({10})}, {{"axis", I(0)}, {"end", I(-1)}}),
            "f32[9] {axis = 0, start = 0, end = 9}");
  EXPECT_EQ(good(Op::Slice, {f32({10})}, {}, {I(0), I(-100), I(100)}),
            "f32[10] {axis = 0, start = 0, end = 10}");
  EXPECT_EQ(good(Op::Slice, {f32({10})},
                 {{"axis", I(0)}, {"start", I(IMin)}, {"end", I(IMax)}}),
            "f32[10] {axis = 0, start = 0, end = 10}");
  EXPECT_ERR(bad(Op::Slice, {f32({2, 4})},
                 {{"axis", I(1)}, {"start", I(5)}, {"end", I(3)}}),
             "'slice' selects nothing: start 5, end 3 on axis 1 of size 4 "
             "(f32[2, 4])");
  EXPECT_ERR(bad(Op::Slice, {f32({4})}, {{"axis", I(0)}, {"start", I(4)}}),
             "selects nothing");
  EXPECT_ERR(bad(Op::Slice, {f32({4})}, {{"axis", I(0)}, {"end", I(-4)}}),
             "selects nothing");
  EXPECT_ERR(bad(Op::Slice, {f32({4})}, {{"axis", I(1)}}),
             "axis 1 is out of range for 'slice'");
  EXPECT_ERR(bad(Op::Slice, {f32({})}, {{"axis", I(0)}}),
             "'slice' needs a tensor of rank >= 1");
  EXPECT_ERR(bad(Op::Slice, {f32({4})}), "missing argument 'axis'");
}

//===--- Linalg -----------------------------------------------------------===//

TEST(LinalgRule, Matmul) {
  EXPECT_EQ(good(Op::Matmul, {f32({64, 784}), f32({784, 128})}),
            "f32[64, 128] ");
  EXPECT_EQ(good(Op::Matmul, {f64({2, 1, 3, 4}), f64({5, 4, 6})}),
            "f64[2, 5, 3, 6] ");
  EXPECT_EQ(good(Op::Matmul, {f32({8, 3, 4}), f32({4, 2})}), "f32[8, 3, 2] ");
  EXPECT_ERR(bad(Op::Matmul, {f32({64, 784}), f32({100, 128})}),
             "matmul inner dimensions differ: f32[64, 784] @ f32[100, 128]");
  EXPECT_ERR(bad(Op::Matmul, {f32({2, 3, 4}), f32({5, 4, 6})}),
             "matmul batch dimensions cannot broadcast: f32[2, 3, 4] @ "
             "f32[5, 4, 6]");
  EXPECT_ERR(badAt(1, Op::Matmul, {f32({2, 3}), f32({3})}),
             "'matmul' needs a tensor of rank >= 2, got f32[3]");
  EXPECT_ERR(badAt(1, Op::Matmul, {f32({2, 3}), f64({3, 2})}),
             "dtype mismatch in 'matmul'");
  EXPECT_ERR(badAt(0, Op::Matmul, {i32({2, 3}), i32({3, 2})}),
             "'matmul' needs a float tensor");
}

TEST(LinalgRule, Conv2d) {
  const char *Defaults =
      "{stride = [1, 1], padding = [0, 0], dilation = [1, 1], groups = 1}";
  EXPECT_EQ(good(Op::Conv2d, {f32({1, 3, 28, 28}), f32({8, 3, 5, 5})}),
            std::string("f32[1, 8, 24, 24] ") + Defaults);
  EXPECT_EQ(good(Op::Conv2d, {f32({2, 3, 28, 28}), f32({8, 3, 5, 5}), f32({8})},
                 {{"stride", I(2)}, {"padding", I(1)}}),
            "f32[2, 8, 13, 13] {stride = [2, 2], padding = [1, 1], dilation = "
            "[1, 1], "
            "groups = 1}");
  EXPECT_EQ(
      good(Op::Conv2d, {f64({1, 3, 28, 20}), f64({4, 3, 5, 3})},
           {{"stride", L({1, 2})}, {"dilation", L({2, 1})}}),
      "f64[1, 4, 20, 9] {stride = [1, 2], padding = [0, 0], dilation = [2, 1], "
      "groups = 1}");
  EXPECT_EQ(
      good(Op::Conv2d, {f32({1, 4, 8, 8}), f32({6, 2, 3, 3})},
           {{"groups", I(2)}}),
      "f32[1, 6, 6, 6] {stride = [1, 1], padding = [0, 0], dilation = [1, 1], "
      "groups = 2}");
  // Dtypes and ranks.
  EXPECT_ERR(
      badAt(2, Op::Conv2d, {f32({1, 3, 8, 8}), f32({4, 3, 3, 3}), f64({4})}),
      "dtype mismatch in 'conv2d'");
  EXPECT_ERR(badAt(0, Op::Conv2d, {i32({1, 3, 8, 8}), f32({4, 3, 3, 3})}),
             "'conv2d' needs a float tensor");
  EXPECT_ERR(badAt(0, Op::Conv2d, {f32({3, 8, 8}), f32({4, 3, 3, 3})}),
             "'conv2d' input must be [N, C, H, W], got f32[3, 8, 8]");
  EXPECT_ERR(badAt(1, Op::Conv2d, {f32({1, 3, 8, 8}), f32({4, 3, 3})}),
             "'conv2d' weight must be [Cout, C/groups, KH, KW], got "
             "f32[4, 3, 3]");
  // Channels.
  EXPECT_ERR(badAt(1, Op::Conv2d, {f32({1, 4, 8, 8}), f32({6, 3, 3, 3})}),
             "'conv2d' weight f32[6, 3, 3, 3] must have 4 input channels");
  EXPECT_ERR(badAt(0, Op::Conv2d, {f32({1, 3, 8, 8}), f32({6, 1, 3, 3})},
                   {{"groups", I(2)}}),
             "'conv2d' input channels (3) must be divisible by groups (2)");
  EXPECT_ERR(badAt(1, Op::Conv2d, {f32({1, 4, 8, 8}), f32({5, 2, 3, 3})},
                   {{"groups", I(2)}}),
             "'conv2d' output channels (5) must be divisible by groups (2)");
  EXPECT_ERR(
      badAt(2, Op::Conv2d, {f32({1, 3, 8, 8}), f32({4, 3, 3, 3}), f32({3})}),
      "'conv2d' bias must be [4] to match the weight f32[4, 3, 3, 3], "
      "got f32[3]");
  // Attributes.
  Types XW = {f32({1, 3, 8, 8}), f32({4, 3, 3, 3})};
  EXPECT_ERR(bad(Op::Conv2d, XW, {{"stride", L({0, 1})}}),
             "'stride' of 'conv2d' must be >= 1, got [0, 1]");
  EXPECT_ERR(bad(Op::Conv2d, XW, {{"padding", I(-1)}}),
             "'padding' of 'conv2d' must be >= 0, got [-1, -1]");
  EXPECT_ERR(bad(Op::Conv2d, XW, {{"dilation", I(0)}}),
             "'dilation' of 'conv2d' must be >= 1");
  EXPECT_ERR(bad(Op::Conv2d, XW, {{"groups", I(0)}}),
             "'groups' of 'conv2d' must be >= 1, got 0");
  EXPECT_ERR(bad(Op::Conv2d, XW, {{"stride", L({1, 2, 3})}}),
             "'stride' must be an integer or a list of two integers");
  // Output size.
  EXPECT_ERR(bad(Op::Conv2d, {f32({1, 3, 2, 8}), f32({4, 3, 3, 3})}),
             "'conv2d' output height would be less than 1: input height 2, "
             "padding 0, kernel height 3");
  EXPECT_ERR(bad(Op::Conv2d, XW, {{"dilation", L({1, 4})}}),
             "'conv2d' output width would be less than 1: input width 8, "
             "padding 0, kernel width 3, dilation 4");
  EXPECT_ERR(bad(Op::Conv2d, XW, {{"padding", I(IMax)}}),
             "the result of 'conv2d' would have more than");
  EXPECT_ERR(bad(Op::Conv2d, XW, {{"dilation", I(IMax)}}),
             "output height would be less than 1");
  EXPECT_EQ(
      good(Op::Conv2d, XW, {{"stride", I(IMax)}}),
      "f32[1, 4, 1, 1] {stride = [9223372036854775807, 9223372036854775807], "
      "padding = [0, 0], dilation = [1, 1], groups = 1}");
}

//===--- NN ---------------------------------------------------------------===//

TEST(NNRule, Pooling) {
  for (Op O : {Op::MaxPool2d, Op::AvgPool2d}) {
    SCOPED_TRACE(mnemonic(O));
    std::string N(mnemonic(O));
    EXPECT_EQ(good(O, {f32({1, 3, 28, 28})}, {{"kernel", I(2)}}),
              "f32[1, 3, 14, 14] {kernel = [2, 2], stride = [2, 2], padding = "
              "[0, 0]}");
    EXPECT_EQ(good(O, {f64({1, 3, 28, 28})}, {}, {I(3), I(1), I(1)}),
              "f64[1, 3, 28, 28] {kernel = [3, 3], stride = [1, 1], padding = "
              "[1, 1]}");
    EXPECT_EQ(
        good(O, {f32({2, 3, 7, 8})},
             {{"kernel", L({3, 2})}, {"stride", L({0, 1})}}),
        "f32[2, 3, 2, 7] {kernel = [3, 2], stride = [3, 1], padding = [0, 0]}");
    EXPECT_ERR(bad(O, {f32({1, 3, 8, 8})}), "missing argument 'kernel'");
    EXPECT_ERR(bad(O, {f32({1, 3, 8, 8})}, {{"kernel", I(0)}}),
               "'kernel' of '" + N + "' must be >= 1, got [0, 0]");
    EXPECT_ERR(
        bad(O, {f32({1, 3, 8, 8})}, {{"kernel", I(2)}, {"stride", I(-1)}}),
        "'stride' of '" + N + "' must be >= 0, got [-1, -1]");
    EXPECT_ERR(
        bad(O, {f32({1, 3, 8, 8})}, {{"kernel", I(2)}, {"padding", I(-1)}}),
        "'padding' of '" + N + "' must be >= 0");
    EXPECT_ERR(
        bad(O, {f32({1, 3, 8, 8})}, {{"kernel", I(3)}, {"padding", L({1, 2})}}),
        "'padding' of '" + N +
            "' must be at most half the kernel "
            "size, got padding [1, 2] with kernel [3, 3]");
    EXPECT_ERR(bad(O, {f32({1, 3, 3, 8})}, {{"kernel", I(5)}}),
               "'" + N +
                   "' output height would be less than 1: input "
                   "height 3, padding 0, kernel height 5");
    EXPECT_ERR(badAt(0, O, {f32({3, 8, 8})}, {{"kernel", I(2)}}),
               "'" + N + "' input must be [N, C, H, W], got f32[3, 8, 8]");
    EXPECT_ERR(badAt(0, O, {i32({1, 3, 8, 8})}, {{"kernel", I(2)}}),
               "needs a float tensor");
  }
}

TEST(NNRule, BatchNorm) {
  Types Good = {f32({8, 16, 4, 4}), f32({16}), f32({16})};
  EXPECT_EQ(good(Op::BatchNorm, Good),
            "f32[8, 16, 4, 4] {eps = 1e-05, momentum = 0.1}");
  EXPECT_EQ(good(Op::BatchNorm, {f64({8, 3}), f64({3}), f64({3})},
                 {{"eps", F(1e-3)}, {"momentum", I(1)}}),
            "f64[8, 3] {eps = 0.001, momentum = 1.0}");
  EXPECT_ERR(badAt(1, Op::BatchNorm, {f32({8, 16, 4, 4}), f32({8}), f32({16})}),
             "'batch_norm' gamma must be [16] (the channels of the input "
             "f32[8, 16, 4, 4]), got f32[8]");
  EXPECT_ERR(badAt(2, Op::BatchNorm, {f32({8, 16}), f32({16}), f32({1, 16})}),
             "'batch_norm' beta must be [16]");
  EXPECT_ERR(badAt(0, Op::BatchNorm, {f32({16}), f32({16}), f32({16})}),
             "'batch_norm' needs a tensor of rank >= 2, got f32[16]");
  EXPECT_ERR(badAt(2, Op::BatchNorm, {f32({8, 16}), f32({16}), f64({16})}),
             "dtype mismatch in 'batch_norm'");
  EXPECT_ERR(bad(Op::BatchNorm, Good, {{"eps", I(0)}}),
             "'eps' of 'batch_norm' must be a finite number > 0, got 0.0");
  EXPECT_ERR(bad(Op::BatchNorm, Good, {{"eps", F(Inf)}}),
             "'eps' of 'batch_norm' must be a finite number > 0, got inf");
  EXPECT_ERR(bad(Op::BatchNorm, Good, {{"momentum", F(1.5)}}),
             "'momentum' of 'batch_norm' must be in [0, 1], got 1.5");
  EXPECT_ERR(bad(Op::BatchNorm, Good, {{"momentum", F(-0.1)}}), "got -0.1");
}

TEST(NNRule, Dropout) {
  EXPECT_EQ(good(Op::Dropout, {f32({4, 5})}, {}, {F(0.5)}),
            "f32[4, 5] {p = 0.5}");
  EXPECT_EQ(good(Op::Dropout, {f64({4})}, {{"p", I(0)}}), "f64[4] {p = 0.0}");
  EXPECT_ERR(bad(Op::Dropout, {f32({4})}, {{"p", I(1)}}),
             "'p' of 'dropout' must be in [0, 1), got 1.0");
  EXPECT_ERR(bad(Op::Dropout, {f32({4})}, {{"p", F(-0.25)}}), "got -0.25");
  EXPECT_ERR(bad(Op::Dropout, {f32({4})}, {{"p", F(NaN)}}), "got nan");
  EXPECT_ERR(bad(Op::Dropout, {f32({4})}), "missing argument 'p'");
  EXPECT_ERR(badAt(0, Op::Dropout, {i32({4})}, {{"p", F(0.5)}}),
             "'dropout' needs a float tensor");
}

TEST(NNRule, Embedding) {
  EXPECT_EQ(good(Op::Embedding, {i32({4, 7}), f32({100, 16})}),
            "f32[4, 7, 16] ");
  EXPECT_EQ(good(Op::Embedding, {i32({3}), f64({10, 2})}), "f64[3, 2] ");
  EXPECT_ERR(badAt(0, Op::Embedding, {f32({4}), f32({100, 16})}),
             "'embedding' ids must be i32 class ids, got f32[4] (use cast)");
  EXPECT_ERR(badAt(0, Op::Embedding, {i32({}), f32({100, 16})}),
             "'embedding' ids must have rank >= 1, got i32[]");
  EXPECT_ERR(badAt(1, Op::Embedding, {i32({4}), f32({100})}),
             "'embedding' table must be [V, D], got f32[100]");
  EXPECT_ERR(
      badAt(1, Op::Embedding, {i32({4}), i32({100, 16})}),
      "'embedding' needs a float tensor, but argument 2 is i32[100, 16]");
}

//===--- Loss -------------------------------------------------------------===//

TEST(LossRule, Mse) {
  EXPECT_EQ(good(Op::Mse, {f32({64, 10}), f32({64, 10})}), "f32[] ");
  EXPECT_EQ(good(Op::Mse, {f64({64, 10}), f64({10})}), "f64[] ");
  EXPECT_ERR(bad(Op::Mse, {f32({64, 10}), f32({64})}),
             "cannot broadcast f32[64, 10] with f32[64] in 'mse'");
  EXPECT_ERR(badAt(1, Op::Mse, {f32({4}), f64({4})}),
             "dtype mismatch in 'mse'");
  EXPECT_ERR(badAt(1, Op::Mse, {f32({4}), i32({4})}), "'mse' needs a float");
}

TEST(LossRule, BinaryCrossEntropy) {
  for (Op O : {Op::Bce, Op::BceWithLogits}) {
    SCOPED_TRACE(mnemonic(O));
    std::string N(mnemonic(O));
    EXPECT_EQ(good(O, {f32({64, 1}), f32({64, 1})}), "f32[] ");
    EXPECT_EQ(good(O, {f64({}), f64({})}), "f64[] ");
    EXPECT_ERR(badAt(1, O, {f32({64, 1}), f32({64})}),
               "'" + N +
                   "' needs operands of the same shape, got f32[64, 1] "
                   "and f32[64]");
    EXPECT_ERR(badAt(1, O, {f32({4}), f64({4})}), "dtype mismatch in '" + N);
    EXPECT_ERR(badAt(0, O, {i32({4}), f32({4})}), "needs a float tensor");
  }
}

TEST(LossRule, Classifiers) {
  for (Op O : {Op::SoftmaxCrossEntropy, Op::Accuracy}) {
    SCOPED_TRACE(mnemonic(O));
    std::string N(mnemonic(O));
    EXPECT_EQ(good(O, {f32({64, 10}), i32({64})}), "f32[] ");
    EXPECT_EQ(good(O, {f32({64, 10}), f32({64, 10})}), "f32[] ");
    EXPECT_EQ(good(O, {f64({2, 3}), i32({2})}), "f64[] ");
    EXPECT_ERR(badAt(0, O, {f32({10}), i32({10})}),
               "'" + N + "' logits must be [B, C], got f32[10]");
    EXPECT_ERR(badAt(0, O, {i32({4, 10}), i32({4})}), "needs a float tensor");
    EXPECT_ERR(badAt(1, O, {f32({64, 10}), i32({64, 1})}),
               "'" + N +
                   "' class ids must be i32[64] to match the logits "
                   "f32[64, 10], got i32[64, 1]");
    EXPECT_ERR(badAt(1, O, {f32({64, 10}), f32({64})}),
               "'" + N +
                   "' targets must be f32[64, 10] (the shape of the "
                   "logits) or class ids i32[64], got f32[64]");
    EXPECT_ERR(badAt(1, O, {f32({64, 10}), f64({64, 10})}),
               "dtype mismatch in '" + N + "': f32[64, 10] and f64[64, 10]");
  }
}

TEST(OpDefs, OperandCountIsChecked) {
  EXPECT_ERR(bad(Op::Add, {f32({2})}),
             "'add' expects 2 tensor arguments, got 1");
  EXPECT_ERR(bad(Op::Conv2d, {f32({1, 1, 4, 4})}), "expects 2 to 3");
}

//===--- Idempotence of normalization, over every op of Ops.def ---------===//

struct Example {
  Op O;
  Types Operands;
  Kw Attrs;
};

/// Valid examples; every non-Source op needs at least one. Prefer examples
/// whose attributes are not yet normalized (negative axes, defaults).
const std::vector<Example> &examples() {
  static const std::vector<Example> E = [] {
    std::vector<Example> V = {
        {Op::Identity, {i32({3})}, {}},
        {Op::LeakyRelu, {f32({2})}, {{"slope", I(1)}}},
        {Op::Elu, {f32({2})}, {}},
        {Op::Clamp, {f32({2})}, {{"lo", I(-1)}, {"hi", F(2.5)}}},
        {Op::Cast, {f32({2})}, {{"to", DType::I32}}},
        {Op::Sum, {f32({2, 3})}, {}},
        {Op::Sum, {f32({})}, {}},
        {Op::Mean, {f32({2, 3, 4})}, {{"axes", L({-1, 0})}}},
        {Op::Max,
         {f32({2, 3})},
         {{"axes", I(-1)}, {"keepdims", AttrValue(true)}}},
        {Op::LogSumExp, {f64({2, 3})}, {}},
        {Op::Softmax, {f32({2, 3})}, {}},
        {Op::LogSoftmax, {f32({2, 3})}, {{"axis", I(-2)}}},
        {Op::Argmax, {f32({2, 3})}, {}},
        {Op::Transpose, {f32({2, 3, 4})}, {}},
        {Op::Transpose, {f32({2, 3, 4})}, {{"perm", L({-1, 0, -2})}}},
        {Op::Reshape, {f32({2, 3, 4})}, {{"shape", L({-1, 4})}}},
        {Op::Flatten, {f32({2, 3, 4})}, {}},
        {Op::Concat, {f32({2, 3}), f32({2, 4})}, {{"axis", I(-1)}}},
        {Op::Slice, {f32({10, 3})}, {{"axis", I(-2)}, {"start", I(-4)}}},
        {Op::Slice,
         {f32({10})},
         {{"axis", I(0)}, {"start", I(-100)}, {"end", I(100)}}},
        {Op::Matmul, {f32({5, 2, 3}), f32({3, 4})}, {}},
        {Op::MatmulT,
         {f32({5, 3, 2}), f32({4, 3})},
         {{"transpose_a", AttrValue(true)}, {"transpose_b", AttrValue(true)}}},
        {Op::Conv2d,
         {f32({1, 3, 9, 9}), f32({4, 3, 3, 3}), f32({4})},
         {{"stride", I(2)}}},
        {Op::MaxPool2d, {f32({1, 3, 9, 9})}, {{"kernel", I(3)}}},
        {Op::AvgPool2d,
         {f32({1, 3, 9, 9})},
         {{"kernel", L({2, 3})}, {"stride", L({0, 1})}}},
        {Op::BatchNorm, {f32({4, 3, 2, 2}), f32({3}), f32({3})}, {}},
        {Op::Dropout, {f32({4})}, {{"p", F(0.1)}}},
        {Op::Embedding, {i32({4, 5}), f32({10, 8})}, {}},
        {Op::Mse, {f32({4, 3}), f32({3})}, {}},
        {Op::Bce, {f32({4}), f32({4})}, {}},
        {Op::BceWithLogits, {f32({4}), f32({4})}, {}},
        {Op::SoftmaxCrossEntropy, {f32({4, 3}), i32({4})}, {}},
        {Op::Accuracy, {f32({4, 3}), f32({4, 3})}, {}},
        // Internal ops, made by autodiff and lowering.
        {Op::Erf, {f32({2})}, {}},
        {Op::Gt, {f32({2, 3}), f32({3})}, {}},
        {Op::Ge, {f32({2, 3}), f32({})}, {}},
        {Op::Eq, {f64({2}), f64({2})}, {}},
        {Op::Select, {f32({2, 1}), f32({3}), f32({})}, {}},
        {Op::Broadcast, {f32({3, 1})}, {{"shape", L({2, 3, 4})}}},
        {Op::Conv2dGradInput,
         {f32({1, 4, 4, 4}), f32({4, 3, 3, 3})},
         {{"input_size", I(9)}, {"stride", I(2)}}},
        {Op::Conv2dGradWeight,
         {f32({1, 3, 9, 9}), f32({1, 4, 4, 4})},
         {{"kernel", I(3)}, {"stride", I(2)}}},
        {Op::MaxPool2dGrad,
         {f32({1, 3, 9, 9}), f32({1, 3, 3, 3})},
         {{"kernel", I(3)}}},
        {Op::AvgPool2dGrad,
         {f32({1, 3, 3, 3})},
         {{"kernel", I(3)}, {"input_size", I(9)}}},
        {Op::EmbeddingGrad, {i32({4, 5}), f32({4, 5, 8})}, {{"num", I(10)}}},
        {Op::DropoutMask,
         {f64({}), f64({})},
         {{"p", F(0.5)}, {"salt", I(0)}, {"shape", L({2, 3})}, {"dtype", DType::F32}}},
        {Op::OneHot, {i32({4})}, {{"classes", I(3)}, {"dtype", DType::F32}}},
    };
    for (Op O : UnaryOps)
      V.push_back({O, {f32({2, 3})}, {}});
    for (Op O : BinaryOps)
      V.push_back({O, {f64({2, 1}), f64({3})}, {}});
    return V;
  }();
  return E;
}

std::vector<Op> nonSourceOps() {
  std::vector<Op> Ops;
#define GRADC_OP(Name, Mnemonic, Min, Max, Family, Flags)                      \
  if (OpFamily::Family != OpFamily::Source)                                    \
    Ops.push_back(Op::Name);
#include "ir/Ops.def"
  return Ops;
}

class NormalizationTest : public ::testing::TestWithParam<Op> {};

TEST_P(NormalizationTest, IsIdempotent) {
  Op O = GetParam();
  int Count = 0;
  for (const Example &E : examples()) {
    if (E.O != O)
      continue;
    ++Count;
    Outcome First = run(O, E.Operands, E.Attrs);
    ASSERT_TRUE(First.Ok) << First.Err;
    SCOPED_TRACE(First.text());

    // The rule applied again to its own normalized attributes.
    AttrList Again = First.Attrs;
    TensorType T2;
    std::string Err;
    int ErrOperand;
    ASSERT_TRUE(inferType(O, E.Operands, Again, T2, Err, ErrOperand)) << Err;
    EXPECT_EQ(Again, First.Attrs);
    EXPECT_EQ(T2, First.Type);

    // Re-bound by name, as the IR parser does with the printed attributes.
    Kw Named;
    for (const Attr &A : First.Attrs)
      Named.push_back({A.Name, A.Value});
    Outcome Reparsed = run(O, E.Operands, Named);
    ASSERT_TRUE(Reparsed.Ok) << Reparsed.Err;
    EXPECT_EQ(Reparsed.Attrs, First.Attrs);
    EXPECT_EQ(Reparsed.Type, First.Type);
  }
  EXPECT_GT(Count, 0) << "no example for '" << mnemonic(O)
                      << "': add one to examples() in ShapeRuleTest.cpp";
}

INSTANTIATE_TEST_SUITE_P(AllOps, NormalizationTest,
                         ::testing::ValuesIn(nonSourceOps()),
                         [](const ::testing::TestParamInfo<Op> &Info) {
                           return std::string(mnemonic(Info.param));
                         });

} // namespace
