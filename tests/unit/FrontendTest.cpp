//===- tests/unit/FrontendTest.cpp - loadModel end to end
//------------------===//
//
// The structure of the parsed module (symbols, node names and locations,
// results, train config), number literal dtypes, call binding, -D overrides,
// warnings and robustness. The error classes are in FrontendErrorsTest.cpp.
//
//===----------------------------------------------------------------------===//
#include "FrontendTestUtil.h"
#include "ir/Builder.h"

using namespace gradc;
using namespace gradc::ir;
using namespace gradc::fetest;

namespace {

const char *Mlp = R"(# a two-layer perceptron
model mnist_mlp

const B = 64
const H = 128

input  x : f32[B, 28*28]
input  y : i32[B]

param  W1 : f32[784, H] = he_normal
param  b1 : f32[H]      = zeros
param  W2 : f32[H, 10]  = uniform(-0.1, hi = 0.1)
param  b2 : f32[10]

h      = relu(x / 255.0 @ W1 + b1)
logits = h @ W2 + b2
loss   = softmax_cross_entropy(logits, y)

output probs = softmax(logits)
metric acc   = accuracy(logits, y)
output logits

train {
  minimize  loss
  optimizer adam(lr = 1e-3)
  clip_grad_norm 5.0
  schedule  cosine(steps = 10000)
}
)";

//===----------------------------------------------------------------------===//
// The parsed module
//===----------------------------------------------------------------------===//

