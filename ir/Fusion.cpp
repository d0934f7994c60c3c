//===- ir/Fusion.cpp - Fusion groups: outputs, kernel count, legality ----===//
//
// See Fusion.h. analyzeFusion marks each member read by a node outside its
// group, named by a result or written by an assign as an output.
// verifyGroups checks the rules of each kind over the group's members.
//
//===----------------------------------------------------------------------===//
#include "ir/Fusion.h"

#include <fmt/format.h>

namespace gradc::ir {

std::string_view fusionKindName(FusionKind K) {
  switch (K) {
  case FusionKind::Loop:
    return "loop";
  case FusionKind::Reduce:
    return "reduce";
  }
  return "?";
}

std::optional<FusionKind> parseFusionKind(std::string_view Name) {
  if (Name == "loop")
    return FusionKind::Loop;
  if (Name == "reduce")
    return FusionKind::Reduce;
  return std::nullopt;
}

bool isFusableReduction(Op O) {
  return O == Op::Sum || O == Op::Mean || O == Op::Max;
}

FusionInfo analyzeFusion(const Function &F) {
  FusionInfo I;
  I.GroupOf.assign(F.Nodes.size(), -1);
  I.IsOutput.assign(F.Nodes.size(), false);
  for (size_t G = 0; G < F.Groups.size(); ++G)
    for (ValueId V = F.Groups[G].Begin;
         V < F.Groups[G].End && V < F.Nodes.size(); ++V)
      I.GroupOf[V] = static_cast<int>(G);
  for (ValueId V = 0; V < F.Nodes.size(); ++V)
    for (ValueId O : F.Nodes[V].Operands)
      if (O < F.Nodes.size() && I.GroupOf[O] >= 0 &&
          (I.GroupOf[V] != I.GroupOf[O] || F.Nodes[V].Opcode == Op::Assign))
        I.IsOutput[O] = true;
  for (const Result &R : F.Results)
    if (R.Value < F.Nodes.size() && I.GroupOf[R.Value] >= 0)
      I.IsOutput[R.Value] = true;
  return I;
}

size_t countKernels(const Function &F) {
  FusionInfo I = analyzeFusion(F);
  size_t N = F.Groups.size();
  for (ValueId V = 0; V < F.Nodes.size(); ++V)
    if (I.GroupOf[V] < 0 &&
        getOpInfo(F.Nodes[V].Opcode).Family != OpFamily::Source)
      ++N;
  return N;
}

static void verifyGroup(const Function &F, const FusionInfo &Info, size_t GI,
                        std::vector<std::string> &Problems) {
  const FusionGroup &G = F.Groups[GI];
  auto Problem = [&](ValueId V, std::string Msg) {
    const Node &N = F.Nodes[V];
    Problems.push_back(fmt::format(
        "@{}: fused {} group #{}: {} ({}): {}", F.Name, fusionKindName(G.Kind),
        GI, N.Name.empty() ? fmt::format("value #{}", V) : "%" + N.Name,
        mnemonic(N.Opcode), Msg));
  };
  auto IsMember = [&](ValueId V) { return V >= G.Begin && V < G.End; };
  ValueId Last = G.End - 1;
  const Shape &Dims = G.Kind == FusionKind::Loop
                          ? F.Nodes[G.Begin].Type.Dims
                          : F.type(F.Nodes[Last].Operands.at(0)).Dims;
  if (G.Kind == FusionKind::Reduce) {
    const Node &R = F.Nodes[Last];
    if (!isFusableReduction(R.Opcode))
      return Problem(Last, "the last member of a reduce group must be sum, "
                           "mean or max");
    if (!IsMember(R.Operands[0]))
      return Problem(Last, "the reduced operand is not a member of the group");
  }
  for (ValueId V = G.Begin; V < G.End; ++V) {
    const Node &N = F.Nodes[V];
    if (G.Kind == FusionKind::Reduce && V == Last)
      break;
    if (getOpInfo(N.Opcode).Family != OpFamily::Elementwise)
      return Problem(V, "only elementwise ops can be fused into a loop");
    if (N.Type.Dims != Dims)
      return Problem(V, fmt::format("has shape {}, the group's is {}",
                                    formatType(N.Type), formatShape(Dims)));
    if (G.Kind == FusionKind::Loop)
      continue;
    if (Info.IsOutput[V])
      return Problem(V, "a producer in a reduce group is used outside it");
  }
}

std::vector<std::string> verifyGroups(const Function &F) {
  std::vector<std::string> Problems;
  ValueId Prev = 0;
  for (size_t GI = 0; GI < F.Groups.size(); ++GI) {
    const FusionGroup &G = F.Groups[GI];
    if (G.Begin >= G.End || G.End > F.Nodes.size() || G.Begin < Prev) {
      Problems.push_back(fmt::format(
          "@{}: fused group #{} [{}, {}) is empty, out of range or overlaps "
          "the previous one",
          F.Name, GI, G.Begin, G.End));
      return Problems;
    }
    Prev = G.End;
  }
  FusionInfo Info = analyzeFusion(F);
  for (size_t GI = 0; GI < F.Groups.size(); ++GI)
    verifyGroup(F, Info, GI, Problems);
  return Problems;
}

} // namespace gradc::ir
