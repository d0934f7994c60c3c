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
//   matmul  the root, a matmul or matmul_t (matmul), conv2d (conv), or
//   conv    softmax or log_softmax over the last axis (softmax), is the
//   softmax first member; then elementwise members of the root's shape: its
//           epilogue (bias add, activation, the backward activation mask,
//           the cross-entropy gradient `softmax - one_hot`, an SGD step),
//           and ops of that shape reading only values from outside (the
//           mask's comparison). Outside operands may broadcast. The kernel
//           computes each result row (matmul, softmax) or plane (conv)
//           exactly as the unfused kernel does, then the other members on
//           it, and stores the outputs. The product needs a buffer to
//           accumulate in: its own when it is an output, else an output of
//           the same type (the epilogue reads each element before it
//           overwrites it). So the root is computed once, and its raw result
//           is stored only when it is used outside the group.
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

/// The group kind whose root \p N can be (matmul, conv, softmax), if any.
std::optional<FusionKind> epilogueKind(const Node &N);
inline bool isEpilogueKind(FusionKind K) {
  return K == FusionKind::Matmul || K == FusionKind::Conv ||
         K == FusionKind::Softmax;
}

/// Where the product of matmul or conv group \p G accumulates: the root
/// when it is an output, else the first output of the root's type; none
/// when no output can hold it (the group is then illegal).
std::optional<ValueId> epilogueAccumulator(const Function &F,
                                           const FusionInfo &Info,
                                           const FusionGroup &G);

/// What is wrong with the groups of \p F (empty when they are legal).
std::vector<std::string> verifyGroups(const Function &F);

} // namespace gradc::ir
