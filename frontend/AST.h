//===- frontend/AST.h - The syntax tree of a model file ---------*- C++ -*-===//
//
// Expressions live in one arena (a vector indexed by ExprId) so that no
// deep tree is ever destroyed or walked recursively: a statement's
// expressions occupy a contiguous id range, and children always have smaller
// ids than their parent. Statements carry the diagnostics the parser found
// in them, so the front end can report everything in source order.
//
// Names and literal texts are views into the source text, which must outlive
// the tree.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "frontend/Lexer.h"
#include "ir/Types.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gradc::frontend {

using ExprId = uint32_t;
constexpr ExprId NoExpr = UINT32_MAX;

enum class ExprKind : uint8_t {
  Number, // 64, 0.5
  Name,   // x
  Bool,   // true, false
  DType,  // f32, f64, i32 (as attribute values)
  Neg,    // -x
  Binary, // a + b, a @ b
  Call,   // op(args, key = value)
  List,   // [a, b]
};

enum class BinaryOp : uint8_t { Add, Sub, Mul, Div, Matmul };
std::string_view binaryOpSpelling(BinaryOp Op);

struct Expr {
  ExprKind Kind = ExprKind::Number;
  BinaryOp Op = BinaryOp::Add; // Binary
  bool BoolValue = false;      // Bool
  ir::DType DT = ir::DType::F32;
  Loc L;                 // the operator, name, callee, literal or '[' token
  Loc Begin;             // the first token of the expression
  std::string_view Text; // Name: the name; Call: the callee; Number: literal
  NumberValue Num;       // Number
  /// Neg: the operand; Binary: lhs, rhs; Call: the arguments; List: the
  /// elements.
  std::vector<ExprId> Kids;
  /// Call: per argument, the keyword ("" for a positional argument) and its
  /// location.
  std::vector<std::string_view> Keywords;
  std::vector<Loc> KeywordLocs;
};

enum class StmtKind : uint8_t {
  Model,  // model NAME
  Const,  // const NAME = EXPR
  Input,  // input NAME : TYPE
  Param,  // param NAME : TYPE [= INIT]
  Assign, // NAME = EXPR
  Output, // output NAME [= EXPR]
  Metric, // metric NAME = EXPR
  Train,  // train { ... }
  Error,  // a line that is not a statement
};

struct TypeExpr {
  ir::DType DT = ir::DType::F32;
  Loc L; // the dtype token
  std::vector<ExprId> Dims;
};

enum class SettingKind : uint8_t {
  Minimize,
  Optimizer,
  ClipGradNorm,
  Schedule
};
std::string_view settingName(SettingKind K);

/// One line of a train block.
struct TrainSetting {
  SettingKind Kind = SettingKind::Minimize;
  bool KnownKind = false; // the setting's word was recognized
  Loc L;                  // the setting's word
  std::string_view Name;  // minimize: the loss name
  Loc NameLoc;
  ExprId Value = NoExpr; // optimizer/schedule: a Name or Call; clip: EXPR
  bool Failed = false;
  std::vector<PendingDiag> Diags;
};

struct Stmt {
  StmtKind Kind = StmtKind::Error;
  Loc L;                 // the keyword, or the name of `NAME = EXPR`
  std::string_view Name; // the name the statement defines or marks
  Loc NameLoc;
  ExprId Value = NoExpr;  // the expression; a param's initializer
  bool HasEquals = false; // output: `output NAME = EXPR` (defines NAME)
  TypeExpr Type;          // input, param
  std::vector<TrainSetting> Settings; // train
  /// train: Diags[0, DiagsBeforeSettings) come before the settings' own
  /// diagnostics, the rest after them.
  size_t DiagsBeforeSettings = 0;
  /// The syntax errors in the statement; when Failed, the statement is not
  /// evaluated and the name it defines (if known) is poisoned.
  bool Failed = false;
  std::vector<PendingDiag> Diags;
  /// The statement's expressions: ids [ExprBegin, ExprEnd).
  ExprId ExprBegin = 0, ExprEnd = 0;

  /// Whether the statement defines Name (rather than only marking it).
  bool definesName() const;
};

struct ModuleAST {
  std::vector<Expr> Exprs;
  std::vector<Stmt> Stmts;

  const Expr &expr(ExprId E) const { return Exprs[E]; }
};

/// An S-expression for tests and debugging: "(add (neg a) (call relu x))",
/// built without recursion.
std::string formatExpr(const ModuleAST &AST, ExprId E);

} // namespace gradc::frontend
