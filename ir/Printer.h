//===- ir/Printer.h - IR to text ---------------------------------*- C++ -*-===//
#pragma once

#include "ir/Module.h"

#include <ostream>
#include <string>

namespace gradc::ir {

/// Prints \p M in the textual IR form; parseModule reads it back exactly.
void printModule(const Module &M, std::ostream &OS);
std::string printModule(const Module &M);

} // namespace gradc::ir