TEST(FrontendTest, ModuleStructure) {
  Loaded L = load(Mlp, {}, "dir/mnist.nn");
  ASSERT_NE(L.M, nullptr) << L.Diags;
  EXPECT_EQ(L.Diags, "");
  const Module &M = *L.M;
  EXPECT_EQ(M.Name, "mnist_mlp");
  EXPECT_EQ(M.SourceName, "dir/mnist.nn");

  ASSERT_EQ(M.Symbols.size(), 6u);
  const char *Names[] = {"x", "y", "W1", "b1", "W2", "b2"};
  for (size_t I = 0; I < 6; ++I)
    EXPECT_EQ(M.Symbols[I].Name, Names[I]);
  EXPECT_EQ(M.Symbols[0].Kind, SymbolKind::Input);
  EXPECT_EQ(M.Symbols[0].Type, TensorType(DType::F32, {64, 784}));
  EXPECT_EQ(M.Symbols[0].L, (Loc{7, 8}));
  EXPECT_EQ(M.Symbols[0].Init, Call{});
  EXPECT_EQ(M.Symbols[1].Type, TensorType(DType::I32, {64}));
  EXPECT_EQ(M.Symbols[2].Kind, SymbolKind::Param);
  EXPECT_EQ(M.Symbols[2].Init, (Call{"he_normal", {}}));
  EXPECT_EQ(M.Symbols[4].Init, (Call{"uniform", {{"lo", -0.1}, {"hi", 0.1}}}));
  EXPECT_EQ(M.Symbols[5].Init, (Call{"zeros", {}})); // the default

  ASSERT_EQ(M.Functions.size(), 1u);
  const Function &F = M.Functions[0];
  EXPECT_EQ(F.Name, "model");
  for (const char *N : {"x", "y", "W1", "b1", "W2", "b2", "h", "logits", "loss",
                        "probs", "acc"})
    EXPECT_TRUE(F.lookup(N).has_value()) << N;

  const Node &X = F.node(*F.lookup("x"));
  EXPECT_EQ(X.Opcode, Op::Input);
  EXPECT_EQ(X.Symbol, "x");
  EXPECT_EQ(X.L, (Loc{7, 8}));
  const Node &H = F.node(*F.lookup("h"));
  EXPECT_EQ(H.Opcode, Op::Relu);
  EXPECT_EQ(H.L, (Loc{15, 10}));
  EXPECT_EQ(H.Type, TensorType(DType::F32, {64, 128}));
  const Node &Add = F.node(H.Operands[0]);
  EXPECT_EQ(Add.Opcode, Op::Add);
  EXPECT_EQ(Add.Name, ""); // temporaries are unnamed
  EXPECT_EQ(Add.L, (Loc{15, 30}));
  const Node &Mm = F.node(Add.Operands[0]);
  EXPECT_EQ(Mm.Opcode, Op::Matmul);
  const Node &Div = F.node(Mm.Operands[0]);
  EXPECT_EQ(Div.Opcode, Op::Div);
  const Node &C = F.node(Div.Operands[1]);
  EXPECT_EQ(C.Opcode, Op::Constant);
  EXPECT_EQ(C.Type, TensorType(DType::F32, {}));
  EXPECT_EQ(C.Attrs, (AttrList{{"value", 255.0}}));
  EXPECT_EQ(C.L, (Loc{15, 19}));
  EXPECT_EQ(F.node(*F.lookup("loss")).Type, TensorType(DType::F32, {}));

  // Every node may only use earlier ones; each symbol has one node.
  int InputNodes = 0;
  for (ValueId V = 0; V < F.Nodes.size(); ++V) {
    for (ValueId O : F.node(V).Operands)
      EXPECT_LT(O, V);
    InputNodes += F.node(V).Symbol == "x";
  }
  EXPECT_EQ(InputNodes, 1);

  ASSERT_EQ(F.Results.size(), 3u);
  EXPECT_EQ(F.Results[0],
            (Result{ResultKind::Output, "probs", *F.lookup("probs")}));
  EXPECT_EQ(F.Results[1],
            (Result{ResultKind::Metric, "acc", *F.lookup("acc")}));
  EXPECT_EQ(F.Results[2],
            (Result{ResultKind::Output, "logits", *F.lookup("logits")}));

  ASSERT_TRUE(M.Train.has_value());
  EXPECT_EQ(M.Train->Minimize, "loss");
  EXPECT_EQ(M.Train->MinimizeLoc, (Loc{24, 13}));
  EXPECT_EQ(M.Train->Optimizer.Name, "adam");
  EXPECT_EQ(getFloat(M.Train->Optimizer.Args, "lr"), 1e-3);
  EXPECT_EQ(getFloat(M.Train->Optimizer.Args, "beta2"), 0.999);
  EXPECT_EQ(M.Train->OptimizerLoc, (Loc{25, 13}));
  EXPECT_EQ(M.Train->ClipGradNorm, 5.0);
  ASSERT_TRUE(M.Train->Schedule.has_value());
  EXPECT_EQ(M.Train->Schedule->Name, "cosine");
  EXPECT_EQ(getInt(M.Train->Schedule->Args, "steps"), 10000);
}

TEST(FrontendTest, ModelNameFromFileStem) {
  EXPECT_EQ(load("a = 1\n", {}, "dir/2-layer.v1.nn").M->Name, "_2_layer_v1");
  EXPECT_EQ(load("a = 1\n", {}, "examples/mnist_mlp.nn").M->Name, "mnist_mlp");
  EXPECT_EQ(load("", {}, "m.nn").M->Name, "m");
}

TEST(FrontendTest, EmptyFileIsAnEmptyModel) {
  Loaded L = load("");
  ASSERT_NE(L.M, nullptr);
  EXPECT_TRUE(L.M->Symbols.empty());
  EXPECT_FALSE(L.M->Train.has_value());
  EXPECT_EQ(L.Diags, "");
}

TEST(FrontendTest, SymbolNodeCreatedAtFirstUse) {
  Loaded L = load("input a : f32[2]\ninput b : f32[2]\nc = b + a\nd = a\n");
  ASSERT_NE(L.M, nullptr) << L.Diags;
  const Function &F = L.M->Functions[0];
  EXPECT_EQ(F.node(0).Symbol, "b");
  EXPECT_EQ(F.node(0).Name, "b");
  EXPECT_EQ(F.node(1).Symbol, "a");
  ASSERT_EQ(F.Nodes.size(), 4u);
  // `d = a` is a copy.
  EXPECT_EQ(F.node(3).Opcode, Op::Identity);
  EXPECT_EQ(F.node(3).Name, "d");
  EXPECT_EQ(F.node(3).Operands, std::vector<ValueId>{1});
}

