//===- ir/IRParser.h - Text to IR ---------------------------------*- C++ -*-===//
#pragma once

#include "ir/Diagnostics.h"
#include "ir/Module.h"

#include <memory>

namespace gradc::ir {

/// Parses textual IR as printed by printModule. Errors (with the IR file's
/// line and column) go to \p Diags; returns null on any error. The result is
/// verified.
std::unique_ptr<Module> parseModule(const SourceFile &Src,
                                    DiagnosticEngine &Diags);

} // namespace gradc::ir
