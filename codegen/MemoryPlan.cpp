//===- codegen/MemoryPlan.cpp - Scratch offsets by liveness ---------------===//
//
// Shapes are static, so where every intermediate lives is decided once, at
// compile time, in two steps per function. Both work on kernels: a node
// outside fusion groups is a kernel of its own, a fusion group (ir/Fusion.h)
// is one kernel that reads the values its members take from outside the
// group (its inputs) and writes its outputs; members that are no outputs
// live in registers and have no region.
//
// 1. In-place updates. An `assign @S %v` normally leaves %v in scratch and
//    the function copies it to S's State slot at its end. %v is instead
//    computed straight into S's slot, and so are the links before it, when
//    all of these hold:
//      a. there is a chain `param @S` -> V1 -> ... -> Vk = %v of values of
//         S's type with regions of their own, each computed by a kernel
//         that reads the one before (V1's reads a `param @S`) and is either
//         one elementwise node or a `loop` fusion group (V then one of its
//         outputs). Such a kernel's result has S's shape and so have the
//         members of a loop group: element i of each link is computed from
//         element i of the one before (read at the same index: no
//         broadcast, no reduction reads other elements of the slot) and
//         written after that read. Each link's kernel is given one pointer
//         for its result and the inputs in the same slot, so LLVM sees the
//         read-before-write of each element and no noalias claim is false.
//         (Adam's `m * b1 + g * (1 - b1)` is the chain m -> mul -> add, or
//         one link when `fuse` made the update one loop.);
//      b. S has exactly one assign in the function;
//      c. the values a link overwrites are dead by then: no node after V1's
//         kernel reads a `param @S` (an assign of another symbol copying it
//         included) and no result is one; every reader of a link but the
//         last runs no later than the next link's kernel (and none is a
//         result or an assign, which read at the end);
//      d. no node from V1's kernel on may fail (mayFail): on an error exit
//         State must be unchanged, and the JIT's error report re-reads the
//         failing node's operands, which must still hold their values.
//    Then nothing else writes S's slot during the call (b), every value it
//    held is read before it is overwritten (c), Vk is there for every later
//    reader and for the end, and the function can no longer leave without
//    completing (d): the same results and state as computing into scratch
//    and copying at the end. Updates that fail (a) keep the copy: matmul or
//    reduce results (a `reduce` group included), values that broadcast the
//    old param, or values that do not read it at all. Chains are found from
//    %v back, through the first input of each kernel that leads to
//    `param @S`.
//
// 2. Offsets. Every other node that needs a region (Layout.cpp's
//    predicate) gets a live range [First, Last] in node order: First is the
//    start of its kernel, Last the end of the kernel of its last reader
//    (for a fusion group, Begin and End - 1: the group reads all its inputs
//    while it writes all its outputs); a value read at the end of the
//    function (a result, an assigned value, an assign's copy of a param)
//    lives to the end (Nodes.size()). An assign without a region of its own
//    forwards its value's region, so readers of the assign keep that region
//    alive. Ranges are closed, so a kernel's outputs and its inputs are
//    always live at the same time and never overlap: kernels may assume
//    operands do not alias their result. Offsets are assigned greedily,
//    best fit: the regions in some order, each put at the lowest offset of
//    the smallest gap, among the regions already placed whose ranges
//    intersect its own, that holds it, else above them all. Three orders
//    are tried and the smallest arena kept: by decreasing size (the usual
//    "greedy by size"; ties: longer range first), by decreasing range
//    length, and by definition. Sizes are rounded up to kAlign, so
//    every offset is kAlign-aligned. The arena is the highest end; the
//    largest total of regions live at one time (MaxLiveBytes) bounds every
//    plan from below.
//
//===----------------------------------------------------------------------===//
#include "codegen/MemoryPlan.h"

#include <algorithm>
#include <functional>
#include <numeric>

