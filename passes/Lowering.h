//===- passes/Lowering.h - Training and inference forms ---------*- C++ -*-===//
#pragma once

#include "ir/Module.h"

#include <vector>

namespace gradc::passes {

enum class Mode { Train, Infer };

/// Copies the nodes of \p Src into \p Dst (which must be in \p M), replacing
/// the ops whose meaning depends on the mode by plain ops:
///   batch_norm  Train: batch statistics (biased variance), and `assign`s of
///               the running mean and variance (unbiased) to state symbols
///               NAME.running_mean / NAME.running_var, NAME being the value
///               the result is bound to (batch_norm_K for the K-th unnamed
///               one). Infer: the running statistics.
///   dropout     Train: x * dropout_mask(@.seed, @.step). Infer: x.
/// Adds the state symbols it reads to \p M. Returns the map from Src's value
/// ids to Dst's.
std::vector<ir::ValueId> cloneForMode(ir::Module &M, const ir::Function &Src,
                                      ir::Function &Dst, Mode Mode);

/// The symbol \p Name of \p M, added as f64[] state initialized to zero if
/// absent (the step counter `.step`, the dropout seed `.seed`).
const ir::Symbol &scalarState(ir::Module &M, std::string_view Name);

} // namespace gradc::passes
