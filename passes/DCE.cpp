//===- passes/DCE.cpp - Dead code elimination -------------------------------===//
//
// Marks every node a function's results or side effects (state assignments)
// need (and, in @model, the value the train block minimizes), walking operands backwards from them; then drops
// the unmarked nodes and renumbers operands, results and fusion groups
// (a group keeps its live members; one left empty goes). Nodes are in
// topological order, so one backward sweep marks everything.
//
//===----------------------------------------------------------------------===//
#include "passes/PassManager.h"

#include <algorithm>
#include <cstdint>

namespace gradc::passes {

static bool eliminateDeadNodes(ir::Function &F, const ir::Module &M) {
  std::vector<bool> Live(F.Nodes.size(), false);
  for (const ir::Result &R : F.Results)
    Live[R.Value] = true;
  for (size_t I = 0; I < F.Nodes.size(); ++I)
    if (ir::getOpInfo(F.Nodes[I].Opcode).has(ir::OF_SideEffect))
      Live[I] = true;
  if (M.Train && F.Name == "model")
    if (auto V = F.lookup(M.Train->Minimize))
      Live[*V] = true;
  for (size_t I = F.Nodes.size(); I-- > 0;)
    if (Live[I])
      for (ir::ValueId O : F.Nodes[I].Operands)
        Live[O] = true;

  std::vector<ir::ValueId> NewId(F.Nodes.size());
  std::vector<ir::Node> Kept;
  for (size_t I = 0; I < F.Nodes.size(); ++I) {
    if (!Live[I])
      continue;
    NewId[I] = static_cast<ir::ValueId>(Kept.size());
    Kept.push_back(std::move(F.Nodes[I]));
    for (ir::ValueId &O : Kept.back().Operands)
      O = NewId[O];
  }
  bool Changed = Kept.size() != F.Nodes.size();
  F.Nodes = std::move(Kept);
  for (ir::Result &R : F.Results)
    R.Value = NewId[R.Value];
  std::vector<ir::FusionGroup> Groups;
  for (ir::FusionGroup G : F.Groups) {
    ir::ValueId Begin = UINT32_MAX, End = 0;
    for (ir::ValueId V = G.Begin; V < G.End; ++V)
      if (Live[V]) {
        Begin = std::min(Begin, NewId[V]);
        End = NewId[V] + 1;
      }
    if (End > Begin)
      Groups.push_back({G.Kind, Begin, End});
  }
  F.Groups = std::move(Groups);
  return Changed;
}

bool runDCE(ir::Module &M, PassContext &) {
  bool Changed = false;
  for (ir::Function &F : M.Functions)
    Changed |= eliminateDeadNodes(F, M);
  return Changed;
}

} // namespace gradc::passes
