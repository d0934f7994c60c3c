//===- tests/unit/FrontendTestUtil.h - loadModel on a string ----*- C++ -*-===//
//
// Helpers for the front-end tests: load a model from text and capture what
// the diagnostic engine prints.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "frontend/Frontend.h"

#include <gtest/gtest.h>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace gradc::fetest {

struct Loaded {
  std::unique_ptr<ir::Module> M;
  std::string Diags;
};

inline Loaded load(const std::string &Text, std::vector<Define> Defines = {},
                   const std::string &File = "m.nn") {
  SourceFile Src(File, Text);
  std::ostringstream OS;
  DiagnosticEngine Diags(OS);
  Diags.setSource(&Src);
  Loaded L;
  L.M = loadModel(Src, Defines, Diags);
  L.Diags = OS.str();
  return L;
}

/// Loading \p Text fails with exactly \p Expected on stderr.
inline void expectDiags(const std::string &Text, const std::string &Expected,
                        std::vector<Define> Defines = {}) {
  Loaded L = load(Text, std::move(Defines));
  EXPECT_EQ(L.M, nullptr) << Text;
  EXPECT_EQ(L.Diags, Expected) << Text;
}

} // namespace gradc::fetest
