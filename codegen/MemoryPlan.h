//===- codegen/MemoryPlan.h - Scratch offsets by liveness -------*- C++ -*-===//
//
// The static memory plan of one function (the algorithm is described at the
// top of MemoryPlan.cpp): which assigned values are computed straight into
// their State slot, and an offset in the one Scratch arena for every other
// node that needs a region, regions whose values are live at the same time
// never overlapping.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/Codegen.h"
#include "ir/Fusion.h"

#include <cstdint>
#include <vector>

namespace gradc::codegen {

/// The live range of node \p V's region: written at node First, last read
/// at node Last; Last == Nodes.size() stands for the end of the function,
/// where results are copied out and assigned values copied to State.
struct LiveRange {
  ir::ValueId V;
  uint32_t First, Last;
  uint64_t Bytes; // rounded up to kAlign
};

/// Whether node \p V of \p F may leave the function through its error exit
/// (an i32 id checked against a range): conservative, a superset of the
/// kernels that call failIf.
bool mayFail(const ir::Function &F, ir::ValueId V);

/// The nodes [Begin, End) of the kernel that computes node \p V: its fusion
/// group, or V alone.
struct KernelSpan {
  ir::ValueId Begin, End;
};
KernelSpan kernelOf(const ir::Function &F, const ir::FusionInfo &Fused,
                    ir::ValueId V);

/// The values the kernel of node \p V reads from outside it, each once, in
/// order of first use (for a fusion group: the group's inputs).
std::vector<ir::ValueId> kernelInputs(const ir::Function &F,
                                      const ir::FusionInfo &Fused,
                                      ir::ValueId V);

/// Per node of \p F: the state symbol whose slot the node may compute its
/// value into in place (the rule is at the top of MemoryPlan.cpp), or empty.
/// \p NeedsRegion is Layout.cpp's predicate, per node.
std::vector<std::string> findInPlaceUpdates(const ir::Module &M,
                                            const ir::Function &F,
                                            const ir::FusionInfo &Fused,
                                            const std::vector<bool> &NeedsRegion);

/// The live range of every node with \p HasRegion set, in node order
/// (positions of fused members are their group's: see MemoryPlan.cpp).
std::vector<LiveRange> liveRanges(const ir::Function &F,
                                  const ir::FusionInfo &Fused,
                                  const std::vector<bool> &HasRegion);

/// The plan of \p F: FunctionLayout's Values, InPlace, ScratchBytes (the
/// planned peak), UnplannedBytes and MaxLiveBytes.
FunctionLayout planFunction(const ir::Module &M, const ir::Function &F,
                            const ir::FusionInfo &Fused,
                            const std::vector<bool> &NeedsRegion);

} // namespace gradc::codegen
