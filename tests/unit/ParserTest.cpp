//===- tests/unit/ParserTest.cpp - Model text to syntax tree --------------===//
//
// Precedence and associativity, continuation lines, comments, calls with
// keyword arguments, lists, every statement form, the nesting limit, syntax
// errors and recovery at the next statement.
//
//===----------------------------------------------------------------------===//
#include "frontend/Parser.h"

#include <gtest/gtest.h>

using namespace gradc;
using namespace gradc::frontend;

namespace {

/// The S-expression of the value of the only statement in \p Text.
std::string exprOf(std::string_view Text) {
  static std::string Keep; // the AST points into the text
  Keep = std::string(Text);
  ModuleAST AST = parseModel(Keep);
  EXPECT_EQ(AST.Stmts.size(), 1u) << Text;
  if (AST.Stmts.size() != 1)
    return "<statements: " + std::to_string(AST.Stmts.size()) + ">";
  const Stmt &S = AST.Stmts[0];
  if (S.Failed)
    return "<error: " + (S.Diags.empty() ? "" : S.Diags[0].Msg) + ">";
  return formatExpr(AST, S.Value);
}

/// All diagnostics of a parse, "LINE:COL: MSG" each.
std::vector<std::string> diagsOf(const ModuleAST &AST) {
  std::vector<std::string> Out;
  auto Add = [&](const std::vector<PendingDiag> &Ds) {
    for (const PendingDiag &D : Ds)
      Out.push_back(std::to_string(D.L.Line) + ":" + std::to_string(D.L.Col) +
                    ": " + (D.Sev == Severity::Note ? "note: " : "") + D.Msg);
  };
  for (const Stmt &S : AST.Stmts) {
    Add(S.Diags);
    for (const TrainSetting &T : S.Settings)
      Add(T.Diags);
  }
  return Out;
}

TEST(ParserTest, Precedence) {
  EXPECT_EQ(exprOf("h = x / 255.0 @ W1"), "(matmul (div x 255.0) W1)");
  EXPECT_EQ(exprOf("h = -a @ b"), "(matmul (neg a) b)");
  EXPECT_EQ(exprOf("h = a @ b + c"), "(add (matmul a b) c)");
  EXPECT_EQ(exprOf("h = a + b @ c"), "(add a (matmul b c))");
  EXPECT_EQ(exprOf("h = a - b - c"), "(sub (sub a b) c)");
  EXPECT_EQ(exprOf("h = a / b * c"), "(mul (div a b) c)");
  EXPECT_EQ(exprOf("h = a * (b + c)"), "(mul a (add b c))");
  EXPECT_EQ(exprOf("h = a - -b"), "(sub a (neg b))");
  EXPECT_EQ(exprOf("h = --a"), "(neg (neg a))");
  EXPECT_EQ(exprOf("h = -f(x) * 2"), "(mul (neg (call f x)) 2)");
  EXPECT_EQ(exprOf("h = relu(x / 255.0 @ W1 + b1)"),
            "(call relu (add (matmul (div x 255.0) W1) b1))");
}

TEST(ParserTest, CallsAndLists) {
  EXPECT_EQ(exprOf("h = f()"), "(call f)");
  EXPECT_EQ(exprOf("h = softmax(z, axis = -1)"),
            "(call softmax z axis=(neg 1))");
  EXPECT_EQ(exprOf("h = concat([a, b], axis = 1)"),
            "(call concat [a b] axis=1)");
  EXPECT_EQ(exprOf("h = reshape(x, [B, -1],)"), "(call reshape x [B (neg 1)])");
  EXPECT_EQ(exprOf("h = f(x, [], true, false, f64)"),
            "(call f x [] true false f64)");
  EXPECT_EQ(exprOf("h = sum(x)"), "(call sum x)");
}

TEST(ParserTest, ContinuationLinesAndComments) {
  ModuleAST AST = parseModel("# header\n"
                             "h = conv2d(x,   # input\n"
                             "           w,\n"
                             "           [1,\n"
                             "            2])  # done\n"
                             "\n"
                             "g = h\n");
  ASSERT_EQ(AST.Stmts.size(), 2u);
  EXPECT_FALSE(AST.Stmts[0].Failed);
  EXPECT_EQ(formatExpr(AST, AST.Stmts[0].Value), "(call conv2d x w [1 2])");
  EXPECT_EQ(AST.Stmts[1].L, (Loc{7, 1}));
}

TEST(ParserTest, StatementForms) {
  ModuleAST AST = parseModel("model m\n"
                             "const B = 2 * 32\n"
                             "input x : f32[B, 28*28]\n"
                             "param W : f64[784, 10] = uniform(-1, hi = 1)\n"
                             "param b : f32[10]\n"
                             "param s : f32[]\n"
                             "h = x\n"
                             "output h\n"
                             "output p = h\n"
                             "metric m = h\n"
                             "train\n"
                             "{\n"
                             "  minimize m\n"
                             "  optimizer adam(lr = 1e-3)\n"
                             "  clip_grad_norm 5.0\n"
                             "  schedule cosine(steps = 10)\n"
                             "}\n");
  EXPECT_TRUE(diagsOf(AST).empty());
  ASSERT_EQ(AST.Stmts.size(), 11u);
  const std::vector<StmtKind> Kinds = {
      StmtKind::Model,  StmtKind::Const,  StmtKind::Input,  StmtKind::Param,
      StmtKind::Param,  StmtKind::Param,  StmtKind::Assign, StmtKind::Output,
      StmtKind::Output, StmtKind::Metric, StmtKind::Train};
  for (size_t I = 0; I < Kinds.size(); ++I)
    EXPECT_EQ(AST.Stmts[I].Kind, Kinds[I]) << I;
  EXPECT_EQ(AST.Stmts[0].Name, "m");
  EXPECT_EQ(formatExpr(AST, AST.Stmts[1].Value), "(mul 2 32)");
  const Stmt &X = AST.Stmts[2];
  EXPECT_EQ(X.Name, "x");
  EXPECT_EQ(X.NameLoc, (Loc{3, 7}));
  EXPECT_EQ(X.Type.DT, ir::DType::F32);
  ASSERT_EQ(X.Type.Dims.size(), 2u);
  EXPECT_EQ(formatExpr(AST, X.Type.Dims[1]), "(mul 28 28)");
  EXPECT_EQ(AST.Stmts[3].Type.DT, ir::DType::F64);
  EXPECT_EQ(formatExpr(AST, AST.Stmts[3].Value), "(call uniform (neg 1) hi=1)");
  EXPECT_EQ(AST.Stmts[4].Value, NoExpr);
  EXPECT_TRUE(AST.Stmts[5].Type.Dims.empty());
  EXPECT_FALSE(AST.Stmts[7].definesName());
  EXPECT_TRUE(AST.Stmts[8].definesName());
  const Stmt &T = AST.Stmts[10];
  ASSERT_EQ(T.Settings.size(), 4u);
  EXPECT_EQ(T.Settings[0].Kind, SettingKind::Minimize);
  EXPECT_EQ(T.Settings[0].Name, "m");
  EXPECT_EQ(T.Settings[1].Kind, SettingKind::Optimizer);
  EXPECT_EQ(formatExpr(AST, T.Settings[1].Value), "(call adam lr=1e-3)");
  EXPECT_EQ(T.Settings[2].Kind, SettingKind::ClipGradNorm);
  EXPECT_EQ(T.Settings[3].Kind, SettingKind::Schedule);
}

TEST(ParserTest, TrainBlockOnOneLine) {
  ModuleAST AST = parseModel("train { minimize l\n optimizer sgd(lr = 1) }\n");
  EXPECT_TRUE(diagsOf(AST).empty());
  ASSERT_EQ(AST.Stmts.size(), 1u);
  EXPECT_EQ(AST.Stmts[0].Settings.size(), 2u);
}

TEST(ParserTest, StatementsEndAtEndOfFile) {
  ModuleAST AST = parseModel("a = 1\nb = 2");
  EXPECT_TRUE(diagsOf(AST).empty());
  EXPECT_EQ(AST.Stmts.size(), 2u);
  EXPECT_TRUE(parseModel("").Stmts.empty());
  EXPECT_TRUE(parseModel("\n\n  # nothing\n").Stmts.empty());
}

TEST(ParserTest, NestingLimit) {
  auto Nested = [](int N) {
    return "a = " + std::string(N, '(') + "1" + std::string(N, ')');
  };
  EXPECT_EQ(exprOf(Nested(256)), "1");
  EXPECT_EQ(exprOf(Nested(257)),
            "<error: expression nests too deeply (more than 256 levels)>");
  EXPECT_EQ(exprOf("a = " + std::string(257, '-') + "1"),
            "<error: expression nests too deeply (more than 256 levels)>");
  EXPECT_EQ(exprOf("a = " + std::string(100000, '[')),
            "<error: expression nests too deeply (more than 256 levels)>");
  std::string Calls = "a = ";
  for (int I = 0; I < 300; ++I)
    Calls += "f(";
  EXPECT_EQ(exprOf(Calls),
            "<error: expression nests too deeply (more than 256 levels)>");
  // Mixed: 128 calls around 128 parentheses is 256 levels, one more fails.
  std::string Mixed = "a = ";
  for (int I = 0; I < 128; ++I)
    Mixed += "f((";
  EXPECT_EQ(exprOf(Mixed + "x" + std::string(256, ')')).substr(0, 8),
            "(call f ");
  EXPECT_EQ(exprOf(Mixed + "-x" + std::string(256, ')')),
            "<error: expression nests too deeply (more than 256 levels)>");
}

TEST(ParserTest, NestingErrorLocation) {
  ModuleAST AST = parseModel("a = " + std::string(300, '(') + "1\nb = 2\n");
  std::vector<std::string> D = diagsOf(AST);
  ASSERT_EQ(D.size(), 1u);
  EXPECT_EQ(D[0], "1:261: expression nests too deeply (more than 256 levels)");
}

TEST(ParserTest, LongBinaryChainsAreNotNesting) {
  std::string S = "a = x";
  for (int I = 0; I < 100000; ++I)
    S += " + x";
  ModuleAST AST = parseModel(S);
  ASSERT_EQ(AST.Stmts.size(), 1u);
  EXPECT_FALSE(AST.Stmts[0].Failed);
  EXPECT_EQ(AST.Exprs.size(), 200001u);
  // formatExpr walks it without recursion too ("(add " ... " x)" per term).
  std::string Short = "a = x";
  for (int I = 0; I < 20000; ++I)
    Short += " + x";
  AST = parseModel(Short);
  EXPECT_EQ(formatExpr(AST, AST.Stmts[0].Value).size(), 20000u * 8 + 1);
}

TEST(ParserTest, SyntaxErrors) {
  struct Case {
    const char *Text;
    const char *Diag;
  } Cases[] = {
      {"h = x +\n", "1:8: expected an expression, got end of line"},
      {"h = x y\n", "1:7: expected an operator or end of line, got 'y'"},
      {"h = (x\n", "1:7: expected ')', got end of file"},
      {"input x f32[3]\n", "1:9: expected ':' after 'x', got 'f32'"},
      {"input x : float32[3]\n",
       "1:11: unknown dtype 'float32' (expected f32, f64 or i32)"},
      {"input x : f32\n", "1:14: expected '[' after 'f32', got end of line"},
      {"input x : f32[3 4]\n", "1:17: expected ',' or ']', got '4'"},
      {"input : f32[3]\n", "1:7: expected a name after 'input', got ':'"},
      {"input input : f32[3]\n",
       "1:7: 'input' is a keyword and cannot be used as a name"},
      {"f32 = 1\n", "1:1: 'f32' is a keyword and cannot be used as a name"},
      {"h = x + param\n",
       "1:9: 'param' is a keyword and cannot be used as a name"},
      {"h = f(a = 1, b)\n",
       "1:14: positional argument follows keyword argument"},
      {"h = f(a b)\n", "1:9: expected ',' or ')', got 'b'"},
      {"inptu x : f32[3]\n",
       "1:1: unknown keyword 'inptu' (did you mean 'input'?)"},
      {"foo bar\n", "1:1: unknown keyword 'foo'"},
      {"foo + 1\n", "1:5: expected '=' after 'foo', got '+'"},
      {"minimize loss\n", "1:1: 'minimize' is only allowed in a train block"},
      {"= 3\n", "1:1: expected a statement, got '='"},
      {"model\n", "1:6: expected a name after 'model', got end of line"},
      {"param W : f32[3] = 1\n", "1:20: expected an initializer name, got '1'"},
      {"output x y\n", "1:10: expected '=' or end of line, got 'y'"},
      {"train\n", "1:6: expected '{' after 'train', got end of file"},
      {"train {\n  optimiser adam\n}\n",
       "2:3: unknown train setting 'optimiser'"},
      {"train {\n  minimize\n}\n",
       "2:11: expected a name after 'minimize', got end of line"},
      {"train {\n  optimizer 3\n}\n",
       "2:13: expected an optimizer name, got '3'"},
      {"train {\n  minimize a b\n}\n", "2:14: expected end of line, got 'b'"},
      {"train {\n  (\n}\n", "2:3: expected a train setting, got '('"},
      {"train {\n} x\n", "2:3: expected end of line after '}', got 'x'"},
      {"h = 1 \x01\n", "1:7: unexpected character '\\x01'"},
  };
  for (const Case &C : Cases) {
    ModuleAST AST = parseModel(C.Text);
    std::vector<std::string> D = diagsOf(AST);
    ASSERT_FALSE(D.empty()) << C.Text;
    EXPECT_EQ(D[0], C.Diag) << C.Text;
    EXPECT_EQ(D.size(), 1u) << C.Text;
  }
}

TEST(ParserTest, UnclosedBracketNotesTheOpening) {
  ModuleAST AST = parseModel("h = relu(x\ny = 2\n");
  EXPECT_EQ(diagsOf(AST),
            (std::vector<std::string>{"2:1: expected ',' or ')', got 'y'",
                                      "1:9: note: to match this '('"}));
  AST = parseModel("train {\n  minimize l\n");
  EXPECT_EQ(diagsOf(AST),
            (std::vector<std::string>{
                "2:13: expected '}' at the end of the train block",
                "1:7: note: to match this '{'"}));
}

TEST(ParserTest, RecoveryAtNextStatement) {
  ModuleAST AST = parseModel("a = (1 +\n"
                             "  2))\n"     // the statement continues, then errs
                             "b = $ $ $\n" // one error for the line
                             "c = 3\n"
                             "train {\n"
                             "  bogus 1\n"
                             "  minimize c\n"
                             "}\n"
                             "d = 4\n");
  EXPECT_EQ(diagsOf(AST),
            (std::vector<std::string>{
                "2:5: expected an operator or end of line, got ')'",
                "3:5: unexpected character '$'",
                "6:3: unknown train setting 'bogus'"}));
  ASSERT_EQ(AST.Stmts.size(), 5u);
  EXPECT_TRUE(AST.Stmts[0].Failed);
  EXPECT_EQ(AST.Stmts[0].Name, "a"); // known, so IRGen can poison it
  EXPECT_TRUE(AST.Stmts[1].Failed);
  EXPECT_FALSE(AST.Stmts[2].Failed);
  EXPECT_FALSE(AST.Stmts[3].Failed);
  ASSERT_EQ(AST.Stmts[3].Settings.size(), 2u);
  EXPECT_TRUE(AST.Stmts[3].Settings[0].Failed);
  EXPECT_FALSE(AST.Stmts[3].Settings[1].Failed);
  EXPECT_EQ(AST.Stmts[4].Name, "d");
}

TEST(ParserTest, ExpressionRangesAreContiguous) {
  ModuleAST AST = parseModel("a = f(x, y)\nb = a + 1\n");
  ASSERT_EQ(AST.Stmts.size(), 2u);
  EXPECT_EQ(AST.Stmts[0].ExprBegin, 0u);
  EXPECT_EQ(AST.Stmts[0].ExprEnd, 3u);
  EXPECT_EQ(AST.Stmts[1].ExprBegin, 3u);
  EXPECT_EQ(AST.Stmts[1].ExprEnd, 6u);
  for (ExprId I = 0; I < AST.Exprs.size(); ++I)
    for (ExprId K : AST.Exprs[I].Kids)
      EXPECT_LT(K, I);
}

TEST(ParserTest, Locations) {
  ModuleAST AST = parseModel("h = relu(x / 255.0 @ W1 + b1)\n");
  const Expr &Call = AST.expr(AST.Stmts[0].Value);
  EXPECT_EQ(Call.L, (Loc{1, 5}));
  const Expr &Add = AST.expr(Call.Kids[0]);
  EXPECT_EQ(Add.L, (Loc{1, 25}));
  EXPECT_EQ(Add.Begin, (Loc{1, 10}));
}

} // namespace
