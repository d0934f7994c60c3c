//===- passes/Differentiate.h - Reverse-mode autodiff core ------*- C++ -*-===//
#pragma once

#include "ir/Builder.h"

#include <optional>
#include <span>
#include <string>
#include <vector>

namespace gradc::passes {

/// An op on the path from a parameter to the loss that has no gradient rule.
struct MissingRule {
  ir::ValueId Value;
  ir::Op Opcode;
  Loc L;
};

struct Gradients {
  /// The gradient of the loss with respect to each of Wrt, or nullopt where
  /// the loss does not depend on it.
  std::vector<std::optional<ir::ValueId>> Of;
  /// Non-empty when differentiation failed: every op without a rule.
  std::vector<MissingRule> Missing;
};

/// Appends to \p F (through \p B) the gradient of the scalar \p Loss with
/// respect to each of \p Wrt: a reverse sweep over the nodes in reverse
/// topological order, calling each op's gradient rule and summing the
/// contributions of values used several times. The rules are IR ops, so the
/// result can be differentiated again.
Gradients differentiate(ir::Builder &B, ir::ValueId Loss,
                        std::span<const ir::ValueId> Wrt);

/// Sums \p G (of a shape \p Target broadcasts to) down to \p Target.
ir::ValueId sumToShape(ir::Builder &B, ir::ValueId G, ir::Shape Target, Loc L);

} // namespace gradc::passes
