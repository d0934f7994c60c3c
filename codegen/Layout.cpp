//===- codegen/Layout.cpp - Where every tensor lives ----------------------===//
//
// State: every param and state symbol (internal ones such as `.step`
// included) in declaration order, each at a 64-byte aligned offset of the
// State arena. Scratch, per function: a 64-byte aligned region for every
// node that computes a value, placed by the memory plan (MemoryPlan.cpp:
// regions of values never live at the same time share bytes, and some
// assigned values are computed straight into State). Nodes without a region
// of their own (needsRegion, kept apart from the planner):
//   - param reads (they point into State) and input reads (into the caller's
//     Inputs), and reads of an f64 scalar arg (they point into Args);
//   - constants of at most kMaxInlineConstant elements (read-only globals);
//   - assign, unless its value is a param read: that one is copied to a
//     region at the assign, so that writing state at the end of the
//     function never reads a slot another assign has already overwritten;
//   - members of a fusion group that are not its outputs (ir/Fusion.h):
//     they live in registers inside the group's kernel.
// The emitter follows this table: a node has a region exactly when its
// Values entry is set, and writes State directly when its InPlace entry is.
//
//===----------------------------------------------------------------------===//
#include "codegen/Codegen.h"
#include "codegen/MemoryPlan.h"

#include "ir/Fusion.h"

namespace gradc::codegen {

/// Constants up to this many elements become read-only globals.
constexpr int64_t kMaxInlineConstant = 1024;

static uint64_t alignUp(uint64_t X) { return (X + kAlign - 1) / kAlign * kAlign; }

static uint64_t bytesOf(const ir::TensorType &T) {
  return static_cast<uint64_t>(T.numElements()) * ir::dtypeSize(T.Elt);
}

/// Whether node \p V of \p F needs a scratch region (see the header).
static bool needsRegion(const ir::Module &M, const ir::Function &F,
                        const ir::FusionInfo &Fused, ir::ValueId V) {
  const ir::Node &N = F.node(V);
  switch (N.Opcode) {
  case ir::Op::Constant:
    return N.Type.numElements() > kMaxInlineConstant;
  case ir::Op::Param:
    return false;
  case ir::Op::Input: {
    const ir::Symbol *S = M.lookupSymbol(N.Symbol);
    return S && S->Kind == ir::SymbolKind::Arg &&
           !(N.Type.Elt == ir::DType::F64 && N.Type.isScalar());
  }
  case ir::Op::Assign:
    return F.node(N.Operands[0]).Opcode == ir::Op::Param;
  default:
    return !Fused.isInternal(V);
  }
}

Layout computeLayout(const ir::Module &M) {
  Layout L;
  for (const ir::Symbol &S : M.Symbols) {
    switch (S.Kind) {
    case ir::SymbolKind::Input:
      L.Inputs.push_back(S.Name);
      break;
    case ir::SymbolKind::Arg:
      L.Args.push_back(S.Name);
      break;
    case ir::SymbolKind::Param:
    case ir::SymbolKind::State: {
      Slot Sl{L.StateBytes, bytesOf(S.Type)};
      L.State[S.Name] = Sl;
      L.StateBytes += alignUp(Sl.Bytes);
      break;
    }
    }
  }
  for (const ir::Function &F : M.Functions) {
    ir::FusionInfo Fused = ir::analyzeFusion(F);
    std::vector<bool> Needs(F.Nodes.size());
    for (ir::ValueId V = 0; V < F.Nodes.size(); ++V)
      Needs[V] = needsRegion(M, F, Fused, V);
    L.Functions[F.Name] = planFunction(M, F, Fused, Needs);
  }
  return L;
}

} // namespace gradc::codegen
