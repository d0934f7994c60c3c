//===- runtime/Init.cpp - Reproducible parameter initializers -------------===//
//
// The counter-based generator and the initializers documented in Init.h.
//
//===----------------------------------------------------------------------===//
#include "runtime/Init.h"

#include <cassert>
#include <cmath>

namespace gradc::runtime {

static constexpr uint64_t Golden = 0x9E3779B97F4A7C15ULL;

uint64_t splitmix64(uint64_t X) {
  uint64_t Z = X + Golden;
  Z = (Z ^ (Z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  Z = (Z ^ (Z >> 27)) * 0x94D049BB133111EBULL;
  return Z ^ (Z >> 31);
}

uint64_t fnv1a64(std::string_view S) {
  uint64_t H = 0xCBF29CE484222325ULL;
  for (char C : S)
    H = (H ^ static_cast<uint8_t>(C)) * 0x100000001B3ULL;
  return H;
}

static uint64_t streamKey(uint64_t Seed, std::string_view Name) {
  return splitmix64(splitmix64(Seed) ^ fnv1a64(Name));
}

static double uniformAt(uint64_t Key, uint64_t J) {
  uint64_t Bits = splitmix64(Key + J * Golden);
  return (static_cast<double>(Bits >> 11) + 0.5) * 0x1p-53;
}

double initUniform(uint64_t Seed, std::string_view SymbolName, uint64_t J) {
  return uniformAt(streamKey(Seed, SymbolName), J);
}

Fans computeFans(const ir::Shape &S) {
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

static double roundToDType(double V, ir::DType T) {
  switch (T) {
  case ir::DType::F32:
    return static_cast<double>(static_cast<float>(V));
  case ir::DType::I32:
    return std::nearbyint(V);
  case ir::DType::F64:
    break;
  }
  return V;
}

void initialize(const ir::Call &Init, const ir::TensorType &T, uint64_t Seed,
                std::string_view SymbolName, double *Out) {
  const int64_t N = T.numElements();
  const uint64_t Key = streamKey(Seed, SymbolName);
  const std::string &Name = Init.Name;
  auto Fill = [&](double V) {
    V = roundToDType(V, T.Elt);
    for (int64_t I = 0; I < N; ++I)
      Out[I] = V;
  };
  auto Uniform = [&](double Lo, double Hi) {
    for (int64_t I = 0; I < N; ++I)
      Out[I] = roundToDType(
          Lo + (Hi - Lo) * uniformAt(Key, static_cast<uint64_t>(I)), T.Elt);
  };
  auto Normal = [&](double Mean, double Std) {
    const double Pi = 3.141592653589793;
    for (int64_t I = 0; I < N; ++I) {
      uint64_t J = 2 * static_cast<uint64_t>(I);
      double U1 = uniformAt(Key, J), U2 = uniformAt(Key, J + 1);
      double Z = std::sqrt(-2.0 * std::log(U1)) * std::cos(2.0 * Pi * U2);
      Out[I] = roundToDType(Mean + Std * Z, T.Elt);
    }
  };
  Fans F = computeFans(T.Dims);
  // A zero fan (an empty dimension) has no elements to fill anyway; guard
  // the division all the same.
  auto Ratio = [](double Num, double Den) { return Den > 0 ? Num / Den : 0.0; };

  if (Name == "zeros" || Name.empty())
    Fill(0);
  else if (Name == "ones")
    Fill(1);
  else if (Name == "constant")
    Fill(ir::getFloat(Init.Args, "value"));
  else if (Name == "uniform")
    Uniform(ir::getFloat(Init.Args, "lo"), ir::getFloat(Init.Args, "hi"));
  else if (Name == "normal")
    Normal(ir::getFloat(Init.Args, "mean"), ir::getFloat(Init.Args, "std"));
  else if (Name == "glorot_uniform") {
    double A = std::sqrt(Ratio(6, F.In + F.Out));
    Uniform(-A, A);
  } else if (Name == "glorot_normal")
    Normal(0, std::sqrt(Ratio(2, F.In + F.Out)));
  else if (Name == "he_uniform") {
    double A = std::sqrt(Ratio(6, F.In));
    Uniform(-A, A);
  } else if (Name == "he_normal")
    Normal(0, std::sqrt(Ratio(2, F.In)));
  else {
    assert(false && "unknown initializer (the front end checks them)");
    Fill(0);
  }
}

} // namespace gradc::runtime