TEST(FrontendTest, NumberLiteralsTakeTheTensorsDtype) {
  Loaded L = load("input x : f64[3]\n"
                  "a = x / 255\n"
                  "b = maximum(x, 0)\n"
                  "c = 2.0 * 3\n"     // folded, nothing to meet: f32[]
                  "d = x * (1 / 4)\n" // folded to one constant
                  "e = exp(2.0)\n"    // alone as an operand: f32[]
                  "const K = 3\n"
                  "f = x - K\n");
  ASSERT_NE(L.M, nullptr) << L.Diags;
  const Function &F = L.M->Functions[0];
  auto ConstOperand = [&](const char *Name, size_t I) {
    const Node &C = F.node(F.node(*F.lookup(Name)).Operands[I]);
    EXPECT_EQ(C.Opcode, Op::Constant) << Name;
    return std::make_pair(C.Type, getFloat(C.Attrs, "value"));
  };
  EXPECT_EQ(ConstOperand("a", 1),
            std::make_pair(TensorType(DType::F64, {}), 255.0));
  EXPECT_EQ(ConstOperand("b", 1),
            std::make_pair(TensorType(DType::F64, {}), 0.0));
  const Node &C = F.node(*F.lookup("c"));
  EXPECT_EQ(C.Opcode, Op::Constant);
  EXPECT_EQ(C.Type, TensorType(DType::F32, {}));
  EXPECT_EQ(getFloat(C.Attrs, "value"), 6.0);
  EXPECT_EQ(ConstOperand("d", 1),
            std::make_pair(TensorType(DType::F64, {}), 0.25));
  EXPECT_EQ(ConstOperand("e", 0),
            std::make_pair(TensorType(DType::F32, {}), 2.0));
  EXPECT_EQ(ConstOperand("f", 1),
            std::make_pair(TensorType(DType::F64, {}), 3.0));
  EXPECT_EQ(F.node(*F.lookup("f")).Type, TensorType(DType::F64, {3}));
}

TEST(FrontendTest, ConstArithmetic) {
  Loaded L = load("const A = 7 / 2\n" // 3.5
                  "const B = 8 / 2\n" // 4, an integer
                  "const C = -(B * 3) + 13\n"
                  "input x : f32[B, C]\n"
                  "y = x * A\n");
  ASSERT_NE(L.M, nullptr) << L.Diags;
  EXPECT_EQ(L.M->Symbols[0].Type, TensorType(DType::F32, {4, 1}));
  const Function &F = L.M->Functions[0];
  const Node &K = F.node(F.node(*F.lookup("y")).Operands[1]);
  EXPECT_EQ(getFloat(K.Attrs, "value"), 3.5);
}

TEST(FrontendTest, MatmulWithVectors) {
  Loaded L = load("input v : f32[3]\ninput W : f32[3, 4]\ninput U : f32[2, 3]\n"
                  "input Bt : f32[5, 3, 4]\n"
                  "a = v @ W\nb = U @ v\nc = v @ v\nd = matmul(v, Bt)\n");
  ASSERT_NE(L.M, nullptr) << L.Diags;
  const Function &F = L.M->Functions[0];
  EXPECT_EQ(F.type(*F.lookup("a")), TensorType(DType::F32, {4}));
  EXPECT_EQ(F.type(*F.lookup("b")), TensorType(DType::F32, {2}));
  EXPECT_EQ(F.type(*F.lookup("c")), TensorType(DType::F32, {}));
  EXPECT_EQ(F.type(*F.lookup("d")), TensorType(DType::F32, {5, 4}));
  EXPECT_EQ(F.node(*F.lookup("a")).Opcode, Op::Reshape);
}

