//===- frontend/Parser.cpp - Model text to syntax tree --------------------===//
//
// Statements: model, const, input, param, NAME = EXPR, output, metric and the
// train block. Expressions by precedence climbing with loops; nesting is
// bounded by MaxNestingDepth. See Parser.h.
//
//===----------------------------------------------------------------------===//
#include "frontend/Parser.h"

#include <algorithm>
#include <array>
#include <fmt/format.h>

namespace gradc::frontend {

ModuleAST parseModel(std::string_view Text) { return Parser(Text).parse(); }

//===----------------------------------------------------------------------===//
// Tokens and diagnostics
//===----------------------------------------------------------------------===//

const Token &Parser::peek(size_t N) {
  while (Ahead.size() <= N)
    Ahead.push_back(Lex.next(Quiet ? nullptr : Diags));
  return Ahead[N];
}

Token Parser::consume() {
  Token T = peek(0);
  if (T.Kind != TokKind::Eof)
    Ahead.pop_front();
  return T;
}

bool Parser::accept(TokKind K) {
  if (!at(K))
    return false;
  consume();
  return true;
}

void Parser::skipNewlines() {
  while (at(TokKind::Newline))
    consume();
}

void Parser::error(Loc L, std::string Msg) {
  if (Diags)
    Diags->push_back({Severity::Error, L, std::move(Msg)});
}

void Parser::note(Loc L, std::string Msg) {
  if (Diags)
    Diags->push_back({Severity::Note, L, std::move(Msg)});
}

bool Parser::expected(std::string_view What) {
  const Token &T = tok();
  if (T.Kind != TokKind::Error)
    error(T.L, fmt::format("expected {}, got {}", What, describeToken(T)));
  return false;
}

bool Parser::expectClose(TokKind Close, std::string_view Expected, Loc Open,
                         std::string_view OpenSpelling) {
  if (accept(Close))
    return true;
  Loc Found = tok().L;
  bool Reported = tok().Kind != TokKind::Error;
  expected(Expected);
  if (Reported && Found.Line != Open.Line)
    note(Open, fmt::format("to match this '{}'", OpenSpelling));
  return false;
}

void Parser::recover(bool InTrainBlock) {
  Quiet = true;
  while (!at(TokKind::Eof) && !at(TokKind::Newline) &&
         !(InTrainBlock && at(TokKind::RBrace)))
    consume();
  Quiet = false;
  if (at(TokKind::Newline))
    consume();
}

bool Parser::enter(Loc L) {
  if (++Depth > MaxNestingDepth) {
    error(L, fmt::format("expression nests too deeply (more than {} levels)",
                         MaxNestingDepth));
    return false;
  }
  return true;
}

ExprId Parser::add(Expr E) {
  AST.Exprs.push_back(std::move(E));
  return static_cast<ExprId>(AST.Exprs.size() - 1);
}

//===----------------------------------------------------------------------===//
// Statements
//===----------------------------------------------------------------------===//

ModuleAST Parser::parse() {
  while (true) {
    Stmt S;
    Diags = &S.Diags;
    skipNewlines();
    if (at(TokKind::Eof)) {
      if (!S.Diags.empty()) {
        S.Failed = true;
        AST.Stmts.push_back(std::move(S));
      }
      break;
    }
    parseStatement(S);
    Diags = nullptr;
    AST.Stmts.push_back(std::move(S));
  }
  Diags = nullptr;
  return std::move(AST);
}

void Parser::parseStatement(Stmt &S) {
  Depth = 0;
  S.ExprBegin = static_cast<ExprId>(AST.Exprs.size());
  S.L = tok().L;
  if (!parseStatementBody(S)) {
    S.Failed = true;
    recover(/*InTrainBlock=*/false);
  }
  S.ExprEnd = static_cast<ExprId>(AST.Exprs.size());
}

bool Parser::parseName(std::string_view Context, std::string_view &Name,
                       Loc &L) {
  const Token &T = tok();
  if (T.Kind == TokKind::Name) {
    Name = T.Text;
    L = T.L;
    consume();
    return true;
  }
  if (isKeyword(T.Kind)) {
    error(T.L, fmt::format("'{}' is a keyword and cannot be used as a name",
                           T.Text));
    return false;
  }
  return expected(fmt::format("a name {}", Context));
}

bool Parser::parseEnd(std::string_view What) {
  if (at(TokKind::Eof))
    return true;
  if (accept(TokKind::Newline))
    return true;
  return expected(What);
}

bool Parser::parseStatementBody(Stmt &S) {
  const Token First = tok();
  // `input = ...`: a keyword where a name is defined.
  if (isKeyword(First.Kind) && peek(1).Kind == TokKind::Equal) {
    error(First.L, fmt::format("'{}' is a keyword and cannot be used as a name",
                               First.Text));
    return false;
  }
  switch (First.Kind) {
  case TokKind::KwModel:
    S.Kind = StmtKind::Model;
    consume();
    if (!parseName("after 'model'", S.Name, S.NameLoc))
      return false;
    return parseEnd("end of line");
  case TokKind::KwConst:
  case TokKind::KwMetric:
    S.Kind =
        First.Kind == TokKind::KwConst ? StmtKind::Const : StmtKind::Metric;
    consume();
    if (!parseName(fmt::format("after '{}'", First.Text), S.Name, S.NameLoc))
      return false;
    if (!accept(TokKind::Equal))
      return expected(fmt::format("'=' after '{}'", S.Name));
    S.HasEquals = true;
    if ((S.Value = parseExpr()) == NoExpr)
      return false;
    return parseEnd("an operator or end of line");
  case TokKind::KwInput:
  case TokKind::KwParam:
    S.Kind = First.Kind == TokKind::KwInput ? StmtKind::Input : StmtKind::Param;
    consume();
    if (!parseName(fmt::format("after '{}'", First.Text), S.Name, S.NameLoc))
      return false;
    if (!accept(TokKind::Colon))
      return expected(fmt::format("':' after '{}'", S.Name));
    if (!parseType(S.Type))
      return false;
    if (S.Kind == StmtKind::Param && accept(TokKind::Equal)) {
      S.HasEquals = true;
      if ((S.Value = parseCallLike("an initializer")) == NoExpr)
        return false;
    }
    return parseEnd(S.Kind == StmtKind::Param && !S.HasEquals
                        ? "'=' or end of line"
                        : "end of line");
  case TokKind::KwOutput:
    S.Kind = StmtKind::Output;
    consume();
    if (!parseName("after 'output'", S.Name, S.NameLoc))
      return false;
    if (accept(TokKind::Equal)) {
      S.HasEquals = true;
      if ((S.Value = parseExpr()) == NoExpr)
        return false;
      return parseEnd("an operator or end of line");
    }
    return parseEnd("'=' or end of line");
  case TokKind::KwTrain:
    S.Kind = StmtKind::Train;
    return parseTrain(S);
  case TokKind::Name:
    if (peek(1).Kind != TokKind::Equal)
      return parseUnknownStatement(S);
    S.Kind = StmtKind::Assign;
    S.Name = First.Text;
    S.NameLoc = First.L;
    consume();
    consume();
    S.HasEquals = true;
    if ((S.Value = parseExpr()) == NoExpr)
      return false;
    return parseEnd("an operator or end of line");
  default:
    return expected("a statement");
  }
}

/// Edit distance of two short words (for "did you mean").
static size_t editDistance(std::string_view A, std::string_view B) {
  std::vector<size_t> Row(B.size() + 1);
  for (size_t J = 0; J <= B.size(); ++J)
    Row[J] = J;
  for (size_t I = 1; I <= A.size(); ++I) {
    size_t Diag = Row[0];
    Row[0] = I;
    for (size_t J = 1; J <= B.size(); ++J) {
      size_t Up = Row[J];
      Row[J] = std::min(
          {Row[J] + 1, Row[J - 1] + 1, Diag + (A[I - 1] == B[J - 1] ? 0 : 1)});
      Diag = Up;
    }
  }
  return Row[B.size()];
}

/// A line starting with a name that is not `NAME = ...`.
bool Parser::parseUnknownStatement(Stmt &S) {
  const Token Word = tok();
  static constexpr std::array<std::string_view, 4> Settings = {
      "minimize", "optimizer", "clip_grad_norm", "schedule"};
  if (std::find(Settings.begin(), Settings.end(), Word.Text) !=
      Settings.end()) {
    error(Word.L,
          fmt::format("'{}' is only allowed in a train block", Word.Text));
    return false;
  }
  const Token &Next = peek(1);
  if (Next.Kind == TokKind::Name || isKeyword(Next.Kind)) {
    static constexpr std::array<std::string_view, 7> Keywords = {
        "model", "const", "input", "param", "output", "metric", "train"};
    std::string Msg =
        fmt::format("unknown keyword '{}'", abbreviate(Word.Text));
    if (Word.Text.size() <= 16)
      for (std::string_view K : Keywords)
        if (editDistance(Word.Text, K) <= 2) {
          Msg += fmt::format(" (did you mean '{}'?)", K);
          break;
        }
    error(Word.L, std::move(Msg));
    return false;
  }
  consume();
  return expected(fmt::format("'=' after '{}'", abbreviate(Word.Text)));
}

bool Parser::parseType(TypeExpr &T) {
  const Token DT = tok();
  switch (DT.Kind) {
  case TokKind::KwF32:
    T.DT = ir::DType::F32;
    break;
  case TokKind::KwF64:
    T.DT = ir::DType::F64;
    break;
  case TokKind::KwI32:
    T.DT = ir::DType::I32;
    break;
  case TokKind::Name:
    error(DT.L, fmt::format("unknown dtype '{}' (expected f32, f64 or i32)",
                            abbreviate(DT.Text)));
    return false;
  default:
    return expected("a type (f32, f64 or i32)");
  }
  T.L = DT.L;
  consume();
  Loc Open = tok().L;
  if (!accept(TokKind::LBracket))
    return expected(fmt::format("'[' after '{}'", DT.Text));
  if (accept(TokKind::RBracket))
    return true; // a scalar
  while (true) {
    ExprId D = parseExpr();
    if (D == NoExpr)
      return false;
    T.Dims.push_back(D);
    if (accept(TokKind::Comma)) {
      if (accept(TokKind::RBracket))
        return true;
      continue;
    }
    return expectClose(TokKind::RBracket, "',' or ']'", Open, "[");
  }
}

bool Parser::parseTrain(Stmt &S) {
  consume(); // train
  skipNewlines();
  Loc Open = tok().L;
  if (!accept(TokKind::LBrace))
    return expected("'{' after 'train'");
  std::vector<PendingDiag> *BlockDiags = Diags;
  S.DiagsBeforeSettings = S.Diags.size();
  while (true) {
    // Lexical errors met while looking for the next setting belong to it.
    TrainSetting T;
    Diags = &T.Diags;
    Depth = 0;
    skipNewlines();
    bool End = at(TokKind::RBrace) || at(TokKind::Eof);
    if (!End && !parseSetting(T)) {
      T.Failed = true;
      recover(/*InTrainBlock=*/true);
    }
    Diags = BlockDiags;
    if (End) {
      if (!T.Diags.empty()) {
        T.Failed = true;
        S.Settings.push_back(std::move(T));
      }
      break;
    }
    S.Settings.push_back(std::move(T));
  }
  if (at(TokKind::Eof)) {
    error(tok().L, "expected '}' at the end of the train block");
    note(Open, "to match this '{'");
    return false;
  }
  consume(); // }
  return parseEnd("end of line after '}'");
}

bool Parser::parseSetting(TrainSetting &T) {
  const Token Word = tok();
  T.L = Word.L;
  if (Word.Kind != TokKind::Name)
    return expected("a train setting");
  consume();
  T.KnownKind = Word.Text == "minimize" || Word.Text == "optimizer" ||
                Word.Text == "schedule" || Word.Text == "clip_grad_norm";
  if (Word.Text == "minimize") {
    T.Kind = SettingKind::Minimize;
    if (!parseName("after 'minimize'", T.Name, T.NameLoc))
      return false;
  } else if (Word.Text == "optimizer" || Word.Text == "schedule") {
    T.Kind = Word.Text == "optimizer" ? SettingKind::Optimizer
                                      : SettingKind::Schedule;
    T.Value =
        parseCallLike(Word.Text == "optimizer" ? "an optimizer" : "a schedule");
    if (T.Value == NoExpr)
      return false;
  } else if (Word.Text == "clip_grad_norm") {
    T.Kind = SettingKind::ClipGradNorm;
    if ((T.Value = parseExpr()) == NoExpr)
      return false;
  } else {
    error(Word.L,
          fmt::format("unknown train setting '{}'", abbreviate(Word.Text)));
    return false;
  }
  if (at(TokKind::RBrace) || at(TokKind::Eof) || accept(TokKind::Newline))
    return true;
  return expected(T.Kind == SettingKind::ClipGradNorm
                      ? "an operator or end of line"
                      : "end of line");
}

//===----------------------------------------------------------------------===//
// Expressions
//===----------------------------------------------------------------------===//

ExprId Parser::parseExpr() {
  ExprId L = parseMultiplicative();
  while (L != NoExpr && (at(TokKind::Plus) || at(TokKind::Minus))) {
    Token Op = consume();
    ExprId R = parseMultiplicative();
    if (R == NoExpr)
      return NoExpr;
    Expr E;
    E.Kind = ExprKind::Binary;
    E.Op = Op.Kind == TokKind::Plus ? BinaryOp::Add : BinaryOp::Sub;
    E.L = Op.L;
    E.Begin = AST.expr(L).Begin;
    E.Kids = {L, R};
    L = add(std::move(E));
  }
  return L;
}

ExprId Parser::parseMultiplicative() {
  ExprId L = parseUnary();
  while (L != NoExpr &&
         (at(TokKind::Star) || at(TokKind::Slash) || at(TokKind::At))) {
    Token Op = consume();
    ExprId R = parseUnary();
    if (R == NoExpr)
      return NoExpr;
    Expr E;
    E.Kind = ExprKind::Binary;
    E.Op = Op.Kind == TokKind::Star    ? BinaryOp::Mul
           : Op.Kind == TokKind::Slash ? BinaryOp::Div
                                       : BinaryOp::Matmul;
    E.L = Op.L;
    E.Begin = AST.expr(L).Begin;
    E.Kids = {L, R};
    L = add(std::move(E));
  }
  return L;
}

ExprId Parser::parseUnary() {
  // A run of unary minus signs is read by a loop; each still counts as one
  // level of nesting.
  std::vector<Loc> Minus;
  while (at(TokKind::Minus)) {
    Loc L = consume().L;
    Minus.push_back(L);
    if (!enter(L)) {
      Depth -= static_cast<unsigned>(Minus.size());
      return NoExpr;
    }
  }
  ExprId Operand = parsePrimary();
  Depth -= static_cast<unsigned>(Minus.size());
  if (Operand == NoExpr)
    return NoExpr;
  for (size_t I = Minus.size(); I-- > 0;) {
    Expr E;
    E.Kind = ExprKind::Neg;
    E.L = E.Begin = Minus[I];
    E.Kids = {Operand};
    Operand = add(std::move(E));
  }
  return Operand;
}

ExprId Parser::parsePrimary() {
  const Token T = tok();
  Expr E;
  E.L = E.Begin = T.L;
  E.Text = T.Text;
  switch (T.Kind) {
  case TokKind::Int:
  case TokKind::Float:
    consume();
    E.Kind = ExprKind::Number;
    E.Num = T.Num;
    return add(std::move(E));
  case TokKind::Name:
    if (peek(1).Kind == TokKind::LParen)
      return parseCall();
    consume();
    E.Kind = ExprKind::Name;
    return add(std::move(E));
  case TokKind::KwTrue:
  case TokKind::KwFalse:
    consume();
    E.Kind = ExprKind::Bool;
    E.BoolValue = T.Kind == TokKind::KwTrue;
    return add(std::move(E));
  case TokKind::KwF32:
  case TokKind::KwF64:
  case TokKind::KwI32:
    consume();
    E.Kind = ExprKind::DType;
    E.DT = *ir::parseDType(T.Text);
    return add(std::move(E));
  case TokKind::LParen: {
    if (!enter(T.L)) {
      leave();
      return NoExpr;
    }
    consume();
    ExprId Inner = parseExpr();
    bool Ok = Inner != NoExpr && expectClose(TokKind::RParen, "')'", T.L, "(");
    leave();
    return Ok ? Inner : NoExpr;
  }
  case TokKind::LBracket:
    return parseList();
  default:
    if (isKeyword(T.Kind)) {
      error(T.L, fmt::format("'{}' is a keyword and cannot be used as a name",
                             T.Text));
      return NoExpr;
    }
    expected("an expression");
    return NoExpr;
  }
}

ExprId Parser::parseList() {
  Token Open = consume();
  Expr E;
  E.Kind = ExprKind::List;
  E.L = E.Begin = Open.L;
  if (!enter(Open.L)) {
    leave();
    return NoExpr;
  }
  bool Ok = true;
  while (!accept(TokKind::RBracket)) {
    ExprId Elt = parseExpr();
    if (Elt == NoExpr) {
      Ok = false;
      break;
    }
    E.Kids.push_back(Elt);
    if (accept(TokKind::Comma))
      continue;
    if (!expectClose(TokKind::RBracket, "',' or ']'", Open.L, "[")) {
      Ok = false;
    }
    break;
  }
  leave();
  return Ok ? add(std::move(E)) : NoExpr;
}

ExprId Parser::parseCall() {
  Token Callee = consume();
  Token Open = consume(); // (
  Expr E;
  E.Kind = ExprKind::Call;
  E.L = E.Begin = Callee.L;
  E.Text = Callee.Text;
  if (!enter(Callee.L)) {
    leave();
    return NoExpr;
  }
  bool Ok = true, SeenKeyword = false;
  while (!accept(TokKind::RParen)) {
    std::string_view Keyword;
    Loc KeywordLoc;
    if (at(TokKind::Name) && peek(1).Kind == TokKind::Equal) {
      Token K = consume();
      consume();
      Keyword = K.Text;
      KeywordLoc = K.L;
      SeenKeyword = true;
    } else if (SeenKeyword) {
      error(tok().L, "positional argument follows keyword argument");
      Ok = false;
      break;
    }
    ExprId Arg = parseExpr();
    if (Arg == NoExpr) {
      Ok = false;
      break;
    }
    E.Kids.push_back(Arg);
    E.Keywords.push_back(Keyword);
    E.KeywordLocs.push_back(Keyword.empty() ? AST.expr(Arg).Begin : KeywordLoc);
    if (accept(TokKind::Comma))
      continue;
    if (!expectClose(TokKind::RParen, "',' or ')'", Open.L, "("))
      Ok = false;
    break;
  }
  leave();
  return Ok ? add(std::move(E)) : NoExpr;
}

ExprId Parser::parseCallLike(std::string_view What) {
  const Token T = tok();
  if (T.Kind != TokKind::Name) {
    expected(fmt::format("{} name", What));
    return NoExpr;
  }
  if (peek(1).Kind == TokKind::LParen)
    return parseCall();
  consume();
  Expr E;
  E.Kind = ExprKind::Name;
  E.L = E.Begin = T.L;
  E.Text = T.Text;
  return add(std::move(E));
}

} // namespace gradc::frontend
