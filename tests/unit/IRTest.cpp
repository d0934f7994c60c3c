// Unit tests of the IR core: builder, printer, IR parser, verifier, DCE and
// the pass manager.
#include "ir/Builder.h"
#include "ir/IRParser.h"
#include "ir/Printer.h"
#include "ir/Verifier.h"
#include "passes/PassManager.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sstream>

using namespace gradc;
using namespace gradc::ir;
using ::testing::HasSubstr;

namespace {

/// A small module: y = softmax(x @ w), loss = mean(square(x @ w)).
Module makeModule() {
  Module M;
  M.Name = "t";
  M.SourceName = "t.nn";
  M.Symbols.push_back({SymbolKind::Input, "x", TensorType(DType::F32, {4, 3}), {}, {1, 1}});
  M.Symbols.push_back({SymbolKind::Param, "w", TensorType(DType::F32, {3, 2}),
                       {"he_normal", {}}, {2, 1}});
  M.Functions.push_back({"model", {}, {}, {}});
  Function &F = M.Functions.back();
  Builder B(F);
  ValueId X = B.symbolRef(M.Symbols[0], {1, 1});
  F.node(X).Name = "x";
  ValueId W = B.symbolRef(M.Symbols[1], {2, 1});
  ValueId H = B.make(Op::Matmul, {X, W}, {}, {3, 5});
  ValueId P = B.make(Op::Softmax, {H}, {{"axis", int64_t(-1)}}, {4, 5});
  F.node(P).Name = "probs";
  ValueId S = B.make(Op::Square, {H});
  ValueId L = B.make(Op::Mean, {S});
  F.node(L).Name = "loss";
  F.Results.push_back({ResultKind::Output, "probs", P});
  M.Train = TrainConfig{"loss", {5, 3}, {"sgd", {}}, {6, 3}, 2.0, std::nullopt};
  std::string Err;
  int ErrArg;
  std::vector<AttrValue> Lr = {0.5};
  EXPECT_TRUE(bindAttrs("sgd", lookupOptimizer("sgd")->Args, Lr, {},
                        M.Train->Optimizer.Args, Err, ErrArg));
  return M;
}

std::unique_ptr<Module> parse(const std::string &Text, std::string &Errors) {
  SourceFile Src("t.ir", Text);
  std::ostringstream OS;
  DiagnosticEngine Diags(OS);
  Diags.setSource(&Src);
  auto M = parseModule(Src, Diags);
  Errors = OS.str();
  return M;
}

TEST(IRTest, BuilderAppliesShapeRulesAndNormalizes) {
  Module M = makeModule();
  const Function &F = M.Functions[0];
  EXPECT_EQ(formatType(F.Nodes[2].Type), "f32[4, 2]");
  EXPECT_EQ(formatAttrs(F.Nodes[3].Attrs), "{axis = 1}");
  EXPECT_EQ(formatAttrs(F.Nodes[5].Attrs), "{axes = [0, 1], keepdims = false}");
  EXPECT_TRUE(F.Nodes[5].Type.isScalar());
  EXPECT_TRUE(verifyModule(M).empty());
}

TEST(IRTest, BuilderReportsShapeErrorsWithoutChangingTheFunction) {
  Module M = makeModule();
  Function &F = M.Functions[0];
  size_t Before = F.Nodes.size();
  Builder B(F);
  BuildError Err;
  AttrList NoAttrs;
  auto V = B.create(Op::Matmul, {0, 0}, NoAttrs, {}, Err);
  EXPECT_FALSE(V);
  EXPECT_THAT(Err.Message, HasSubstr("f32[4, 3] @ f32[4, 3]"));
  EXPECT_EQ(F.Nodes.size(), Before);
}

TEST(IRTest, PrintedTextParsesBackExactly) {
  Module M = makeModule();
  std::string Text = printModule(M);
  EXPECT_THAT(Text, HasSubstr("module @t source \"t.nn\"\n"));
  EXPECT_THAT(Text, HasSubstr("param @w : f32[3, 2] = he_normal loc(2:1)\n"));
  EXPECT_THAT(Text, HasSubstr("  %1 = matmul %x, %0 : f32[4, 2] loc(3:5)\n"));
  EXPECT_THAT(Text, HasSubstr("  output probs = %probs\n"));
  EXPECT_THAT(Text, HasSubstr("  clip_grad_norm 2.0\n"));
  std::string Errors;
  auto Back = parse(Text, Errors);
  ASSERT_TRUE(Back) << Errors;
  EXPECT_EQ(printModule(*Back), Text);
  EXPECT_EQ(Back->Functions[0].Nodes.size(), M.Functions[0].Nodes.size());
  EXPECT_EQ(Back->Train->Optimizer, M.Train->Optimizer);
}

TEST(IRTest, VerifierCatchesBrokenModules) {
  Module M = makeModule();
  M.Functions[0].Nodes[2].Type = TensorType(DType::F32, {4, 3});
  auto Problems = verifyModule(M);
  ASSERT_FALSE(Problems.empty());
  EXPECT_THAT(Problems[0], HasSubstr("type is f32[4, 3], but the shape rule gives f32[4, 2]"));

  M = makeModule();
  M.Functions[0].Nodes[3].Attrs[0].Value = int64_t(-1);
  Problems = verifyModule(M);
  ASSERT_EQ(Problems.size(), 1u);
  EXPECT_THAT(Problems[0], HasSubstr("not normalized"));

  M = makeModule();
  M.Functions[0].Nodes[2].Operands[0] = 4;
  EXPECT_THAT(verifyModule(M)[0], HasSubstr("not defined before its use"));

  M = makeModule();
  M.Functions[0].Nodes[1].Symbol = "nosuch";
  EXPECT_THAT(verifyModule(M)[0], HasSubstr("unknown symbol @nosuch"));

  M = makeModule();
  M.Train->Minimize = "nosuch";
  EXPECT_THAT(verifyModule(M)[0], HasSubstr("minimize refers to %nosuch"));
}

TEST(IRTest, ParserRejectsGarbageWithLocations) {
  std::string Errors;
  EXPECT_FALSE(parse("", Errors));
  EXPECT_THAT(Errors, HasSubstr("t.ir:1:1: error: expected 'module'"));
  EXPECT_FALSE(parse("module @m\nfunc @model {\n  %0 = relu %0 : f32[2]\n}\n", Errors));
  EXPECT_THAT(Errors, HasSubstr("t.ir:3:13: error: use of undefined value %0"));
  EXPECT_FALSE(parse("module @m\ninput @x : f32[99999999, 99999999, 99999999]\n", Errors));
  EXPECT_THAT(Errors, HasSubstr("too many elements"));
  EXPECT_FALSE(parse("module @m\ninput @x : f32[2]\ninput @x : f32[2]\n", Errors));
  EXPECT_THAT(Errors, HasSubstr("t.ir:3:7: error: redefinition of symbol @x"));
  EXPECT_FALSE(parse("module @m source \"abc", Errors));
  EXPECT_THAT(Errors, HasSubstr("unterminated string"));
  EXPECT_FALSE(parse("module @m\nparam @w : i32[2] = zeros\n", Errors));
  EXPECT_THAT(Errors, HasSubstr("@w must have a float type"));
  EXPECT_FALSE(parse("module @m 99999999999999999999999", Errors));
  EXPECT_THAT(Errors, HasSubstr("bad integer"));
}

TEST(IRTest, DCERemovesOnlyDeadNodes) {
  Module M = makeModule();
  Function &F = M.Functions[0];
  Builder B(F);
  B.make(Op::Exp, {2}); // dead
  size_t Before = F.Nodes.size();
  std::ostringstream Log;
  DiagnosticEngine Diags(Log);
  passes::PassManager PM({}, Log, Diags);
  std::string Err;
  ASSERT_TRUE(PM.parsePipeline("dce", Err));
  ASSERT_TRUE(PM.run(M));
  EXPECT_EQ(F.Nodes.size(), Before - 1);
  // The loss is kept although it is not a result: the train block needs it.
  EXPECT_TRUE(F.lookup("loss"));
  EXPECT_TRUE(verifyModule(M).empty());
}

TEST(IRTest, PassManagerInstrumentation) {
  Module M = makeModule();
  std::ostringstream Log;
  passes::Instrumentation Inst;
  Inst.PrintAfterAll = true;
  Inst.VerifyEach = true;
  Inst.TimePasses = true;
  DiagnosticEngine Diags(Log);
  passes::PassManager PM(Inst, Log, Diags);
  std::string Err;
  ASSERT_TRUE(PM.parsePipeline("dce,dce", Err));
  ASSERT_TRUE(PM.run(M));
  EXPECT_THAT(Log.str(), HasSubstr("# *** IR Dump After dce *** (unchanged)"));
  EXPECT_THAT(Log.str(), HasSubstr("Pass execution timing report"));
  EXPECT_FALSE(PM.parsePipeline("dce,bogus", Err));
  EXPECT_THAT(Err, HasSubstr("unknown pass 'bogus'"));
}

TEST(IRTest, DiagnosticsPrintLineAndCaret) {
  SourceFile Src("f.nn", "a = 1\n\tb = c + d\n");
  std::ostringstream OS;
  DiagnosticEngine Diags(OS);
  Diags.setSource(&Src);
  Diags.error({2, 6}, "unknown name '{}'", "c");
  Diags.warning({}, "no location");
  EXPECT_EQ(OS.str(), "f.nn:2:6: error: unknown name 'c'\n\tb = c + d\n\t    ^\n"
                      "f.nn: warning: no location\n");
  EXPECT_EQ(Diags.numErrors(), 1u);
  EXPECT_EQ(Diags.numWarnings(), 1u);
}

} // namespace
