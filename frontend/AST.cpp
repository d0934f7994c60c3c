//===- frontend/AST.cpp - Syntax tree helpers -----------------------------===//
//
// Names of operators and settings, and an iterative S-expression printer.
//
//===----------------------------------------------------------------------===//
#include "frontend/AST.h"

namespace gradc::frontend {

std::string_view binaryOpSpelling(BinaryOp Op) {
  switch (Op) {
  case BinaryOp::Add:
    return "+";
  case BinaryOp::Sub:
    return "-";
  case BinaryOp::Mul:
    return "*";
  case BinaryOp::Div:
    return "/";
  case BinaryOp::Matmul:
    return "@";
  }
  return "?";
}

std::string_view settingName(SettingKind K) {
  switch (K) {
  case SettingKind::Minimize:
    return "minimize";
  case SettingKind::Optimizer:
    return "optimizer";
  case SettingKind::ClipGradNorm:
    return "clip_grad_norm";
  case SettingKind::Schedule:
    return "schedule";
  }
  return "?";
}

bool Stmt::definesName() const {
  switch (Kind) {
  case StmtKind::Const:
  case StmtKind::Input:
  case StmtKind::Param:
  case StmtKind::Assign:
  case StmtKind::Metric:
    return !Name.empty();
  case StmtKind::Output:
    return !Name.empty() && HasEquals;
  default:
    return false;
  }
}

static std::string_view binaryOpName(BinaryOp Op) {
  switch (Op) {
  case BinaryOp::Add:
    return "add";
  case BinaryOp::Sub:
    return "sub";
  case BinaryOp::Mul:
    return "mul";
  case BinaryOp::Div:
    return "div";
  case BinaryOp::Matmul:
    return "matmul";
  }
  return "?";
}

std::string formatExpr(const ModuleAST &AST, ExprId Root) {
  // Post-order with explicit stacks: binary chains can be arbitrarily deep.
  std::vector<std::pair<ExprId, bool>> Work{{Root, false}};
  std::vector<std::string> Done;
  while (!Work.empty()) {
    auto [Id, Visited] = Work.back();
    Work.pop_back();
    const Expr &E = AST.expr(Id);
    if (!Visited) {
      Work.push_back({Id, true});
      for (size_t I = E.Kids.size(); I-- > 0;)
        Work.push_back({E.Kids[I], false});
      continue;
    }
    size_t N = E.Kids.size();
    std::vector<std::string> Kids(std::make_move_iterator(Done.end() - N),
                                  std::make_move_iterator(Done.end()));
    Done.resize(Done.size() - N);
    std::string S;
    switch (E.Kind) {
    case ExprKind::Number:
    case ExprKind::Name:
      S = std::string(E.Text);
      break;
    case ExprKind::Bool:
      S = E.BoolValue ? "true" : "false";
      break;
    case ExprKind::DType:
      S = std::string(ir::dtypeName(E.DT));
      break;
    case ExprKind::Neg:
      S = "(neg " + Kids[0] + ")";
      break;
    case ExprKind::Binary:
      S = "(" + std::string(binaryOpName(E.Op)) + " " + Kids[0] + " " +
          Kids[1] + ")";
      break;
    case ExprKind::Call:
      S = "(call " + std::string(E.Text);
      for (size_t I = 0; I < N; ++I) {
        S += " ";
        if (!E.Keywords[I].empty())
          S += std::string(E.Keywords[I]) + "=";
        S += Kids[I];
      }
      S += ")";
      break;
    case ExprKind::List:
      S = "[";
      for (size_t I = 0; I < N; ++I)
        S += (I ? " " : "") + Kids[I];
      S += "]";
      break;
    }
    Done.push_back(std::move(S));
  }
  return Done.empty() ? std::string() : std::move(Done.back());
}

} // namespace gradc::frontend
