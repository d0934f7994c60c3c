//===- frontend/IRGen.h - Syntax tree to graph IR ---------------*- C++ -*-===//
//
// IRGen walks the statements in order and builds the parsed-stage module:
// constants (with -D overrides) are folded, shapes evaluated, names resolved
// (use before definition, cycles and redefinitions are errors), numbers take
// the dtype of the tensor they meet, calls bind operands and attributes, and
// every node is created through ir::Builder so its shape rule runs at once.
//
// Expressions are evaluated with an explicit stack (IRGenExpr.cpp), never by
// recursion over the tree. Diagnostics are reported in source order: each
// statement's syntax errors, then its semantic ones.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "frontend/AST.h"
#include "frontend/Frontend.h"
#include "ir/Builder.h"

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>

namespace gradc::frontend {

/// Builds the module for \p AST; null when an error was reported.
std::unique_ptr<ir::Module> generateIR(const ModuleAST &AST,
                                       const SourceFile &Src,
                                       std::span<const Define> Defines,
                                       DiagnosticEngine &Diags);

/// What a name stands for.
struct Binding {
  enum Kind : uint8_t { Const, Symbol, Tensor, Poisoned } K = Poisoned;
  Loc DefLoc;
  NumberValue Num;                 // Const
  size_t SymbolIndex = 0;          // Symbol: index in Module::Symbols
  std::optional<ir::ValueId> Node; // Tensor; Symbol once referenced
};

/// The value of an expression while it is evaluated.
struct Value {
  enum Kind : uint8_t { Number, Tensor, List, Bool, DType } K = Number;
  ExprId E = NoExpr; // the expression it came from
  NumberValue Num;
  ir::ValueId Node = 0;
  bool B = false;
  ir::DType DT = ir::DType::F32;
  std::vector<Value> Elts;
};

/// Const: numbers and consts only (const statements, dimensions, clip).
/// Attr: also lists, true/false and dtypes (initializer, optimizer and
/// schedule arguments). Tensor: everything.
enum class EvalMode : uint8_t { Const, Attr, Tensor };

class IRGen {
public:
  IRGen(const ModuleAST &AST, const SourceFile &Src,
        std::span<const Define> Defines, DiagnosticEngine &Diags);
  std::unique_ptr<ir::Module> run();

private:
  //===--- Statements (IRGen.cpp) ---------------------------------------===//
  void checkDefines();
  void genStatement(size_t I);
  void genModel(const Stmt &S);
  void genConst(const Stmt &S);
  void genSymbol(const Stmt &S);
  void genTensor(const Stmt &S);
  void genOutputMark(const Stmt &S);
  void genTrain(const Stmt &S);
  bool genSetting(const TrainSetting &T, ir::TrainConfig &C);
  void finish(bool WarnUnused);

  void emit(std::span<const PendingDiag> Pending);
  void poison(std::string_view Name, Loc L);
  /// Reports a redefinition of \p S's name; true if it is one.
  bool isRedefinition(const Stmt &S);
  std::optional<ir::TensorType> evalType(const TypeExpr &T);
  enum class CallKind { Initializer, Optimizer, Schedule };
  std::optional<ir::Call> evalCallSpec(ExprId E, CallKind Kind);
  bool checkCallArgs(const ir::Call &C, CallKind Kind, ExprId E);
  /// A tensor value for a name marked or minimized; null after an error.
  std::optional<ir::ValueId> tensorForName(std::string_view Name, Loc L);
  bool dependsOnParam(ir::ValueId V) const;

  //===--- Names (IRGen.cpp) --------------------------------------------===//
  /// The binding of \p Name used at \p L; null after reporting unknown
  /// names, uses before definition and cycles, and for poisoned names.
  const Binding *resolve(std::string_view Name, Loc L);
  /// A chain of not-yet-defined names from \p Start back to \p Target.
  std::vector<std::string_view> findCycle(std::string_view Start,
                                          std::string_view Target) const;
  /// The node of a symbol, created at its first use.
  ir::ValueId symbolNode(Binding &B);

  //===--- Expressions (IRGenExpr.cpp) ----------------------------------===//
  std::optional<Value> eval(ExprId Root, EvalMode Mode);
  bool preVisit(ExprId Id, EvalMode Mode);
  std::optional<Value> evalNode(ExprId Id, EvalMode Mode,
                                std::vector<Value> &Kids);
  std::optional<Value> evalName(const Expr &E, EvalMode Mode);
  std::optional<Value> evalNeg(const Expr &E, Value &X);
  std::optional<Value> evalBinary(const Expr &E, Value &A, Value &B);
  std::optional<Value> evalCall(const Expr &E, std::vector<Value> &Args);
  std::optional<NumberValue> fold(const Expr &E, NumberValue A, NumberValue B);
  /// Makes \p V a tensor: numbers become scalar constants of dtype \p DT.
  std::optional<ir::ValueId> toTensor(const Value &V, ir::DType DT);
  std::optional<ir::AttrValue> toAttr(const Value &V);
  std::optional<ir::ValueId> createOp(ir::Op O, std::vector<ir::ValueId> Ops,
                                      ir::AttrList Attrs, Loc L,
                                      std::span<const Loc> OperandLocs = {});
  std::optional<ir::ValueId> buildMatmul(ir::ValueId A, ir::ValueId B, Loc L,
                                         std::span<const Loc> OperandLocs);
  std::optional<ir::ValueId> buildReshape(ir::ValueId V, ir::Shape S, Loc L);
  /// Binds the final value of `NAME = EXPR` to a node named \p Name.
  std::optional<ir::ValueId> nameValue(const Value &V, std::string_view Name,
                                       size_t NodesBefore);
  std::string describeValue(const Value &V) const;
  Loc beginOf(const Value &V) const;
  Loc locOf(const Value &V) const;

  template <typename... Args>
  void error(Loc L, fmt::format_string<Args...> F, Args &&...A) {
    Diags.error(L, F, std::forward<Args>(A)...);
  }
  template <typename... Args>
  void note(Loc L, fmt::format_string<Args...> F, Args &&...A) {
    Diags.note(L, F, std::forward<Args>(A)...);
  }

  const ModuleAST &AST;
  const SourceFile &Src;
  std::span<const Define> Defines;
  DiagnosticEngine &Diags;

  std::unique_ptr<ir::Module> M;
  ir::Function *F = nullptr;
  std::optional<ir::Builder> B;

  std::unordered_map<std::string_view, Binding> Bindings;
  /// The statement that first defines each name.
  std::unordered_map<std::string_view, size_t> FirstDef;
  std::unordered_map<std::string, NumberValue> Overrides;
  std::unordered_map<std::string_view, Loc> Outputs;
  /// Names in a reported cycle: their statements are skipped.
  std::unordered_set<std::string_view> InCycle;
  Loc ModelLoc, TrainLoc;
  size_t CurStmt = 0;
  std::string_view CurName; // the name the current statement defines
};

} // namespace gradc::frontend