namespace gradc::codegen {

static uint64_t alignUp(uint64_t X) { return (X + kAlign - 1) / kAlign * kAlign; }

static uint64_t bytesOf(const ir::TensorType &T) {
  return static_cast<uint64_t>(T.numElements()) * ir::dtypeSize(T.Elt);
}

bool mayFail(const ir::Function &F, ir::ValueId V) {
  const ir::Node &N = F.node(V);
  ir::OpFamily Fam = ir::getOpInfo(N.Opcode).Family;
  if (Fam != ir::OpFamily::NN && Fam != ir::OpFamily::Loss)
    return false;
  return std::any_of(N.Operands.begin(), N.Operands.end(), [&](ir::ValueId O) {
    return F.type(O).Elt == ir::DType::I32;
  });
}

static bool readsParam(const ir::Function &F, ir::ValueId V,
                       std::string_view Sym) {
  const ir::Node &N = F.node(V);
  return N.Opcode == ir::Op::Param && N.Symbol == Sym;
}

KernelSpan kernelOf(const ir::Function &F, const ir::FusionInfo &Fused,
                    ir::ValueId V) {
  if (Fused.GroupOf[V] < 0)
    return {V, V + 1};
  const ir::FusionGroup &G = F.Groups[static_cast<size_t>(Fused.GroupOf[V])];
  return {G.Begin, G.End};
}

std::vector<ir::ValueId> kernelInputs(const ir::Function &F,
                                      const ir::FusionInfo &Fused,
                                      ir::ValueId V) {
  KernelSpan K = kernelOf(F, Fused, V);
  std::vector<ir::ValueId> Ins;
  for (ir::ValueId U = K.Begin; U < K.End; ++U)
    for (ir::ValueId O : F.node(U).Operands)
      if ((O < K.Begin || O >= K.End) &&
          std::find(Ins.begin(), Ins.end(), O) == Ins.end())
        Ins.push_back(O);
  return Ins;
}

namespace {

/// What the in-place search needs of one function.
struct ChainSearch {
  const ir::Function &F;
  const ir::FusionInfo &Fused;
  const std::vector<bool> &NeedsRegion;
  const std::vector<std::string> &InPlace;

  /// Whether \p V can be a link of an in-place chain of symbol \p Sym: a
  /// value of its type with a region, not yet given a symbol, computed by
  /// an elementwise node or a loop group.
  bool canLink(ir::ValueId V, const ir::Symbol &Sym) const {
    const ir::Node &N = F.node(V);
    if (!NeedsRegion[V] || !InPlace[V].empty() || N.Type != Sym.Type ||
        ir::getOpInfo(N.Opcode).Family != ir::OpFamily::Elementwise)
      return false;
    int G = Fused.GroupOf[V];
    return G < 0 || F.Groups[static_cast<size_t>(G)].Kind == ir::FusionKind::Loop;
  }

