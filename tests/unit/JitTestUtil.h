//===- tests/unit/JitTestUtil.h - Comparing JIT and interpreter -*- C++ -*-===//
//
// The element-wise comparison of JitTest.cpp and JitModelTest.cpp: with a
// the JIT's value and b the interpreter's, |a - b| <= Rtol * max(|b|, Floor);
// NaN must meet NaN, infinities must be equal, i32 values must be equal.
// The tolerances themselves are justified where they are chosen.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Interpreter.h"

#include <algorithm>
#include <cmath>
#include <gtest/gtest.h>
#include <string>

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

} // namespace gradc::test
