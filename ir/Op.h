//===- ir/Op.h - The operation enum and its static facts --------*- C++ -*-===//
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace gradc::ir {

enum class Op : uint16_t {
#define GRADC_OP(Name, Mnemonic, Min, Max, Family, Flags) Name,
#include "ir/Ops.def"
};

enum class OpFamily : uint8_t {
  Source,
  Elementwise,
  Reduce,
  Movement,
  Linalg,
  NN,
  Loss
};

enum OpFlags : unsigned {
  OF_None = 0,
  OF_Internal = 1u << 0,
  OF_NoGrad = 1u << 1,
  OF_Symbol = 1u << 2,
  OF_SideEffect = 1u << 3,
  OF_Random = 1u << 4,
};

struct OpInfo {
  std::string_view Mnemonic;
  int MinOperands;
  int MaxOperands; // -1: unbounded
  OpFamily Family;
  unsigned Flags;

  bool has(OpFlags F) const { return (Flags & F) != 0; }
};

const OpInfo &getOpInfo(Op O);
inline std::string_view mnemonic(Op O) { return getOpInfo(O).Mnemonic; }
/// Finds an op by mnemonic, internal ops included.
std::optional<Op> lookupOp(std::string_view Mnemonic);
std::string_view familyName(OpFamily F);

} // namespace gradc::ir
