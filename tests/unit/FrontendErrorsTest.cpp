//===- tests/unit/FrontendErrorsTest.cpp - Every error class
//---------------===//
//
// One test per error class of SPEC.md "Errors in a model file" and of the
// front-end decisions, each asserting the exact text the diagnostic engine
// prints: FILE:LINE:COL: error: MESSAGE, the source line and the caret, and
// notes where they belong.
//
//===----------------------------------------------------------------------===//
#include "FrontendTestUtil.h"

using namespace gradc;
using namespace gradc::fetest;

namespace {

TEST(FrontendErrorsTest, BadCharacter) {
  expectDiags("h = 1 \x07\n", "m.nn:1:7: error: unexpected character '\\x07'\n"
                              "h = 1  \n"
                              "      ^\n");
  expectDiags(std::string("a = 1\0\n", 7),
              "m.nn:1:6: error: unexpected character '\\x00'\n"
              "a = 1 \n"
              "     ^\n");
  expectDiags("a = \xff\xfe\n",
              "m.nn:1:5: error: unexpected character '\\xff'\n"
              "a = \xff\xfe\n"
              "    ^\n");
}

TEST(FrontendErrorsTest, SyntaxError) {
  expectDiags("input x : f32[3]\nh = x +\n",
              "m.nn:2:8: error: expected an expression, got end of line\n"
              "h = x +\n"
              "       ^\n");
}

TEST(FrontendErrorsTest, UnclosedParenthesis) {
  expectDiags("input x : f32[3]\nh = relu(x\noutput h\n",
              "m.nn:3:1: error: expected ',' or ')', got 'output'\n"
              "output h\n"
              "^\n"
              "m.nn:2:9: note: to match this '('\n"
              "h = relu(x\n"
              "        ^\n");
}

TEST(FrontendErrorsTest, NestingTooDeep) {
  std::string Line =
      "a = " + std::string(257, '(') + "1" + std::string(257, ')');
  expectDiags(Line + "\n", "m.nn:1:261: error: expression nests too deeply "
                           "(more than 256 levels)\n" +
                               Line + "\n" + std::string(260, ' ') + "^\n");
}

TEST(FrontendErrorsTest, NumberLiteralTooLarge) {
  expectDiags("a = 99999999999999999999\n",
              "m.nn:1:5: error: integer literal '99999999999999999999' is too "
              "large\n"
              "a = 99999999999999999999\n"
              "    ^\n");
}

TEST(FrontendErrorsTest, KeywordAsName) {
  expectDiags(
      "input = 3\n",
      "m.nn:1:1: error: 'input' is a keyword and cannot be used as a name\n"
      "input = 3\n"
      "^\n");
  expectDiags("const B = 2\nh = B + true\n",
              "m.nn:2:9: error: operand of '+' must be a tensor or a number, "
              "got 'true'\n"
              "h = B + true\n"
              "        ^\n");
}

TEST(FrontendErrorsTest, UnknownKeyword) {
  expectDiags(
      "inptu x : f32[3]\n",
      "m.nn:1:1: error: unknown keyword 'inptu' (did you mean 'input'?)\n"
      "inptu x : f32[3]\n"
      "^\n");
}

TEST(FrontendErrorsTest, UnknownName) {
  expectDiags("input x : f32[3]\nh = x + foo\n",
              "m.nn:2:9: error: unknown name 'foo'\n"
              "h = x + foo\n"
              "        ^\n");
}

TEST(FrontendErrorsTest, UnknownOp) {
  expectDiags("input x : f32[3]\nh = relux(x)\n",
              "m.nn:2:5: error: unknown op 'relux'\n"
              "h = relux(x)\n"
              "    ^\n");
  // Internal ops cannot be called, and a tensor's name is no op.
  expectDiags("input x : f32[3]\nh = identity(x)\ng = x(1)\n",
              "m.nn:2:5: error: unknown op 'identity'\n"
              "h = identity(x)\n"
              "    ^\n"
              "m.nn:3:5: error: unknown op 'x'\n"
              "g = x(1)\n"
              "    ^\n");
}

TEST(FrontendErrorsTest, Redefinition) {
  expectDiags("input x : f32[3]\nh = relu(x)\nh = x\nconst x = 2\n",
              "m.nn:3:1: error: redefinition of 'h'\n"
              "h = x\n"
              "^\n"
              "m.nn:2:1: note: previous definition is here\n"
              "h = relu(x)\n"
              "^\n"
              "m.nn:4:7: error: redefinition of 'x'\n"
              "const x = 2\n"
              "      ^\n"
              "m.nn:1:7: note: previous definition is here\n"
              "input x : f32[3]\n"
              "      ^\n");
}

TEST(FrontendErrorsTest, UseBeforeDefinition) {
  expectDiags("input x : f32[3]\na = relu(b)\nb = x\noutput a\n",
              "m.nn:2:10: error: 'b' is used before its definition\n"
              "a = relu(b)\n"
              "         ^\n"
              "m.nn:3:1: note: 'b' is defined here\n"
              "b = x\n"
              "^\n");
  expectDiags("input x : f32[B]\nconst B = 3\n",
              "m.nn:1:15: error: 'B' is used before its definition\n"
              "input x : f32[B]\n"
              "              ^\n"
              "m.nn:2:7: note: 'B' is defined here\n"
              "const B = 3\n"
              "      ^\n");
}

TEST(FrontendErrorsTest, Cycle) {
  // Reported once; the other names of the cycle report nothing more.
  expectDiags("a = b + 1\nb = c * 2\nc = a\nd = c\n",
              "m.nn:1:5: error: cycle in definitions: a -> b -> c -> a\n"
              "a = b + 1\n"
              "    ^\n");
  expectDiags("const a = a + 1\n",
              "m.nn:1:11: error: 'a' is defined in terms of itself\n"
              "const a = a + 1\n"
              "          ^\n");
}

TEST(FrontendErrorsTest, PoisonedNamesReportNothingMore) {
  expectDiags(
      "input x : f32[3]\na = relux(x)\nb = a + 1\nc = b * a\noutput c\n",
      "m.nn:2:5: error: unknown op 'relux'\n"
      "a = relux(x)\n"
      "    ^\n");
  expectDiags("a = (1 +\nb = a\n", "m.nn:2:3: error: expected ')', got '='\n"
                                   "b = a\n"
                                   "  ^\n"
                                   "m.nn:1:5: note: to match this '('\n"
                                   "a = (1 +\n"
                                   "    ^\n");
}

TEST(FrontendErrorsTest, Arity) {
  expectDiags("input x : f32[3]\nh = relu(x, x)\n",
              "m.nn:2:13: error: 'relu' expects 1 tensor argument, got 2\n"
              "h = relu(x, x)\n"
              "            ^\n");
  expectDiags("input x : f32[3]\nh = maximum(x)\n",
              "m.nn:2:5: error: 'maximum' expects 2 tensor arguments, got 1\n"
              "h = maximum(x)\n"
              "    ^\n");
}

TEST(FrontendErrorsTest, Attributes) {
  expectDiags(
      "input x : f32[2, 3]\n"
      "a = softmax(x, axs = 1)\n"
      "b = softmax(x, 1, axis = 0)\n"
      "c = leaky_relu(x, [1])\n"
      "d = reshape(x)\n"
      "e = softmax(x, axis = x)\n"
      "f = reshape(x, [2, 1.5])\n",
      "m.nn:2:16: error: 'softmax' has no argument 'axs' (it takes: axis)\n"
      "a = softmax(x, axs = 1)\n"
      "               ^\n"
      "m.nn:3:19: error: 'softmax': argument 'axis' given twice\n"
      "b = softmax(x, 1, axis = 0)\n"
      "                  ^\n"
      "m.nn:4:19: error: 'leaky_relu': 'slope' must be a number\n"
      "c = leaky_relu(x, [1])\n"
      "                  ^\n"
      "m.nn:5:5: error: 'reshape': missing argument 'shape'\n"
      "d = reshape(x)\n"
      "    ^\n"
      "m.nn:6:16: error: 'axis' of 'softmax' must be a constant, not a "
      "tensor\n"
      "e = softmax(x, axis = x)\n"
      "               ^\n"
      "m.nn:7:20: error: list elements must be integers, got 1.5\n"
      "f = reshape(x, [2, 1.5])\n"
      "                   ^\n");
}

TEST(FrontendErrorsTest, ConcatNeedsAList) {
  expectDiags("input x : f32[3]\nh = concat(x, x)\n",
              "m.nn:2:12: error: 'concat' takes its tensors as a list: "
              "concat([a, b], axis = 0)\n"
              "h = concat(x, x)\n"
              "           ^\n");
}

TEST(FrontendErrorsTest, ShapeMismatch) {
  expectDiags("input x : f32[64, 784]\ninput b : f32[100]\nh = x + b\n",
              "m.nn:3:7: error: cannot broadcast f32[64, 784] with f32[100] in "
              "'add'\n"
              "h = x + b\n"
              "      ^\n");
  expectDiags("input x : f32[64, 784]\ninput W : f32[128, 10]\nh = x @ W\n",
              "m.nn:3:7: error: matmul inner dimensions differ: f32[64, 784] @ "
              "f32[128, 10]\n"
              "h = x @ W\n"
              "      ^\n");
  expectDiags("input v : f32[3]\ninput W : f32[4, 5]\nh = v @ W\n",
              "m.nn:3:7: error: matmul inner dimensions differ: f32[3] @ "
              "f32[4, 5]\n"
              "h = v @ W\n"
              "      ^\n");
}

TEST(FrontendErrorsTest, OperandErrorPointsAtTheArgument) {
  expectDiags(
      "input z : f32[8, 10]\ninput y : i32[4]\n"
      "l = softmax_cross_entropy(z, y)\n",
      "m.nn:3:30: error: 'softmax_cross_entropy' class ids must be i32[8] "
      "to match the logits f32[8, 10], got i32[4]\n"
      "l = softmax_cross_entropy(z, y)\n"
      "                             ^\n");
}

TEST(FrontendErrorsTest, DtypeMismatch) {
  expectDiags(
      "input x : f32[64]\ninput y : f64[64]\nh = x + y\n",
      "m.nn:3:7: error: dtype mismatch in 'add': f32[64] and f64[64] (use "
      "cast to convert)\n"
      "h = x + y\n"
      "      ^\n");
}

TEST(FrontendErrorsTest, I32NeedsCast) {
  expectDiags(
      "input ids : i32[4]\nh = relu(ids)\n",
      "m.nn:2:10: error: 'relu' needs a float tensor, but argument 1 is "
      "i32[4] (i32 is for class ids and indices; use cast)\n"
      "h = relu(ids)\n"
      "         ^\n");
}

TEST(FrontendErrorsTest, ParamMustBeFloat) {
  expectDiags(
      "param W : i32[4]\n",
      "m.nn:1:11: error: param 'W' must be f32 or f64, but it is i32[4] "
      "(i32 is for inputs that hold class ids and indices)\n"
      "param W : i32[4]\n"
      "          ^\n");
}

TEST(FrontendErrorsTest, Dimensions) {
  expectDiags("const B = 43\ninput x : f32[B/2]\n",
              "m.nn:2:15: error: dimension must be an integer, got 21.5\n"
              "input x : f32[B/2]\n"
              "              ^\n");
  expectDiags("const B = 1\ninput x : f32[3, B-1]\n",
              "m.nn:2:18: error: dimension must be at least 1, got 0\n"
              "input x : f32[3, B-1]\n"
              "                 ^\n");
  expectDiags("input x : f32[1048576, 1048576, 2]\n",
              "m.nn:1:11: error: type f32[1048576, 1048576, 2] has more than "
              "2^40 elements\n"
              "input x : f32[1048576, 1048576, 2]\n"
              "          ^\n");
  expectDiags("input y : f32[2]\ninput x : f32[y]\n",
              "m.nn:2:15: error: 'y' is an input, not a constant\n"
              "input x : f32[y]\n"
              "              ^\n");
}

TEST(FrontendErrorsTest, ConstantExpressionErrors) {
  expectDiags(
      "const A = 1 / 0\n"
      "const B = 9223372036854775807 + 1\n"
      "const C = 1e300 * 1e300\n"
      "const D = [1]\n"
      "const E = relu(1)\n",
      "m.nn:1:13: error: division by zero in a constant expression\n"
      "const A = 1 / 0\n"
      "            ^\n"
      "m.nn:2:31: error: integer overflow in a constant expression\n"
      "const B = 9223372036854775807 + 1\n"
      "                              ^\n"
      "m.nn:3:17: error: floating-point overflow in a constant "
      "expression\n"
      "const C = 1e300 * 1e300\n"
      "                ^\n"
      "m.nn:4:11: error: expected a number or a constant, got a list\n"
      "const D = [1]\n"
      "          ^\n"
      "m.nn:5:11: error: calls are not allowed here: expected a number or "
      "a constant\n"
      "const E = relu(1)\n"
      "          ^\n");
}

TEST(FrontendErrorsTest, DuplicateModel) {
  expectDiags("model a\nmodel b\n",
              "m.nn:2:1: error: duplicate 'model' statement (the model is "
              "already named 'a')\n"
              "model b\n"
              "^\n");
}

TEST(FrontendErrorsTest, UnknownInitializer) {
  expectDiags(
      "param W : f32[3] = he_normall\n",
      "m.nn:1:20: error: unknown initializer 'he_normall' (expected one "
      "of: zeros, ones, constant, uniform, normal, glorot_uniform, "
      "glorot_normal, he_uniform, he_normal)\n"
      "param W : f32[3] = he_normall\n"
      "                   ^\n");
  expectDiags(
      "param W : f32[3] = uniform(1, 0)\n",
      "m.nn:1:20: error: 'uniform' needs lo <= hi, got lo = 1.0, hi = 0.0\n"
      "param W : f32[3] = uniform(1, 0)\n"
      "                   ^\n");
}

const char *TrainPrefix =
    "input x : f32[4]\nparam W : f32[4]\nloss = sum(x * W)\n";

TEST(FrontendErrorsTest, UnknownOptimizerAndSchedule) {
  expectDiags(std::string(TrainPrefix) +
                  "train {\n  minimize loss\n  optimizer adamx\n"
                  "  schedule linear(3)\n}\n",
              "m.nn:6:13: error: unknown optimizer 'adamx' (expected one of: "
              "sgd, adam, adamw, rmsprop, adagrad)\n"
              "  optimizer adamx\n"
              "            ^\n"
              "m.nn:7:12: error: unknown schedule 'linear' (expected one of: "
              "step, exponential, cosine)\n"
              "  schedule linear(3)\n"
              "           ^\n");
}

TEST(FrontendErrorsTest, UnknownTrainSetting) {
  expectDiags(std::string(TrainPrefix) +
                  "train {\n  minimize loss\n  optimiser adam\n"
                  "  optimizer adam\n}\n",
              "m.nn:6:3: error: unknown train setting 'optimiser'\n"
              "  optimiser adam\n"
              "  ^\n");
}

TEST(FrontendErrorsTest, DuplicateTrainSetting) {
  expectDiags(std::string(TrainPrefix) +
                  "train {\n  minimize loss\n  optimizer adam\n"
                  "  optimizer sgd(lr = 0.1)\n}\n",
              "m.nn:7:3: error: duplicate train setting 'optimizer'\n"
              "  optimizer sgd(lr = 0.1)\n"
              "  ^\n"
              "m.nn:6:3: note: previous setting is here\n"
              "  optimizer adam\n"
              "  ^\n");
}

TEST(FrontendErrorsTest, DuplicateTrainBlock) {
  expectDiags(
      std::string(TrainPrefix) +
          "train {\n  minimize loss\n  optimizer adam\n}\n"
          "train {\n  minimize loss\n  optimizer adam\n}\n",
      "m.nn:8:1: error: duplicate train block (a model has at most one)\n"
      "train {\n"
      "^\n");
}

TEST(FrontendErrorsTest, MissingTrainSettings) {
  expectDiags(std::string(TrainPrefix) + "train {\n  clip_grad_norm 1\n}\n",
              "m.nn:4:1: error: the train block has no 'minimize' setting\n"
              "train {\n"
              "^\n"
              "m.nn:4:1: error: the train block has no 'optimizer' setting\n"
              "train {\n"
              "^\n");
}

TEST(FrontendErrorsTest, LossNotAScalar) {
  expectDiags(
      "input x : f32[64]\nparam W : f32[64]\nloss = x * W\n"
      "train {\n  minimize loss\n  optimizer sgd(0.1)\n}\n",
      "m.nn:5:12: error: 'loss' must be a scalar to be minimized, but it "
      "is f32[64]\n"
      "  minimize loss\n"
      "           ^\n");
}

TEST(FrontendErrorsTest, LossDependsOnNoParam) {
  expectDiags("input x : f32[64]\nparam W : f32[64]\nloss = sum(x)\n"
              "out = x * W\noutput out\n"
              "train {\n  minimize loss\n  optimizer sgd(0.1)\n}\n",
              "m.nn:7:12: error: 'loss' does not depend on any param\n"
              "  minimize loss\n"
              "           ^\n");
}

TEST(FrontendErrorsTest, InvalidTrainArguments) {
  expectDiags(
      std::string(TrainPrefix) +
          "train {\n  minimize loss\n  optimizer sgd(lr = -1)\n"
          "  schedule step(every = 0, gamma = 0.5)\n"
          "  clip_grad_norm 0.0\n}\n",
      "m.nn:6:17: error: 'lr' of 'sgd' must be greater than 0, got -1.0\n"
      "  optimizer sgd(lr = -1)\n"
      "                ^\n"
      "m.nn:7:17: error: 'every' of 'step' must be at least 1, got 0\n"
      "  schedule step(every = 0, gamma = 0.5)\n"
      "                ^\n"
      "m.nn:8:18: error: 'clip_grad_norm' must be greater than 0, got 0.0\n"
      "  clip_grad_norm 0.0\n"
      "                 ^\n");
  expectDiags(std::string(TrainPrefix) +
                  "train {\n  minimize loss\n  optimizer sgd\n}\n",
              "m.nn:6:13: error: 'sgd': missing argument 'lr'\n"
              "  optimizer sgd\n"
              "            ^\n");
}

TEST(FrontendErrorsTest, TrainArgumentsMayBeConsts) {
  Loaded L =
      load("const LR = 0.5\nconst N = 10\n" + std::string(TrainPrefix) +
           "train\n{\n  minimize loss\n  optimizer sgd(LR, momentum = LR / 5)\n"
           "  schedule step(N, 0.5)\n}\n");
  ASSERT_NE(L.M, nullptr) << L.Diags;
  EXPECT_EQ(getFloat(L.M->Train->Optimizer.Args, "lr"), 0.5);
  EXPECT_EQ(getFloat(L.M->Train->Optimizer.Args, "momentum"), 0.1);
  EXPECT_EQ(getInt(L.M->Train->Schedule->Args, "every"), 10);
}

TEST(FrontendErrorsTest, MetricNotAFloatScalar) {
  expectDiags("input x : f32[4]\nmetric m = x * 2\n",
              "m.nn:2:8: error: metric 'm' must be a float scalar, but it is "
              "f32[4]\n"
              "metric m = x * 2\n"
              "       ^\n");
}

TEST(FrontendErrorsTest, OutputTwice) {
  expectDiags("input x : f32[4]\noutput x\noutput x\n",
              "m.nn:3:8: error: 'x' is already an output\n"
              "output x\n"
              "       ^\n"
              "m.nn:2:8: note: previous output is here\n"
              "output x\n"
              "       ^\n");
  expectDiags("const B = 2\noutput B\n",
              "m.nn:2:8: error: 'B' is a constant, not a tensor\n"
              "output B\n"
              "       ^\n");
}

TEST(FrontendErrorsTest, ErrorsInSourceOrder) {
  // Syntax errors and semantic errors interleave by line.
  expectDiags("a = foo\nb = (\nc = bar\n",
              "m.nn:1:5: error: unknown name 'foo'\n"
              "a = foo\n"
              "    ^\n"
              "m.nn:3:3: error: expected ')', got '='\n"
              "c = bar\n"
              "  ^\n"
              "m.nn:2:5: note: to match this '('\n"
              "b = (\n"
              "    ^\n");
}

TEST(FrontendErrorsTest, ErrorLimit) {
  std::string Text;
  for (int I = 0; I < 50; ++I)
    Text += "a" + std::to_string(I) + " = nope\n";
  Loaded L = load(Text);
  EXPECT_EQ(L.M, nullptr);
  size_t Errors = 0;
  for (size_t P = 0; (P = L.Diags.find(": error: ", P)) != std::string::npos;
       ++P)
    ++Errors;
  EXPECT_EQ(Errors, 21u); // 20, then "too many errors"
  EXPECT_NE(L.Diags.find("gradc: error: too many errors, stopping\n"),
            std::string::npos);
}

} // namespace
