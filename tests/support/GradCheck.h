//===- tests/support/GradCheck.h - Gradient checks in f64 -------*- C++ -*-===//
#pragma once

#include "ir/Attr.h"
#include "ir/Op.h"
#include "ir/Types.h"

#include <string>
#include <vector>

namespace gradc::test {

/// Where an operand's random values come from: uniform in [Lo, Hi) (for
/// i32 operands, the integers in it).
struct Domain {
  double Lo = -2.0;
  double Hi = 2.0;
};

struct OpCase {
  ir::Op O;
  std::vector<ir::TensorType> Operands;
  std::vector<ir::NamedAttrValue> Attrs = {};
  std::vector<Domain> Domains = {}; // per operand; default [-2, 2)
};

/// A deterministic generator for test data (splitmix64).
class Random {
public:
  explicit Random(uint64_t Seed) : State(Seed) {}
  uint64_t next();
  double uniform(double Lo, double Hi);

private:
  uint64_t State;
};

/// Checks the gradient of sum(op(operands) * w) with respect to every float
/// operand against central differences (gtest failures on mismatch).
void checkOpGradient(const OpCase &C);
/// Autodiff of the backward graph: a Hessian-vector product of a small MLP
/// against central differences of its gradient.
void checkHessianVectorProduct();
/// The model at \p Path, with B = 2 and every f32 made f64: the gradient of
/// its loss with respect to each param (sampled elements) against central
/// differences.
void checkModelGradients(const std::string &Path);

} // namespace gradc::test
