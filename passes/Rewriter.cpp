//===- passes/Rewriter.cpp - Rebuilding a function node by node -------------===//
//
// See Rewriter.h: one forward sweep copying nodes into a new list through an
// old-to-new value map; results are remapped at the end.
//
//===----------------------------------------------------------------------===//
#include "passes/Rewriter.h"

namespace gradc::passes {
using namespace ir;

ValueId Rewriter::keep(Node N) {
  New.Nodes.push_back(std::move(N));
  return static_cast<ValueId>(New.Nodes.size() - 1);
}

ValueId Rewriter::constant(double V, const TensorType &T, Loc L) {
  Node N;
  N.Opcode = Op::Constant;
  N.Type = T;
  N.Attrs = {{"value", V}};
  N.L = L;
  return keep(std::move(N));
}

size_t Rewriter::useCount(ValueId V) const {
  size_t N = V < Pending.size() ? Pending[V] : 0;
  for (const Node &U : New.Nodes)
    for (ValueId O : U.Operands)
      N += O == V;
  return N;
}

bool rewriteFunction(Function &F, const RewriteFn &Fn) {
  Function New;
  New.Name = F.Name;
  Rewriter R(New);
  // Uses of each old value by later nodes and by results.
  std::vector<size_t> OldUses(F.Nodes.size(), 0);
  for (const Node &N : F.Nodes)
    for (ValueId O : N.Operands)
      ++OldUses[O];
  for (const Result &Res : F.Results)
    ++OldUses[Res.Value];
  std::vector<ValueId> Map(F.Nodes.size());
  bool Changed = false;
  for (size_t V = 0; V < F.Nodes.size(); ++V) {
    Node N = std::move(F.Nodes[V]);
    for (ValueId &O : N.Operands)
      O = Map[O];
    size_t Before = New.Nodes.size();
    std::optional<ValueId> Repl = Fn(R, N);
    // Once placed, this node's uses of its operands are no longer pending:
    // kept, they count in the new list; replaced, they are gone.
    for (ValueId O : N.Operands)
      --R.Pending[O];
    if (Repl) {
      Changed = true;
      Node &Target = New.Nodes[*Repl];
      if (Target.Name.empty())
        Target.Name = std::move(N.Name);
    } else {
      // Nodes the pass made and then did not use are harmless (dce).
      Changed |= New.Nodes.size() != Before;
      Repl = R.keep(std::move(N));
    }
    Map[V] = *Repl;
    R.Pending.resize(New.Nodes.size(), 0);
    R.Pending[*Repl] += OldUses[V];
  }
  for (Result &Res : F.Results)
    Res.Value = Map[Res.Value];
  F.Nodes = std::move(New.Nodes);
  return Changed;
}

} // namespace gradc::passes
