//===- runtime/Init.h - Reproducible parameter initializers -----*- C++ -*-===//
//
// The initializers of SPEC §1 (`zeros`, `ones`, `constant(v)`, `uniform(lo,
// hi)`, `normal(mean, std)`, `glorot_uniform`, `glorot_normal`, `he_uniform`,
// `he_normal`). Every value depends only on (seed, symbol name, element
// index), never on the order in which tensors are initialized, so the same
// formula can be emitted in C or LLVM IR for the AOT `NAME_init(state, seed)`
// and give bit-identical doubles. The formula, exactly:
//
//   mix(z)       z ^= z >> 30; z *= 0xBF58476D1CE4E5B9;
//                z ^= z >> 27; z *= 0x94D049BB133111EB; z ^= z >> 31
//   splitmix(x)  mix(x + 0x9E3779B97F4A7C15)          (all arithmetic mod 2^64)
//   fnv1a(name)  h = 0xCBF29CE484222325; for each byte c: h = (h ^ c) *
//   0x100000001B3 key          splitmix(splitmix(seed) ^ fnv1a(name)) bits(j)
//   splitmix(key + j * 0x9E3779B97F4A7C15), i.e. output j of a
//                SplitMix64 generator started at key
//   u(j)         ((bits(j) >> 11) + 0.5) * 2^-53,     a double in (0, 1)
//
// Element i of a tensor (row-major index) is then, in double precision:
//   uniform(lo, hi)     lo + (hi - lo) * u(i)
//   normal(mean, std)   mean + std * sqrt(-2 log u(2i)) * cos(2 pi u(2i + 1))
//                       (Box-Muller; pi = 3.141592653589793)
//   glorot_uniform      uniform(-a, a), a = sqrt(6 / (fan_in + fan_out))
//   glorot_normal       normal(0, sqrt(2 / (fan_in + fan_out)))
//   he_uniform          uniform(-a, a), a = sqrt(6 / fan_in)
//   he_normal           normal(0, sqrt(2 / fan_in))
// and is rounded to the tensor's dtype when stored. A zero fan gives zeros.
//
// Fans of a shape: [in, out]: fan_in = in, fan_out = out; [n]: both n; a
// scalar: both 1; rank >= 3 (PyTorch's rule, which for a conv weight
// [Cout, Cin, KH, KW] gives Cin*KH*KW and Cout*KH*KW): fan_in =
// dims[1] * prod(dims[2:]), fan_out = dims[0] * prod(dims[2:]).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/InitSpec.h"

#include <cstdint>
#include <string_view>

namespace gradc::runtime {

/// fan_in and fan_out of a tensor of shape \p S (see above).
using ir::Fans;
Fans computeFans(const ir::Shape &S);

/// splitmix(x) above.
uint64_t splitmix64(uint64_t X);
/// fnv1a(name) above.
uint64_t fnv1a64(std::string_view S);
/// u(j) of the stream of (\p Seed, \p SymbolName).
double initUniform(uint64_t Seed, std::string_view SymbolName, uint64_t J);

/// Fills \p Out (T.numElements() doubles, row-major) with the values of
/// initializer \p Init for the tensor \p SymbolName of type \p T, already
/// rounded to T's dtype. \p Init must be one of the initializers above with
/// its arguments bound (as the front end leaves them).
void initialize(const ir::Call &Init, const ir::TensorType &T, uint64_t Seed,
                std::string_view SymbolName, double *Out);

} // namespace gradc::runtime
