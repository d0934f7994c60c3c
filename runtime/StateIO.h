//===- runtime/StateIO.h - State to and from checkpoints --------*- C++ -*-===//
//
// Saves a model's state (params, optimizer slots, running statistics, and
// the completed step count as the metadata "step") as a safetensors
// checkpoint, atomically; and loads one into an executable:
//   Init (`train --init`)   whatever the file holds of the model's tensors,
//                           and the step; the rest keeps its initial value.
//   Load (`eval/predict --load`)  the same, but every param and running
//                           statistic must be in the file (optimizer slots
//                           need not).
// Either way a tensor whose dtype or shape differs from the model's is an
// error naming it, a tensor the model does not have is a warning naming it,
// and nothing is written to the executable unless the whole file is good.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Executable.h"

#include <string>
#include <vector>

namespace gradc::runtime {

bool saveState(const Executable &X, const std::string &Path, std::string &Err);

enum class LoadMode { Init, Load };

/// Loads \p Path into \p X; warnings (unknown tensors) are appended to
/// \p Warnings.
bool loadState(Executable &X, const std::string &Path, LoadMode Mode,
               std::vector<std::string> &Warnings, std::string &Err);

} // namespace gradc::runtime
