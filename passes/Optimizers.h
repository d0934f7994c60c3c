//===- passes/Optimizers.h - Clipping and optimizer updates in IR -*- C++ -*-===//
#pragma once

#include "ir/Builder.h"

#include <vector>

namespace gradc::passes {

/// One trained param: its symbol name, its value in the step, its gradient.
struct ParamGrad {
  std::string Symbol;
  ir::ValueId Value;
  ir::ValueId Grad;
};

/// clip_grad_norm as PyTorch: scales every gradient by
/// min(1, MaxNorm / (total L2 norm + 1e-6)).
void buildClipGradNorm(ir::Builder &B, std::vector<ParamGrad> &Params,
                       double MaxNorm, Loc L);

/// The optimizer's update of every param, with PyTorch's equations, reading
/// and assigning its state slots `optimizer/PARAM/SLOT` (added to \p M).
/// \p Lr is the learning rate and \p T the 1-based number of this step, both
/// f64 scalars.
void buildOptimizerUpdate(ir::Module &M, ir::Builder &B, const ir::Call &Opt,
                          const std::vector<ParamGrad> &Params, ir::ValueId Lr,
                          ir::ValueId T, Loc L);

} // namespace gradc::passes
