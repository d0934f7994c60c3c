//===- ir/Verifier.h - Structural and type checks of a module ---*- C++ -*-===//
#pragma once

#include "ir/Module.h"

#include <string>
#include <vector>

namespace gradc::ir {

/// Checks every invariant of \p M: operands defined before use, operand
/// counts, attributes complete and of the right kinds, types equal to what
/// the shape rules give, symbols and results resolvable, names unique.
/// Returns the problems found, each naming the function and value; empty when
/// the module is well formed.
std::vector<std::string> verifyModule(const Module &M);

} // namespace gradc::ir