  /// The chain V1 < ... < Vk = \p Value of rule (a), or empty.
  std::vector<ir::ValueId> find(ir::ValueId Value, const ir::Symbol &Sym) const {
    // Reach[V]: V is a link with a chain of links down to `param @S`.
    std::vector<bool> Reach(Value + 1, false);
    auto Leads = [&](ir::ValueId O) {
      return readsParam(F, O, Sym.Name) || (O <= Value && Reach[O]);
    };
    for (ir::ValueId V = 0; V <= Value; ++V)
      if (canLink(V, Sym)) {
        std::vector<ir::ValueId> Ins = kernelInputs(F, Fused, V);
        Reach[V] = std::any_of(Ins.begin(), Ins.end(), Leads);
      }
    if (!Reach[Value])
      return {};
    std::vector<ir::ValueId> Chain{Value};
    for (;;) {
      std::vector<ir::ValueId> Ins = kernelInputs(F, Fused, Chain.back());
      if (std::any_of(Ins.begin(), Ins.end(), [&](ir::ValueId O) {
            return readsParam(F, O, Sym.Name);
          }))
        break;
      Chain.push_back(*std::find_if(Ins.begin(), Ins.end(), Leads));
    }
    std::reverse(Chain.begin(), Chain.end());
    return Chain;
  }
};

} // namespace

std::vector<std::string> findInPlaceUpdates(const ir::Module &M,
                                            const ir::Function &F,
                                            const ir::FusionInfo &Fused,
                                            const std::vector<bool> &NeedsRegion) {
  const auto NumNodes = static_cast<ir::ValueId>(F.Nodes.size());
  std::vector<std::string> InPlace(NumNodes);
  ChainSearch Search{F, Fused, NeedsRegion, InPlace};
  // (d): nodes after the last one that may fail.
  ir::ValueId Safe = 0;
  for (ir::ValueId V = 0; V < NumNodes; ++V)
    if (mayFail(F, V))
      Safe = V + 1;
  // The last node that reads each value; NumNodes: read at the end.
  std::vector<ir::ValueId> LastRead(NumNodes, 0);
  for (ir::ValueId U = 0; U < NumNodes; ++U)
    for (ir::ValueId O : F.node(U).Operands)
      LastRead[O] = std::max(
          LastRead[O], F.node(U).Opcode == ir::Op::Assign ? NumNodes : U);
  for (const ir::Result &R : F.Results)
    LastRead[R.Value] = NumNodes;

  for (ir::ValueId A = 0; A < NumNodes; ++A) {
    const ir::Node &Asg = F.node(A);
    const ir::Symbol *Sym = M.lookupSymbol(Asg.Symbol);
    if (Asg.Opcode != ir::Op::Assign || !Sym)
      continue;
    const std::string &S = Asg.Symbol;
    // (a)
    std::vector<ir::ValueId> Chain = Search.find(Asg.Operands[0], *Sym);
    if (Chain.empty())
      continue;
    KernelSpan First = kernelOf(F, Fused, Chain.front());
    // (d)
    bool Ok = First.Begin >= Safe;
    // (b)
    for (ir::ValueId B = 0; B < NumNodes && Ok; ++B)
      Ok = B == A || F.node(B).Opcode != ir::Op::Assign ||
           F.node(B).Symbol != S;
    // (c): the old value (read in V1's kernel at most), then each link but
    // the last (read no later than the next link's kernel).
    for (ir::ValueId U = First.End; U < NumNodes && Ok; ++U)
      for (ir::ValueId O : F.node(U).Operands)
        Ok = Ok && !readsParam(F, O, S);
    for (const ir::Result &R : F.Results)
      Ok = Ok && !readsParam(F, R.Value, S);
    for (size_t I = 0; I + 1 < Chain.size() && Ok; ++I)
      Ok = LastRead[Chain[I]] < kernelOf(F, Fused, Chain[I + 1]).End;
    if (Ok)
      for (ir::ValueId V : Chain)
        InPlace[V] = S;
  }
  return InPlace;
}

std::vector<LiveRange> liveRanges(const ir::Function &F,
                                  const ir::FusionInfo &Fused,
                                  const std::vector<bool> &HasRegion) {
  const auto End = static_cast<uint32_t>(F.Nodes.size());
  // The node whose region holds V's value: an assign without a region of
  // its own forwards its operand's.
  auto Root = [&](ir::ValueId V) {
    while (!HasRegion[V] && F.node(V).Opcode == ir::Op::Assign)
      V = F.node(V).Operands[0];
    return V;
  };
  std::vector<uint32_t> Last(F.Nodes.size());
  std::iota(Last.begin(), Last.end(), 0u);
  for (ir::ValueId U = 0; U < End; ++U) {
    // A kernel reads its inputs until its end.
    uint32_t At = kernelOf(F, Fused, U).End - 1;
    for (ir::ValueId O : F.node(U).Operands) {
      ir::ValueId R = Root(O);
      Last[R] = std::max(Last[R], At);
    }
    if (F.node(U).Opcode == ir::Op::Assign)
      Last[Root(U)] = End;
  }
  for (const ir::Result &R : F.Results)
    Last[Root(R.Value)] = End;
  std::vector<LiveRange> Out;
  for (ir::ValueId V = 0; V < End; ++V)
    if (HasRegion[V]) {
      KernelSpan K = kernelOf(F, Fused, V);
      Out.push_back({V, K.Begin, std::max(Last[V], K.End - 1),
                     alignUp(bytesOf(F.type(V)))});
    }
  return Out;
}

/// Places the regions \p R in \p Order, each at the smallest gap that holds
/// it among the placed regions whose ranges meet its own, else above them;
/// fills \p Offset (per region) and returns the arena's size.
static uint64_t placeBestFit(const std::vector<LiveRange> &R,
                             const std::vector<size_t> &Order,
                             std::vector<uint64_t> &Offset) {
  Offset.assign(R.size(), 0);
  uint64_t Peak = 0;
  std::vector<size_t> Placed;
  std::vector<std::pair<uint64_t, uint64_t>> Busy; // [begin, end) in bytes
  for (size_t I : Order) {
    if (R[I].Bytes == 0)
      continue;
    Busy.clear();
    for (size_t P : Placed)
      if (R[P].First <= R[I].Last && R[I].First <= R[P].Last)
        Busy.push_back({Offset[P], Offset[P] + R[P].Bytes});
    std::sort(Busy.begin(), Busy.end());
    uint64_t Cur = 0, Best = UINT64_MAX, BestGap = UINT64_MAX;
    for (auto [Begin, End] : Busy) {
      if (Begin > Cur && Begin - Cur >= R[I].Bytes && Begin - Cur < BestGap) {
        Best = Cur;
        BestGap = Begin - Cur;
      }
      Cur = std::max(Cur, End);
    }
    Offset[I] = Best != UINT64_MAX ? Best : Cur;
    Peak = std::max(Peak, Offset[I] + R[I].Bytes);
    Placed.push_back(I);
  }
  return Peak;
}

FunctionLayout planFunction(const ir::Module &M, const ir::Function &F,
                            const ir::FusionInfo &Fused,
                            const std::vector<bool> &NeedsRegion) {
  FunctionLayout FL;
  FL.Values.resize(F.Nodes.size());
  FL.InPlace = findInPlaceUpdates(M, F, Fused, NeedsRegion);
  std::vector<bool> Has(NeedsRegion);
  for (ir::ValueId V = 0; V < F.Nodes.size(); ++V) {
    if (NeedsRegion[V])
      FL.UnplannedBytes += alignUp(bytesOf(F.type(V)));
    if (!FL.InPlace[V].empty())
      Has[V] = false;
  }
  std::vector<LiveRange> R = liveRanges(F, Fused, Has);

  // The lower bound: the most bytes live at one time.
  std::vector<int64_t> Delta(F.Nodes.size() + 2);
  for (const LiveRange &X : R) {
    Delta[X.First] += static_cast<int64_t>(X.Bytes);
    Delta[X.Last + 1] -= static_cast<int64_t>(X.Bytes);
  }
  int64_t Live = 0;
  for (int64_t D : Delta)
    FL.MaxLiveBytes = std::max<uint64_t>(FL.MaxLiveBytes, Live += D);

  // Best fit, in three orders; the smallest arena wins.
  auto BySize = [&](size_t A, size_t B) {
    if (R[A].Bytes != R[B].Bytes)
      return R[A].Bytes > R[B].Bytes;
    return R[A].Last - R[A].First > R[B].Last - R[B].First;
  };
  auto ByLength = [&](size_t A, size_t B) {
    if (R[A].Last - R[A].First != R[B].Last - R[B].First)
      return R[A].Last - R[A].First > R[B].Last - R[B].First;
    return R[A].Bytes > R[B].Bytes;
  };
  auto ByDefinition = [&](size_t, size_t) { return false; };
  std::vector<uint64_t> Offset;
  FL.ScratchBytes = UINT64_MAX;
  for (const std::function<bool(size_t, size_t)> &Less :
       {std::function<bool(size_t, size_t)>(BySize), {ByLength}, {ByDefinition}}) {
    std::vector<size_t> Order(R.size());
    std::iota(Order.begin(), Order.end(), size_t(0));
    std::stable_sort(Order.begin(), Order.end(), Less);
    std::vector<uint64_t> Off;
    uint64_t Peak = placeBestFit(R, Order, Off);
    if (Peak < FL.ScratchBytes) {
      FL.ScratchBytes = Peak;
      Offset = std::move(Off);
    }
  }
  for (size_t I = 0; I < R.size(); ++I)
    FL.Values[R[I].V] = Slot{Offset[I], bytesOf(F.type(R[I].V))};
  return FL;
}

} // namespace gradc::codegen
