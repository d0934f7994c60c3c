#include "ir/Module.h"

namespace gradc::ir {

std::string_view resultKindName(ResultKind K) {
  switch (K) {
  case ResultKind::Output:
    return "output";
  case ResultKind::Metric:
    return "metric";
  case ResultKind::Loss:
    return "loss";
  }
  return "?";
}

std::string_view symbolKindName(SymbolKind K) {
  switch (K) {
  case SymbolKind::Input:
    return "input";
  case SymbolKind::Param:
    return "param";
  case SymbolKind::State:
    return "state";
  case SymbolKind::Arg:
    return "arg";
  }
  return "?";
}

std::optional<ValueId> Function::lookup(std::string_view Name) const {
  for (size_t I = 0; I < Nodes.size(); ++I)
    if (Nodes[I].Name == Name)
      return static_cast<ValueId>(I);
  return std::nullopt;
}

const Symbol *Module::lookupSymbol(std::string_view Name) const {
  for (const Symbol &S : Symbols)
    if (S.Name == Name)
      return &S;
  return nullptr;
}

Function *Module::lookupFunction(std::string_view Name) {
  for (Function &F : Functions)
    if (F.Name == Name)
      return &F;
  return nullptr;
}

const Function *Module::lookupFunction(std::string_view Name) const {
  for (const Function &F : Functions)
    if (F.Name == Name)
      return &F;
  return nullptr;
}

} // namespace gradc::ir
