//===- runtime/Executable.cpp - What every backend shares -----------------===//
//
// The backend-neutral half of an Executable: the tables of inputs, state,
// metrics and outputs, read once from the module after the pipeline.
//
//===----------------------------------------------------------------------===//
#include "runtime/Executable.h"

#include <cassert>
#include <fmt/format.h>

namespace gradc::runtime {

std::string_view entryName(Entry E) {
  switch (E) {
  case Entry::TrainStep:
    return "train_step";
  case Entry::Eval:
    return "eval";
  case Entry::Predict:
    return "predict";
  }
  return "?";
}

static constexpr Entry AllEntries[] = {Entry::TrainStep, Entry::Eval,
                                       Entry::Predict};

Executable::Executable(std::unique_ptr<ir::Module> M) : Mod(std::move(M)) {
  assert(Mod && "an executable needs a module");
  for (const ir::Symbol &S : Mod->Symbols) {
    if (S.Kind == ir::SymbolKind::Input)
      Inputs.push_back({S.Name, S.Type});
    else if ((S.Kind == ir::SymbolKind::Param ||
              S.Kind == ir::SymbolKind::State) &&
             !isInternalSymbol(S.Name))
      State.push_back({S.Name, S.Type});
  }
  for (Entry E : AllEntries) {
    const ir::Function *F = Mod->lookupFunction(entryName(E));
    Has.push_back(F != nullptr);
    std::vector<bool> R(Inputs.size(), false);
    if (F)
      for (const ir::Node &N : F->Nodes)
        if (N.Opcode == ir::Op::Input)
          for (size_t I = 0; I < Inputs.size(); ++I)
            if (Inputs[I].Name == N.Symbol)
              R[I] = true;
    Reads.push_back(std::move(R));
  }
  if (const ir::Function *F = Mod->lookupFunction("eval"))
    for (const ir::Result &R : F->Results) {
      if (R.Kind == ir::ResultKind::Loss)
        EvalLoss = true;
      else if (R.Kind == ir::ResultKind::Metric)
        Metrics.push_back(R.Name);
    }
  if (const ir::Function *F = Mod->lookupFunction("predict"))
    for (const ir::Result &R : F->Results)
      if (R.Kind == ir::ResultKind::Output)
        Outputs.push_back({R.Name, F->type(R.Value)});

  // The batch: axis 0 of every input.
  for (const TensorInfo &I : Inputs) {
    if (I.Type.isScalar()) {
      Batch = 0;
      BatchErr = fmt::format("input '{}' is a scalar ({}); every input needs "
                             "a batch axis (axis 0 counts examples)",
                             I.Name, ir::formatType(I.Type));
      return;
    }
    if (&I != &Inputs.front() &&
        I.Type.Dims[0] != Inputs.front().Type.Dims[0]) {
      Batch = 0;
      BatchErr = fmt::format(
          "inputs '{}' ({}) and '{}' ({}) have different batch sizes (axis 0 "
          "counts examples)",
          Inputs.front().Name, ir::formatType(Inputs.front().Type), I.Name,
          ir::formatType(I.Type));
      return;
    }
  }
  if (!Inputs.empty())
    Batch = Inputs.front().Type.Dims[0];
}

Executable::~Executable() = default;

bool Executable::hasEntry(Entry E) const { return Has[static_cast<size_t>(E)]; }

bool Executable::readsInput(Entry E, size_t I) const {
  return Reads[static_cast<size_t>(E)][I];
}

const TensorInfo *Executable::findState(std::string_view Name) const {
  for (const TensorInfo &T : State)
    if (T.Name == Name)
      return &T;
  return nullptr;
}

bool Executable::isParam(std::string_view Name) const {
  const ir::Symbol *S = Mod->lookupSymbol(Name);
  return S && S->Kind == ir::SymbolKind::Param;
}

static uint64_t bytesOfType(const ir::TensorType &T) {
  return static_cast<uint64_t>(T.numElements()) * ir::dtypeSize(T.Elt);
}

MemoryUse Executable::memoryUse(Entry E) const {
  MemoryUse U;
  for (const ir::Symbol &S : Mod->Symbols)
    if (S.Kind == ir::SymbolKind::Param || S.Kind == ir::SymbolKind::State)
      U.State += bytesOfType(S.Type);
  for (size_t I = 0; I < Inputs.size(); ++I)
    if (readsInput(E, I))
      U.Inputs += bytesOfType(Inputs[I].Type);
  const ir::Function *F = Mod->lookupFunction(entryName(E));
  assert(F && "no such entry");
  for (const ir::Result &R : F->Results)
    U.Results += bytesOfType(F->type(R.Value));
  return U;
}

/// The names of the inputs that \p Failed (transitively) reads in \p F;
/// with \p IntOnly only through i32 values.
static std::vector<std::string> inputsReaching(const ir::Module &M,
                                               const ir::Function &F,
                                               ir::ValueId Failed,
                                               bool IntOnly) {
  std::vector<bool> Reach(F.Nodes.size(), false);
  Reach[Failed] = true;
  std::vector<std::string> Names;
  for (size_t V = Failed + 1; V-- > 0;) {
    const ir::Node &N = F.Nodes[V];
    if (!Reach[V] || (IntOnly && V != Failed && N.Type.Elt != ir::DType::I32))
      continue;
    const ir::Symbol *S =
        N.Opcode == ir::Op::Input ? M.lookupSymbol(N.Symbol) : nullptr;
    if (S && S->Kind == ir::SymbolKind::Input)
      Names.insert(Names.begin(), S->Name);
    for (ir::ValueId O : N.Operands)
      Reach[O] = true;
  }
  return Names;
}

std::string failingInputsSuffix(const ir::Module &M, const ir::Function &F,
                                ir::ValueId Failed) {
  std::vector<std::string> Names = inputsReaching(M, F, Failed, true);
  if (Names.empty())
    Names = inputsReaching(M, F, Failed, false);
  if (Names.empty())
    return "";
  return fmt::format(" (input{} '{}')", Names.size() > 1 ? "s" : "",
                     fmt::join(Names, "', '"));
}

} // namespace gradc::runtime
