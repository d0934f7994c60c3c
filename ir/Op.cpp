#include "ir/Op.h"

namespace gradc::ir {

static const OpInfo Infos[] = {
#define GRADC_OP(Name, Mnemonic, Min, Max, Family, Flags)                      \
  {Mnemonic, Min, Max, OpFamily::Family, Flags},
#include "ir/Ops.def"
};

const OpInfo &getOpInfo(Op O) { return Infos[static_cast<size_t>(O)]; }

std::optional<Op> lookupOp(std::string_view Mnemonic) {
  for (size_t I = 0; I < std::size(Infos); ++I)
    if (Infos[I].Mnemonic == Mnemonic)
      return static_cast<Op>(I);
  return std::nullopt;
}

std::string_view familyName(OpFamily F) {
  switch (F) {
  case OpFamily::Source:
    return "source";
  case OpFamily::Elementwise:
    return "elementwise";
  case OpFamily::Reduce:
    return "reduce";
  case OpFamily::Movement:
    return "movement";
  case OpFamily::Linalg:
    return "linalg";
  case OpFamily::NN:
    return "nn";
  case OpFamily::Loss:
    return "loss";
  }
  return "?";
}

} // namespace gradc::ir
