//===- ir/Verifier.cpp - Structural and type checks -------------------------===//
//
// Walks every function in order and checks each node against the op table:
// operands defined earlier, operand count, attributes complete, in spec order
// and of the right kinds, and the type (and normalized attributes) the shape
// rule gives. Sources are checked against their symbols, fusion groups
// against the rules of their kind (ir/Fusion.h). Passes run it after
// each pass in tests (--verify-each); the IR parser runs it on what it read.
//
//===----------------------------------------------------------------------===//
#include "ir/Verifier.h"

#include "ir/Fusion.h"
#include "ir/OpDefs.h"

#include <fmt/format.h>
#include <set>

namespace gradc::ir {

static std::string valueName(const Function &F, ValueId V) {
  const Node &N = F.Nodes[V];
  return N.Name.empty() ? fmt::format("value #{}", V) : "%" + N.Name;
}

static void verifyNode(const Module &M, const Function &F, ValueId V,
                       std::vector<std::string> &Problems) {
  const Node &N = F.Nodes[V];
  auto Problem = [&](std::string Msg) {
    Problems.push_back(fmt::format("@{}: {} ({}): {}", F.Name, valueName(F, V),
                                   mnemonic(N.Opcode), Msg));
  };
  const OpInfo &Info = getOpInfo(N.Opcode);
  for (ValueId O : N.Operands)
    if (O >= V)
      return Problem(fmt::format("operand #{} is not defined before its use", O));

  // Attributes: exactly the spec's, in its order, of the right kinds.
  const auto &Specs = getOpDef(N.Opcode).Attrs;
  if (N.Attrs.size() != Specs.size())
    return Problem(fmt::format("has {} attributes, expected {}", N.Attrs.size(),
                               Specs.size()));
  for (size_t I = 0; I < Specs.size(); ++I) {
    AttrValue Converted;
    if (N.Attrs[I].Name != Specs[I].Name)
      return Problem(fmt::format("attribute {} is '{}', expected '{}'", I,
                                 N.Attrs[I].Name, Specs[I].Name));
    if (std::string E = convertAttr(Specs[I], N.Attrs[I].Value, Converted);
        !E.empty() || !(Converted == N.Attrs[I].Value))
      return Problem(E.empty() ? fmt::format("attribute '{}' has the wrong kind",
                                             Specs[I].Name)
                               : E);
  }

  if (Info.Family == OpFamily::Source) {
    size_t Want = N.Opcode == Op::Assign ? 1 : 0;
    if (N.Operands.size() != Want)
      return Problem(fmt::format("takes {} operands", Want));
    if (Want && F.Nodes[N.Operands[0]].Type != N.Type)
      return Problem("the assigned value's type differs from the symbol's");
    if (Info.has(OF_Symbol)) {
      const Symbol *S = M.lookupSymbol(N.Symbol);
      if (!S)
        return Problem(fmt::format("unknown symbol @{}", N.Symbol));
      bool KindOk = (N.Opcode == Op::Input) == S->isReadByInput();
      if (!KindOk)
        return Problem(fmt::format("cannot read {} @{}",
                                   symbolKindName(S->Kind), S->Name));
      if (S->Type != N.Type)
        return Problem(fmt::format("type {} differs from @{}'s {}",
                                   formatType(N.Type), S->Name,
                                   formatType(S->Type)));
    } else if (!N.Symbol.empty()) {
      return Problem("has a symbol but does not read one");
    }
    return;
  }
  if (!N.Symbol.empty())
    return Problem("has a symbol but does not read one");

  std::vector<TensorType> Types;
  for (ValueId O : N.Operands)
    Types.push_back(F.Nodes[O].Type);
  AttrList Attrs = N.Attrs;
  TensorType Inferred;
  std::string Err;
  int ErrOperand;
  if (!inferType(N.Opcode, Types, Attrs, Inferred, Err, ErrOperand))
    return Problem(Err);
  if (Inferred != N.Type)
    return Problem(fmt::format("type is {}, but the shape rule gives {}",
                               formatType(N.Type), formatType(Inferred)));
  if (Attrs != N.Attrs)
    return Problem(fmt::format("attributes are not normalized (expected {})",
                               formatAttrs(Attrs)));
}

std::vector<std::string> verifyModule(const Module &M) {
  std::vector<std::string> Problems;
  std::set<std::string> SymbolNames;
  for (const Symbol &S : M.Symbols) {
    if (!SymbolNames.insert(S.Name).second)
      Problems.push_back(fmt::format("symbol @{} is defined twice", S.Name));
    if (S.Kind != SymbolKind::Input && !isFloat(S.Type.Elt))
      Problems.push_back(fmt::format("@{} must have a float type", S.Name));
  }
  std::set<std::string> FunctionNames;
  for (const Function &F : M.Functions) {
    if (!FunctionNames.insert(F.Name).second)
      Problems.push_back(fmt::format("function @{} is defined twice", F.Name));
    std::set<std::string> Names;
    for (ValueId V = 0; V < F.Nodes.size(); ++V) {
      const std::string &Name = F.Nodes[V].Name;
      if (!Name.empty() && !Names.insert(Name).second)
        Problems.push_back(
            fmt::format("@{}: value %{} is defined twice", F.Name, Name));
      verifyNode(M, F, V, Problems);
    }
    for (const Result &R : F.Results)
      if (R.Value >= F.Nodes.size())
        Problems.push_back(fmt::format("@{}: {} '{}' refers to no value", F.Name,
                                       resultKindName(R.Kind), R.Name));
    if (Problems.empty())
      for (std::string &P : verifyGroups(F))
        Problems.push_back(std::move(P));
  }
  // The train block names the loss in @model; after autodiff @model is gone.
  if (M.Train) {
    const Function *Model = M.lookupFunction("model");
    if (Model && !Model->lookup(M.Train->Minimize))
      Problems.push_back(fmt::format("train: minimize refers to %{}, which "
                                     "@model does not define",
                                     M.Train->Minimize));
  }
  return Problems;
}

} // namespace gradc::ir
