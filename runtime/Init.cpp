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

Fans computeFans(const ir::Shape &S) { return ir::computeFans(S); }

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
  ir::InitSpec Spec = ir::resolveInit(Init, T);
  switch (Spec.K) {
  case ir::InitSpec::Fill:
    Fill(Spec.A);
    break;
  case ir::InitSpec::Uniform:
    Uniform(Spec.A, Spec.B);
    break;
  case ir::InitSpec::Normal:
    Normal(Spec.A, Spec.B);
    break;
  }
}

} // namespace gradc::runtime
