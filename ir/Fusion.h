//===- ir/Fusion.h - Fusion groups: what they mean, when they are legal -*- C++ -*-===//
//
// A fusion group (Module.h, FusionGroup) is a contiguous run of nodes of a
// function that codegen compiles as one kernel. Its members' values live in
// registers; a member is an *output* of its group, and gets a buffer, when a
// node outside the group reads it, a function result names it or an assign
// writes it. Kinds:
//   loop    elementwise members whose results all have the group's shape
//           (the first member's); their operands from outside the group may
//           broadcast. One loop nest over the shape computes every member
//           per element and stores the outputs.
//   reduce  elementwise producers, then one sum, mean or max (the last
//           member, the only output) whose operand is a member. The
//           producers have the reduction operand's shape and are used only
//           inside the group (their outside operands may broadcast), so the
//           reduction computes each element it reads in place: exactly once
//           (sum, mean and max read each element once, so nothing is
//           recomputed).
// Nodes keep their own types and rounding in a group, so fused code
// computes the same values as unfused code.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Module.h"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gradc::ir {

std::string_view fusionKindName(FusionKind K);
std::optional<FusionKind> parseFusionKind(std::string_view Name);

/// Per node of a function: its group and whether it needs a buffer.
struct FusionInfo {
  std::vector<int> GroupOf;   // group index, or -1
  std::vector<bool> IsOutput; // members read outside their group
  bool isInternal(ValueId V) const { return GroupOf[V] >= 0 && !IsOutput[V]; }
};
FusionInfo analyzeFusion(const Function &F);

/// The kernels codegen emits for \p F: one per group and one per node
/// outside groups that is not a source (constant, input, param, assign).
size_t countKernels(const Function &F);

/// Whether \p O may end a reduce group (sum, mean, max).
bool isFusableReduction(Op O);

/// What is wrong with the groups of \p F (empty when they are legal).
std::vector<std::string> verifyGroups(const Function &F);

} // namespace gradc::ir
