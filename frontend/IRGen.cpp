//===- frontend/IRGen.cpp - Statements and names --------------------------===//
//
// The statement half of IRGen: declarations, tensor definitions, outputs,
// metrics, -D overrides, name resolution (use before definition, cycles) and
// the end-of-file checks. Also loadModel(). The train block is in
// IRGenTrain.cpp, expressions in IRGenExpr.cpp.
//
//===----------------------------------------------------------------------===//
#include "frontend/IRGen.h"
#include "frontend/Parser.h"

#include <algorithm>
#include <deque>

namespace gradc {

std::unique_ptr<ir::Module> loadModel(const SourceFile &Src,
                                      std::span<const Define> Defines,
                                      DiagnosticEngine &Diags) {
  Diags.setSource(&Src);
  frontend::ModuleAST AST = frontend::parseModel(Src.text());
  return frontend::generateIR(AST, Src, Defines, Diags);
}

} // namespace gradc

namespace gradc::frontend {

using namespace ir;

std::unique_ptr<Module> generateIR(const ModuleAST &AST, const SourceFile &Src,
                                   std::span<const Define> Defines,
                                   DiagnosticEngine &Diags) {
  return IRGen(AST, Src, Defines, Diags).run();
}

IRGen::IRGen(const ModuleAST &AST, const SourceFile &Src,
             std::span<const Define> Defines, DiagnosticEngine &Diags)
    : AST(AST), Src(Src), Defines(Defines), Diags(Diags) {}

std::unique_ptr<Module> IRGen::run() {
  unsigned ErrorsBefore = Diags.numErrors();
  M = std::make_unique<Module>();
  M->SourceName = Src.name();
  M->Functions.push_back(Function{"model", {}, {}, {}});
  F = &M->Functions.front();
  B.emplace(*F);

  for (size_t I = 0; I < AST.Stmts.size(); ++I)
    if (AST.Stmts[I].definesName())
      FirstDef.try_emplace(AST.Stmts[I].Name, I);

  checkDefines();
  size_t I = 0;
  for (; I < AST.Stmts.size() && !Diags.tooManyErrors(); ++I)
    genStatement(I);
  if (I < AST.Stmts.size())
    // Past the limit the engine drops errors and says once that it stops.
    error(Loc{}, "too many errors");
  // After an error, a statement may not have been read far enough to see
  // its uses: "never used" warnings would be noise.
  finish(/*WarnUnused=*/Diags.numErrors() == ErrorsBefore);
  if (Diags.numErrors() != ErrorsBefore)
    return nullptr;
  return std::move(M);
}

void IRGen::emit(std::span<const PendingDiag> Pending) {
  for (const PendingDiag &P : Pending)
    Diags.report(P.Sev, P.L, P.Msg);
}

void IRGen::checkDefines() {
  // Command-line problems have no place in the file: report them as
  // "gradc: error: ...".
  const SourceFile *Saved = Diags.source();
  Diags.setSource(nullptr);
  for (const Define &D : Defines) {
    std::string_view V = D.Value;
    bool Negative = false;
    if (!V.empty() && (V[0] == '+' || V[0] == '-')) {
      Negative = V[0] == '-';
      V.remove_prefix(1);
    }
    NumberValue N;
    std::string Err;
    if (!parseNumberLiteral(V, N, Err)) {
      error(Loc{}, "-D {}={}: {}", D.Name, D.Value,
            V.empty() ? std::string("expected a number") : Err);
      continue;
    }
    if (Negative) {
      if (N.IsInt)
        N.Int = -N.Int;
      else
        N.Float = -N.Float;
    }
    auto It = FirstDef.find(D.Name);
    if (It == FirstDef.end() || AST.Stmts[It->second].Kind != StmtKind::Const) {
      error(Loc{}, "-D {}={}: the model has no constant '{}'", D.Name, D.Value,
            D.Name);
      continue;
    }
    Overrides[D.Name] = N;
  }
  Diags.setSource(Saved);
}

void IRGen::poison(std::string_view Name, Loc L) {
  if (Name.empty())
    return;
  Binding P;
  P.K = Binding::Poisoned;
  P.DefLoc = L;
  Bindings.try_emplace(Name, P);
}

bool IRGen::isRedefinition(const Stmt &S) {
  auto It = Bindings.find(S.Name);
  if (It == Bindings.end())
    return false;
  error(S.NameLoc, "redefinition of '{}'", S.Name);
  note(It->second.DefLoc, "previous definition is here");
  return true;
}

void IRGen::genStatement(size_t I) {
  const Stmt &S = AST.Stmts[I];
  CurStmt = I;
  CurName = S.definesName() ? S.Name : std::string_view();
  // A train block's own diagnostics surround those of its settings.
  size_t Before = S.Kind == StmtKind::Train
                      ? std::min(S.DiagsBeforeSettings, S.Diags.size())
                      : S.Diags.size();
  emit(std::span(S.Diags).first(Before));
  if (S.definesName() && FirstDef.at(S.Name) == I && InCycle.count(S.Name))
    return; // reported with the cycle
  if (S.Failed) {
    for (const TrainSetting &T : S.Settings)
      emit(T.Diags);
    emit(std::span(S.Diags).subspan(Before));
    if (S.definesName())
      poison(S.Name, S.NameLoc);
    return;
  }
  switch (S.Kind) {
  case StmtKind::Model:
    return genModel(S);
  case StmtKind::Const:
    return genConst(S);
  case StmtKind::Input:
  case StmtKind::Param:
    return genSymbol(S);
  case StmtKind::Assign:
  case StmtKind::Metric:
    return genTensor(S);
  case StmtKind::Output:
    return S.HasEquals ? genTensor(S) : genOutputMark(S);
  case StmtKind::Train:
    return genTrain(S);
  case StmtKind::Error:
    return;
  }
}

void IRGen::genModel(const Stmt &S) {
  if (ModelLoc.isValid()) {
    error(S.L, "duplicate 'model' statement (the model is already named '{}')",
          M->Name);
    return;
  }
  ModelLoc = S.L;
  M->Name = std::string(S.Name);
}

void IRGen::genConst(const Stmt &S) {
  if (isRedefinition(S))
    return;
  std::optional<Value> V = eval(S.Value, EvalMode::Const);
  if (!V)
    return poison(S.Name, S.NameLoc);
  Binding C;
  C.K = Binding::Const;
  C.DefLoc = S.NameLoc;
  C.Num = V->Num;
  if (auto It = Overrides.find(std::string(S.Name)); It != Overrides.end())
    C.Num = It->second;
  Bindings.emplace(S.Name, C);
}

std::optional<TensorType> IRGen::evalType(const TypeExpr &T) {
  TensorType Ty;
  Ty.Elt = T.DT;
  int64_t Count = 1;
  bool TooMany = false;
  for (ExprId D : T.Dims) {
    std::optional<Value> V = eval(D, EvalMode::Const);
    if (!V)
      return std::nullopt;
    Loc At = AST.expr(D).Begin;
    if (!V->Num.IsInt) {
      error(At, "dimension must be an integer, got {}", formatNumber(V->Num));
      return std::nullopt;
    }
    if (V->Num.Int < 1) {
      error(At, "dimension must be at least 1, got {}", V->Num.Int);
      return std::nullopt;
    }
    TooMany |= V->Num.Int > MaxElements / Count;
    if (!TooMany)
      Count *= V->Num.Int;
    Ty.Dims.push_back(V->Num.Int);
  }
  if (TooMany) {
    error(T.L, "type {} has more than 2^40 elements", formatType(Ty));
    return std::nullopt;
  }
  return Ty;
}

void IRGen::genSymbol(const Stmt &S) {
  if (isRedefinition(S))
    return;
  bool IsParam = S.Kind == StmtKind::Param;
  std::optional<TensorType> Ty = evalType(S.Type);
  if (!Ty)
    return poison(S.Name, S.NameLoc);
  Symbol Sym;
  Sym.Kind = IsParam ? SymbolKind::Param : SymbolKind::Input;
  Sym.Name = std::string(S.Name);
  Sym.Type = *Ty;
  Sym.L = S.NameLoc;
  if (IsParam) {
    if (!isFloat(Ty->Elt)) {
      error(S.Type.L,
            "param '{}' must be f32 or f64, but it is {} (i32 is for inputs "
            "that hold class ids and indices)",
            S.Name, formatType(*Ty));
      return poison(S.Name, S.NameLoc);
    }
    if (S.Value == NoExpr) {
      Sym.Init = Call{"zeros", {}};
    } else {
      std::optional<Call> Init = evalCallSpec(S.Value, CallKind::Initializer);
      if (!Init)
        return poison(S.Name, S.NameLoc);
      Sym.Init = std::move(*Init);
    }
  }
  Binding Bd;
  Bd.K = Binding::Symbol;
  Bd.DefLoc = S.NameLoc;
  Bd.SymbolIndex = M->Symbols.size();
  M->Symbols.push_back(std::move(Sym));
  Bindings.emplace(S.Name, Bd);
}

void IRGen::genTensor(const Stmt &S) {
  if (isRedefinition(S))
    return;
  size_t NodesBefore = F->Nodes.size();
  std::optional<Value> V = eval(S.Value, EvalMode::Tensor);
  std::optional<ValueId> Node;
  if (V)
    Node = nameValue(*V, S.Name, NodesBefore);
  if (!Node)
    return poison(S.Name, S.NameLoc);
  Binding T;
  T.K = Binding::Tensor;
  T.DefLoc = S.NameLoc;
  T.Node = *Node;
  Bindings.emplace(S.Name, T);

  const TensorType &Ty = F->type(*Node);
  if (S.Kind == StmtKind::Metric) {
    if (!Ty.isScalar() || !isFloat(Ty.Elt)) {
      error(S.NameLoc, "metric '{}' must be a float scalar, but it is {}",
            S.Name, formatType(Ty));
      return;
    }
    F->Results.push_back({ResultKind::Metric, std::string(S.Name), *Node});
  } else if (S.Kind == StmtKind::Output) {
    Outputs.emplace(S.Name, S.NameLoc);
    F->Results.push_back({ResultKind::Output, std::string(S.Name), *Node});
  }
}

std::optional<ValueId> IRGen::tensorForName(std::string_view Name, Loc L) {
  const Binding *Bd = resolve(Name, L);
  if (!Bd)
    return std::nullopt;
  if (Bd->K == Binding::Const) {
    error(L, "'{}' is a constant, not a tensor", Name);
    return std::nullopt;
  }
  if (Bd->K == Binding::Symbol)
    return symbolNode(Bindings.at(Name));
  return *Bd->Node;
}

void IRGen::genOutputMark(const Stmt &S) {
  std::optional<ValueId> V = tensorForName(S.Name, S.NameLoc);
  if (!V)
    return;
  if (auto It = Outputs.find(S.Name); It != Outputs.end()) {
    error(S.NameLoc, "'{}' is already an output", S.Name);
    note(It->second, "previous output is here");
    return;
  }
  Outputs.emplace(S.Name, S.NameLoc);
  F->Results.push_back({ResultKind::Output, std::string(S.Name), *V});
}

//===----------------------------------------------------------------------===//
// Names
//===----------------------------------------------------------------------===//

ValueId IRGen::symbolNode(Binding &Bd) {
  if (!Bd.Node) {
    const Symbol &S = M->Symbols[Bd.SymbolIndex];
    ValueId V = B->symbolRef(S, S.L);
    F->node(V).Name = S.Name;
    Bd.Node = V;
  }
  return *Bd.Node;
}

const Binding *IRGen::resolve(std::string_view Name, Loc L) {
  if (auto It = Bindings.find(Name); It != Bindings.end())
    return It->second.K == Binding::Poisoned ? nullptr : &It->second;
  auto Def = FirstDef.find(Name);
  if (Def == FirstDef.end()) {
    error(L, "unknown name '{}'", Name);
    return nullptr;
  }
  if (Name == CurName) {
    error(L, "'{}' is defined in terms of itself", Name);
    return nullptr;
  }
  if (!CurName.empty()) {
    std::vector<std::string_view> Cycle = findCycle(Name, CurName);
    if (!Cycle.empty()) {
      std::string Path(CurName);
      for (std::string_view N : Cycle)
        Path += " -> " + std::string(N);
      error(L, "cycle in definitions: {} -> {}", Path, CurName);
      // One report per cycle: the other names in it are poisoned now, and
      // their statements are skipped.
      for (std::string_view N : Cycle) {
        poison(N, AST.Stmts[FirstDef.at(N)].NameLoc);
        InCycle.insert(N);
      }
      return nullptr;
    }
  }
  error(L, "'{}' is used before its definition", Name);
  note(AST.Stmts[Def->second].NameLoc, "'{}' is defined here", Name);
  return nullptr;
}

std::vector<std::string_view> IRGen::findCycle(std::string_view Start,
                                               std::string_view Target) const {
  // Breadth-first over the names that later statements use, looking for one
  // whose definition uses Target.
  std::unordered_map<std::string_view, std::string_view> Parent;
  std::deque<std::string_view> Queue{Start};
  Parent.emplace(Start, std::string_view());
  while (!Queue.empty()) {
    std::string_view N = Queue.front();
    Queue.pop_front();
    const Stmt &S = AST.Stmts[FirstDef.at(N)];
    for (ExprId I = S.ExprBegin; I < S.ExprEnd; ++I) {
      const Expr &E = AST.expr(I);
      if (E.Kind != ExprKind::Name)
        continue;
      if (E.Text == Target) {
        std::vector<std::string_view> Path;
        for (std::string_view P = N; !P.empty(); P = Parent.at(P))
          Path.push_back(P);
        std::reverse(Path.begin(), Path.end());
        return Path;
      }
      if (Parent.count(E.Text) || Bindings.count(E.Text) ||
          !FirstDef.count(E.Text))
        continue;
      Parent.emplace(E.Text, N);
      Queue.push_back(E.Text);
    }
  }
  return {};
}

//===----------------------------------------------------------------------===//
// End of file
//===----------------------------------------------------------------------===//

static std::string modelNameFromPath(std::string_view Path) {
  size_t Slash = Path.find_last_of("/\\");
  std::string_view Stem =
      Slash == std::string_view::npos ? Path : Path.substr(Slash + 1);
  if (size_t Dot = Stem.rfind('.'); Dot != std::string_view::npos && Dot > 0)
    Stem = Stem.substr(0, Dot);
  std::string Name;
  for (char C : Stem)
    Name += (std::isalnum(static_cast<unsigned char>(C)) || C == '_') ? C : '_';
  if (Name.empty())
    return "model";
  if (std::isdigit(static_cast<unsigned char>(Name[0])))
    Name.insert(Name.begin(), '_');
  return Name;
}

void IRGen::finish(bool WarnUnused) {
  if (!ModelLoc.isValid())
    M->Name = modelNameFromPath(Src.name());
  if (!WarnUnused)
    return;

  // A param or input is used when any expression, output, metric or
  // minimize names it (initializer, optimizer and schedule names aside).
  std::unordered_set<std::string_view> Used;
  std::vector<bool> NotARef(AST.Exprs.size());
  for (const Stmt &S : AST.Stmts) {
    if (S.Kind == StmtKind::Param && S.Value != NoExpr)
      NotARef[S.Value] = true;
    if (S.Kind == StmtKind::Output && !S.HasEquals)
      Used.insert(S.Name);
    for (const TrainSetting &T : S.Settings) {
      if (T.Value != NoExpr)
        NotARef[T.Value] = true;
      if (T.Kind == SettingKind::Minimize)
        Used.insert(T.Name);
    }
  }
  for (size_t I = 0; I < AST.Exprs.size(); ++I)
    if (AST.Exprs[I].Kind == ExprKind::Name && !NotARef[I])
      Used.insert(AST.Exprs[I].Text);
  for (const Symbol &S : M->Symbols)
    if (!Used.count(S.Name))
      Diags.warning(S.L, "{} '{}' is never used", symbolKindName(S.Kind),
                    S.Name);
}

} // namespace gradc::frontend
