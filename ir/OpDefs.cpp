#include "ir/OpDefs.h"

namespace gradc::ir {

// Each family file defines define<Name>() for its ops.
#define GRADC_OP(Name, Mnemonic, Min, Max, Family, Flags) OpDef define##Name();
#include "ir/Ops.def"

static const std::vector<OpDef> &table() {
  static const std::vector<OpDef> Table = {
#define GRADC_OP(Name, Mnemonic, Min, Max, Family, Flags) define##Name(),
#include "ir/Ops.def"
  };
  return Table;
}

const OpDef &getOpDef(Op O) { return table()[static_cast<size_t>(O)]; }

bool inferType(Op O, std::span<const TensorType> Operands, AttrList &Attrs,
               TensorType &Result, std::string &Err, int &ErrOperand) {
  const OpInfo &Info = getOpInfo(O);
  int N = static_cast<int>(Operands.size());
  ErrOperand = -1;
  if (N < Info.MinOperands || (Info.MaxOperands >= 0 && N > Info.MaxOperands)) {
    int Max = Info.MaxOperands;
    std::string Expect =
        Max == Info.MinOperands ? fmt::format("{}", Max)
        : Max < 0               ? fmt::format("at least {}", Info.MinOperands)
                                : fmt::format("{} to {}", Info.MinOperands, Max);
    Err = fmt::format("'{}' expects {} tensor argument{}, got {}", Info.Mnemonic,
                      Expect, Expect == "1" ? "" : "s", N);
    return false;
  }
  InferCtx C(O, Operands, Attrs);
  if (!getOpDef(O).Infer(C)) {
    Err = std::move(C.Error);
    ErrOperand = C.ErrorOperand;
    return false;
  }
  Result = std::move(C.Result);
  return true;
}

} // namespace gradc::ir