TEST(FrontendTest, CallBinding) {
  Loaded L = load(
      "input x : f32[2, 3, 8, 8]\nparam w : f32[4, 3, 3, 3]\nparam b : f32[4]\n"
      "input ids : i32[2]\nparam T : f32[10, 5]\n"
      "a = conv2d(x, w, b, 2, 1)\n" // optional operand, then attrs
      "c = conv2d(x, w, padding = [1, 1])\n"
      "d = leaky_relu(x, 0.2)\n"
      "e = concat([a, a], axis = 1)\n"
      "f = cast(x, f64)\n"
      "g = cast(x, to = i32)\n"
      "h = sum(x, axes = [1, -1], keepdims = true)\n"
      "k = embedding(ids, T)\n"
      "sum = x\n"      // op names are not reserved
      "m = sum(sum)\n" // a name followed by ( is the op
      "n = clamp(x, -1, 1)\n");
  ASSERT_NE(L.M, nullptr) << L.Diags;
  const Function &F = L.M->Functions[0];
  const Node &A = F.node(*F.lookup("a"));
  EXPECT_EQ(A.Operands.size(), 3u);
  EXPECT_EQ(getInts(A.Attrs, "stride"), (IntList{2, 2}));
  EXPECT_EQ(getInts(A.Attrs, "padding"), (IntList{1, 1}));
  EXPECT_EQ(F.node(*F.lookup("c")).Operands.size(), 2u);
  EXPECT_EQ(getFloat(F.node(*F.lookup("d")).Attrs, "slope"), 0.2);
  EXPECT_EQ(F.type(*F.lookup("e")), TensorType(DType::F32, {2, 8, 4, 4}));
  EXPECT_EQ(F.type(*F.lookup("f")).Elt, DType::F64);
  EXPECT_EQ(F.type(*F.lookup("g")).Elt, DType::I32);
  EXPECT_EQ(F.type(*F.lookup("h")), TensorType(DType::F32, {2, 1, 8, 1}));
  EXPECT_EQ(F.type(*F.lookup("k")), TensorType(DType::F32, {2, 5}));
  EXPECT_EQ(F.node(*F.lookup("m")).Opcode, Op::Sum);
  EXPECT_EQ(F.node(*F.lookup("n")).Opcode, Op::Clamp);
}

TEST(FrontendTest, CRLFAndContinuationLines) {
  Loaded L =
      load("input x : f32[2,\r\n  3]\r\nh = relu(\r\n x)\r\noutput h\r\n");
  ASSERT_NE(L.M, nullptr) << L.Diags;
  EXPECT_EQ(L.M->Functions[0].node(1).L, (Loc{3, 5}));
}

//===----------------------------------------------------------------------===//
// -D overrides
//===----------------------------------------------------------------------===//

TEST(FrontendTest, DefineOverridesConst) {
  Loaded L = load("const B = 64\nconst H = B * 2\ninput x : f32[B, H]\n"
                  "output x\n",
                  {{"B", "128"}});
  ASSERT_NE(L.M, nullptr) << L.Diags;
  EXPECT_EQ(L.M->Symbols[0].Type, TensorType(DType::F32, {128, 256}));
  L = load("const S = 1.0\ninput x : f32[2]\ny = x * S\noutput y\n",
           {{"S", "-2.5e0"}});
  ASSERT_NE(L.M, nullptr) << L.Diags;
  const Function &F = L.M->Functions[0];
  EXPECT_EQ(getFloat(F.node(F.node(*F.lookup("y")).Operands[1]).Attrs, "value"),
            -2.5);
}

TEST(FrontendTest, DefineUnknownConstant) {
  expectDiags("const B = 1\nx = 1\n",
              "gradc: error: -D x=1: the model has no constant 'x'\n"
              "gradc: error: -D C=2: the model has no constant 'C'\n",
              {{"x", "1"}, {"C", "2"}});
}

