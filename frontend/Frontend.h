//===- frontend/Frontend.h - Model text to graph IR -------------*- C++ -*-===//
//
// The front end: lexer -> parser (AST) -> IRGen (name resolution, constants,
// shape and dtype checking through the op table) -> ir::Module with one
// function, @model. All problems are reported through the DiagnosticEngine.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Diagnostics.h"
#include "ir/Module.h"

#include <memory>
#include <span>
#include <string>

namespace gradc {

/// A `-D NAME=VALUE` override of a model constant, as typed by the user.
struct Define {
  std::string Name;
  std::string Value;
};

/// Parses and checks the model in \p Src. Returns null when any error was
/// reported (warnings do not count). Never crashes, hangs or reads out of
/// bounds, whatever the text.
std::unique_ptr<ir::Module> loadModel(const SourceFile &Src,
                                      std::span<const Define> Defines,
                                      DiagnosticEngine &Diags);

} // namespace gradc
