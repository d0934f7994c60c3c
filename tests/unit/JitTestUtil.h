//===- tests/unit/JitTestUtil.h - Comparing JIT and interpreter -*- C++ -*-===//
//
// The element-wise comparison of JitTest.cpp and JitModelTest.cpp: with a
// the JIT's value and b the interpreter's, |a - b| <= Rtol * max(|b|, Floor);
// NaN must meet NaN, infinities must be equal, i32 values must be equal.
// The tolerances themselves are justified where they are chosen.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "GradCheck.h"
#include "ir/Interpreter.h"
#include "runtime/Executable.h"
#include "runtime/Interp.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>
#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace gradc::test {

/// Compares \p Got with \p Want element by element; reports up to 5
/// elements out of tolerance.
inline void expectClose(const ir::Tensor &Got, const ir::Tensor &Want,
                        double Rtol, double Floor, const std::string &What) {
  ASSERT_EQ(Got.size(), Want.size()) << What;
  int Bad = 0;
  for (size_t I = 0; I < Got.size() && Bad < 5; ++I) {
    double A = Got.Data[I], B = Want.Data[I];
    bool Ok = std::isnan(B)                   ? std::isnan(A)
              : std::isinf(B)                 ? A == B
              : Want.Type.Elt == ir::DType::I32 ? A == B
                  : std::fabs(A - B) <= Rtol * std::max(std::fabs(B), Floor);
    if (!Ok) {
      ++Bad;
      ADD_FAILURE() << What << ": element " << I << " is " << A
                    << ", expected " << B << " (difference " << A - B << ")";
    }
  }
}

/// The whole text of the file at \p Path.
inline std::string slurp(const std::string &Path) {
  std::ifstream In(Path);
  std::stringstream SS;
  SS << In.rdbuf();
  return SS.str();
}

/// One random batch for every input of \p X: floats uniform in [-1, 1),
/// i32 inputs class ids 0 or 1 (valid for every model's class count).
inline std::vector<std::vector<uint8_t>>
randomBatch(const runtime::Executable &X, Random &R) {
  std::vector<std::vector<uint8_t>> Out;
  for (const runtime::TensorInfo &I : X.inputs()) {
    std::vector<double> V(static_cast<size_t>(I.Type.numElements()));
    for (double &D : V)
      D = I.Type.Elt == ir::DType::I32 ? std::floor(R.uniform(0, 2))
                                       : R.uniform(-1, 1);
    Out.emplace_back(V.size() * ir::dtypeSize(I.Type.Elt));
    runtime::doublesToBytes(I.Type.Elt, V.data(), V.size(), Out.back().data());
  }
  return Out;
}

} // namespace gradc::test