TEST(FrontendTest, DefineMalformedValue) {
  expectDiags("const B = 1\n",
              "gradc: error: -D B=abc: malformed number 'abc'\n"
              "gradc: error: -D B=: expected a number\n"
              "gradc: error: -D B=1e999: number '1e999' is too large\n",
              {{"B", "abc"}, {"B", ""}, {"B", "1e999"}});
}

TEST(FrontendTest, DefineFloatUsedAsDimension) {
  expectDiags("const B = 64\ninput x : f32[B]\n",
              "m.nn:2:15: error: dimension must be an integer, got 1.5\n"
              "input x : f32[B]\n"
              "              ^\n",
              {{"B", "1.5"}});
}

//===----------------------------------------------------------------------===//
// Warnings
//===----------------------------------------------------------------------===//

TEST(FrontendTest, UnusedWarnings) {
  Loaded L = load("input x : f32[3]\nparam W3 : f32[3]\ninput z : f32[2]\n"
                  "param zeros : f32[1]\nparam V : f32[3] = zeros\n"
                  "h = x * V\noutput h\n");
  ASSERT_NE(L.M, nullptr); // warnings are not errors
  EXPECT_EQ(L.Diags, "m.nn:2:7: warning: param 'W3' is never used\n"
                     "param W3 : f32[3]\n"
                     "      ^\n"
                     "m.nn:3:7: warning: input 'z' is never used\n"
                     "input z : f32[2]\n"
                     "      ^\n"
                     "m.nn:4:7: warning: param 'zeros' is never used\n"
                     "param zeros : f32[1]\n"
                     "      ^\n");
  // Used by an output mark or minimize only: no warning.
  L = load("input x : f32[3]\nparam s : f32[]\noutput x\n"
           "train {\n  minimize s\n  optimizer sgd(1)\n}\n");
  ASSERT_NE(L.M, nullptr);
  EXPECT_EQ(L.Diags, "");
}

//===----------------------------------------------------------------------===//
// Robustness
//===----------------------------------------------------------------------===//

TEST(FrontendTest, NastyInputsDoNotCrash) {
  const std::string Inputs[] = {
      std::string(1, '\0'),
      "(((((((((",
      "train {",
      "train {\n minimize",
      "a = [" + std::string(10000, '['),
      "a = " + std::string(10000, '-') + "1",
      "input x : f32[" + std::string(5000, '(') + "1",
      "a = 1e",
      "}}}}]]]))) = = =",
      "param W : f32[3] = uniform(uniform(1))",
      "a = f(" + std::string(3000, ',') + ")",
      "const a = b\nconst b = c\nconst c = a\n",
      "output x = x\n",
      "x = concat([], axis = 0)\n",
      "input x : f32[2]\ny = x @ 3\nz = 2 @ x\nw = 2 @ 3\n",
      "input x : i32[2]\ny = x * 0.5\n",
      "const A = -9223372036854775807 - 1\nconst B = -A\nconst C = A / -1\n",
      "model\nmodel m\nmodel m\n",
      "\r\r\n\r",
  };
  for (const std::string &In : Inputs) {
    Loaded L = load(In);
    EXPECT_EQ(L.M, nullptr) << In.substr(0, 80);
    EXPECT_NE(L.Diags.find("error"), std::string::npos) << In.substr(0, 80);
  }
}

TEST(FrontendTest, LongChainsAreNotRecursive) {
  std::string S = "input x : f32[2]\na = x";
  for (int I = 0; I < 50000; ++I)
    S += " + x";
  S += "\nb = 1";
  for (int I = 0; I < 50000; ++I)
    S += " + 1";
  S += "\noutput a\noutput b\n";
  Loaded L = load(S);
  ASSERT_NE(L.M, nullptr) << L.Diags.substr(0, 200);
  const Function &F = L.M->Functions[0];
  EXPECT_EQ(getFloat(F.node(*F.lookup("b")).Attrs, "value"), 50001.0);
}

} // namespace
