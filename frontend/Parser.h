//===- frontend/Parser.h - Model text to syntax tree ------------*- C++ -*-===//
//
// A recursive-descent parser for the model language (SPEC.md §1). Binary
// operators are parsed by loops (precedence, tightest first: calls and
// parentheses; unary '-'; '@' '*' '/'; '+' '-'; all left-associative), and
// every construct that nests (parentheses, unary minus, calls, lists) counts
// against a limit of 256 levels, so no input can exhaust the stack.
//
// The parser never prints: each statement records its own diagnostics, and
// after an error the parser skips to the next statement.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "frontend/AST.h"
#include "frontend/Lexer.h"

#include <deque>

namespace gradc::frontend {

/// The deepest nesting of an expression.
constexpr unsigned MaxNestingDepth = 256;

/// Parses a whole model file. \p Text must outlive the result.
ModuleAST parseModel(std::string_view Text);

class Parser {
public:
  explicit Parser(std::string_view Text) : Lex(Text) {}
  ModuleAST parse();

private:
  // Tokens.
  const Token &peek(size_t N = 0);
  const Token &tok() { return peek(0); }
  bool at(TokKind K) { return tok().Kind == K; }
  Token consume();
  bool accept(TokKind K);
  void skipNewlines();

  // Diagnostics, recorded into the current statement.
  void error(Loc L, std::string Msg);
  void note(Loc L, std::string Msg);
  /// "expected WHAT, got TOKEN" at the current token (silent when the token
  /// is a lexical error, already reported). Always returns false.
  bool expected(std::string_view What);
  /// Consumes a closing bracket or reports it missing, with a note at the
  /// opening one when that is on another line.
  bool expectClose(TokKind Close, std::string_view Expected, Loc Open,
                   std::string_view OpenSpelling);
  /// Skips to the next statement (quietly: no lexical errors recorded).
  void recover(bool InTrainBlock);

  // Statements.
  void parseStatement(Stmt &S);
  bool parseStatementBody(Stmt &S);
  bool parseUnknownStatement(Stmt &S);
  bool parseEnd(std::string_view What);
  bool parseName(std::string_view Context, std::string_view &Name, Loc &L);
  bool parseType(TypeExpr &T);
  bool parseTrain(Stmt &S);
  bool parseSetting(TrainSetting &T);

  // Expressions. Each returns NoExpr after reporting an error.
  ExprId parseExpr();
  ExprId parseMultiplicative();
  ExprId parseUnary();
  ExprId parsePrimary();
  ExprId parseCall();
  ExprId parseList();
  /// NAME or NAME(args): initializers, optimizers, schedules.
  ExprId parseCallLike(std::string_view What);
  ExprId add(Expr E);
  /// Enters one nesting level at \p L; false (after an error) beyond the
  /// limit. Every enter() is paired with a leave().
  bool enter(Loc L);
  void leave() { --Depth; }

  Lexer Lex;
  std::deque<Token> Ahead;
  ModuleAST AST;
  std::vector<PendingDiag> *Diags = nullptr;
  bool Quiet = false;
  unsigned Depth = 0;
};

} // namespace gradc::frontend
