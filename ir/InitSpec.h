//===- ir/InitSpec.h - What an initializer call draws -----------*- C++ -*-===//
//
// An initializer call (`he_normal`, `uniform {lo, hi}`, ...) of a tensor
// type resolved to one of three draws: a fill with one value, uniform(A, B)
// or normal(mean A, std B), with the fans of the shape (runtime/Init.h has
// the formulas). One definition for both places that draw values: the
// runtime's initializers (runtime/Init.cpp) and the AOT object's NAME_init
// (codegen/AotInit.cpp), so both compute the same doubles.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Module.h"

#include <cassert>
#include <cmath>

namespace gradc::ir {

/// fan_in and fan_out of a tensor of shape \p S: [in, out]; [n]: both n; a
/// scalar: both 1; rank >= 3: dims[1] * prod(dims[2:]) and
/// dims[0] * prod(dims[2:]) (PyTorch's rule for conv weights).
struct Fans {
  double In = 1;
  double Out = 1;
};

inline Fans computeFans(const Shape &S) {
  Fans F;
  if (S.empty())
    return F;
  if (S.size() == 1) {
    F.In = F.Out = static_cast<double>(S[0]);
    return F;
  }
  double Receptive = 1;
  for (size_t I = 2; I < S.size(); ++I)
    Receptive *= static_cast<double>(S[I]);
  if (S.size() == 2) {
    F.In = static_cast<double>(S[0]);
    F.Out = static_cast<double>(S[1]);
  } else {
    F.In = static_cast<double>(S[1]) * Receptive;
    F.Out = static_cast<double>(S[0]) * Receptive;
  }
  return F;
}

struct InitSpec {
  enum Kind : uint8_t { Fill, Uniform, Normal };
  Kind K = Fill;
  /// Fill: the value. Uniform: lo, hi. Normal: mean, std.
  double A = 0, B = 0;
};

/// The draw of initializer \p Init (arguments bound, as the front end leaves
/// them) for a tensor of type \p T. A zero fan gives zeros.
inline InitSpec resolveInit(const Call &Init, const TensorType &T) {
  const std::string &Name = Init.Name;
  Fans F = computeFans(T.Dims);
  auto Ratio = [](double Num, double Den) { return Den > 0 ? Num / Den : 0.0; };
  if (Name == "zeros" || Name.empty())
    return {InitSpec::Fill, 0, 0};
  if (Name == "ones")
    return {InitSpec::Fill, 1, 0};
  if (Name == "constant")
    return {InitSpec::Fill, getFloat(Init.Args, "value"), 0};
  if (Name == "uniform")
    return {InitSpec::Uniform, getFloat(Init.Args, "lo"),
            getFloat(Init.Args, "hi")};
  if (Name == "normal")
    return {InitSpec::Normal, getFloat(Init.Args, "mean"),
            getFloat(Init.Args, "std")};
  if (Name == "glorot_uniform") {
    double A = std::sqrt(Ratio(6, F.In + F.Out));
    return {InitSpec::Uniform, -A, A};
  }
  if (Name == "glorot_normal")
    return {InitSpec::Normal, 0, std::sqrt(Ratio(2, F.In + F.Out))};
  if (Name == "he_uniform") {
    double A = std::sqrt(Ratio(6, F.In));
    return {InitSpec::Uniform, -A, A};
  }
  if (Name == "he_normal")
    return {InitSpec::Normal, 0, std::sqrt(Ratio(2, F.In))};
  assert(false && "unknown initializer (the front end checks them)");
  return {};
}

} // namespace gradc::ir
