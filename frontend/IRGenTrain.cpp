//===- frontend/IRGenTrain.cpp - Initializers and the train block ---------===//
//
// IRGen for the calls that are not ops: initializers, optimizers and
// schedules (bound with ir::bindAttrs against the tables in ir/Attr.cpp and
// range-checked), and the train block's settings.
//
//===----------------------------------------------------------------------===//
#include "frontend/IRGen.h"

namespace gradc::frontend {

using namespace ir;

std::optional<Call> IRGen::evalCallSpec(ExprId Id, CallKind Kind) {
  const Expr &E = AST.expr(Id);
  const CallSpec *Spec = nullptr;
  std::span<const CallSpec> All;
  std::string_view What;
  switch (Kind) {
  case CallKind::Initializer:
    Spec = lookupInitializer(E.Text), All = allInitializers(),
    What = "initializer";
    break;
  case CallKind::Optimizer:
    Spec = lookupOptimizer(E.Text), All = allOptimizers(), What = "optimizer";
    break;
  case CallKind::Schedule:
    Spec = lookupSchedule(E.Text), All = allSchedules(), What = "schedule";
    break;
  }
  if (!Spec) {
    std::vector<std::string_view> Names;
    for (const CallSpec &C : All)
      Names.push_back(C.Name);
    error(E.L, "unknown {} '{}' (expected one of: {})", What, E.Text,
          fmt::join(Names, ", "));
    return std::nullopt;
  }
  std::vector<AttrValue> Positional;
  std::vector<NamedAttrValue> Keywords;
  std::vector<Loc> ArgLocs;
  if (E.Kind == ExprKind::Call) {
    for (size_t I = 0; I < E.Kids.size(); ++I) {
      std::optional<Value> V = eval(E.Kids[I], EvalMode::Attr);
      if (!V)
        return std::nullopt;
      std::optional<AttrValue> A = toAttr(*V);
      if (!A)
        return std::nullopt;
      if (E.Keywords[I].empty())
        Positional.push_back(std::move(*A));
      else
        Keywords.push_back({std::string(E.Keywords[I]), std::move(*A)});
    }
    // bindAttrs numbers arguments positional first, then keywords.
    for (size_t I = 0; I < E.Kids.size(); ++I)
      if (E.Keywords[I].empty())
        ArgLocs.push_back(AST.expr(E.Kids[I]).Begin);
    for (size_t I = 0; I < E.Kids.size(); ++I)
      if (!E.Keywords[I].empty())
        ArgLocs.push_back(E.KeywordLocs[I]);
  }
  Call C;
  C.Name = std::string(E.Text);
  std::string Err;
  int ErrArg = -1;
  if (!bindAttrs(fmt::format("'{}'", E.Text), Spec->Args, Positional, Keywords,
                 C.Args, Err, ErrArg)) {
    error(ErrArg >= 0 && size_t(ErrArg) < ArgLocs.size() ? ArgLocs[ErrArg]
                                                         : E.L,
          "{}", Err);
    return std::nullopt;
  }
  if (!checkCallArgs(C, Kind, Id))
    return std::nullopt;
  return C;
}

bool IRGen::checkCallArgs(const Call &C, CallKind Kind, ExprId Id) {
  const Expr &E = AST.expr(Id);
  // Where an argument was written: its keyword, its position, or the name.
  auto LocOf = [&](std::string_view Arg) {
    const CallSpec *Spec =
        Kind == CallKind::Initializer ? lookupInitializer(C.Name)
        : Kind == CallKind::Optimizer ? lookupOptimizer(C.Name)
                                      : lookupSchedule(C.Name);
    size_t Index = 0;
    while (Index < Spec->Args.size() && Spec->Args[Index].Name != Arg)
      ++Index;
    size_t Pos = 0;
    for (size_t I = 0; I < E.Kids.size(); ++I) {
      if (E.Keywords[I] == Arg)
        return E.KeywordLocs[I];
      if (E.Keywords[I].empty() && Pos++ == Index)
        return AST.expr(E.Kids[I]).Begin;
    }
    return E.L;
  };
  auto Bad = [&](std::string_view Arg, std::string_view Rule) {
    error(LocOf(Arg), "'{}' of '{}' must be {}, got {}", Arg, C.Name, Rule,
          formatAttrValue(*findAttr(C.Args, Arg)));
    return false;
  };
  for (const Attr &A : C.Args) {
    double D = 0;
    if (auto *P = std::get_if<double>(&A.Value))
      D = *P;
    else if (auto *I = std::get_if<int64_t>(&A.Value))
      D = static_cast<double>(*I);
    else
      continue;
    std::string_view N = A.Name;
    if (N == "lr" && !(D > 0))
      return Bad(N, "greater than 0");
    if ((N == "momentum" || N == "weight_decay" || N == "eps" ||
         N == "min_lr" || N == "std") &&
        !(D >= 0))
      return Bad(N, "at least 0");
    if ((N == "beta1" || N == "beta2") && !(D >= 0 && D < 1))
      return Bad(N, "in [0, 1)");
    if (N == "alpha" && !(D >= 0 && D <= 1))
      return Bad(N, "in [0, 1]");
    if ((N == "every" || N == "steps") && !(D >= 1))
      return Bad(N, "at least 1");
    if (N == "gamma" && !(D > 0))
      return Bad(N, "greater than 0");
  }
  if (C.Name == "uniform" && getFloat(C.Args, "lo") > getFloat(C.Args, "hi")) {
    error(E.L, "'uniform' needs lo <= hi, got lo = {}, hi = {}",
          formatAttrValue(getFloat(C.Args, "lo")),
          formatAttrValue(getFloat(C.Args, "hi")));
    return false;
  }
  if (C.Name == "sgd" && getBool(C.Args, "nesterov") &&
      !(getFloat(C.Args, "momentum") > 0)) {
    error(LocOf("nesterov"),
          "'nesterov' of 'sgd' needs a momentum greater than 0");
    return false;
  }
  return true;
}

void IRGen::genTrain(const Stmt &S) {
  bool Duplicate = TrainLoc.isValid();
  if (Duplicate)
    error(S.L, "duplicate train block (a model has at most one)");
  else
    TrainLoc = S.L;
  TrainConfig C;
  Loc Seen[4];
  bool Attempted[4] = {false, false, false, false};
  for (const TrainSetting &T : S.Settings) {
    if (Diags.tooManyErrors())
      return;
    emit(T.Diags);
    size_t K = static_cast<size_t>(T.Kind);
    if (T.KnownKind)
      Attempted[K] = true;
    if (T.Failed)
      continue;
    if (Seen[K].isValid()) {
      error(T.L, "duplicate train setting '{}'", settingName(T.Kind));
      note(Seen[K], "previous setting is here");
      continue;
    }
    Seen[K] = T.L;
    genSetting(T, C);
  }
  emit(std::span(S.Diags).subspan(
      std::min(S.DiagsBeforeSettings, S.Diags.size())));
  for (SettingKind K : {SettingKind::Minimize, SettingKind::Optimizer})
    if (!Attempted[static_cast<size_t>(K)])
      error(S.L, "the train block has no '{}' setting", settingName(K));
  if (!Duplicate)
    M->Train = std::move(C);
}

bool IRGen::genSetting(const TrainSetting &T, TrainConfig &C) {
  switch (T.Kind) {
  case SettingKind::Minimize: {
    std::optional<ValueId> V = tensorForName(T.Name, T.NameLoc);
    if (!V)
      return false;
    const TensorType &Ty = F->type(*V);
    if (!Ty.isScalar() || !isFloat(Ty.Elt)) {
      error(T.NameLoc, "'{}' must be a {}scalar to be minimized, but it is {}",
            T.Name, Ty.isScalar() ? "float " : "", formatType(Ty));
      return false;
    }
    if (!dependsOnParam(*V)) {
      error(T.NameLoc, "'{}' does not depend on any param", T.Name);
      return false;
    }
    C.Minimize = std::string(T.Name);
    C.MinimizeLoc = T.NameLoc;
    return true;
  }
  case SettingKind::Optimizer:
  case SettingKind::Schedule: {
    bool IsOpt = T.Kind == SettingKind::Optimizer;
    std::optional<Call> Spec =
        evalCallSpec(T.Value, IsOpt ? CallKind::Optimizer : CallKind::Schedule);
    if (!Spec)
      return false;
    if (IsOpt) {
      C.Optimizer = std::move(*Spec);
      C.OptimizerLoc = AST.expr(T.Value).L;
    } else {
      C.Schedule = std::move(*Spec);
    }
    return true;
  }
  case SettingKind::ClipGradNorm: {
    std::optional<Value> V = eval(T.Value, EvalMode::Const);
    if (!V)
      return false;
    if (!(V->Num.asDouble() > 0)) {
      error(AST.expr(T.Value).Begin,
            "'clip_grad_norm' must be greater than 0, got {}",
            formatNumber(V->Num));
      return false;
    }
    C.ClipGradNorm = V->Num.asDouble();
    return true;
  }
  }
  return false;
}

bool IRGen::dependsOnParam(ValueId Root) const {
  std::vector<bool> Seen(F->Nodes.size());
  std::vector<ValueId> Work{Root};
  Seen[Root] = true;
  while (!Work.empty()) {
    ValueId V = Work.back();
    Work.pop_back();
    const Node &N = F->node(V);
    if (N.Opcode == Op::Param)
      return true;
    for (ValueId O : N.Operands)
      if (!Seen[O]) {
        Seen[O] = true;
        Work.push_back(O);
      }
  }
  return false;
}

} // namespace gradc::frontend
