//===- ir/ops/Source.cpp - constant, input, param ---------------------------===//
//
// Sources have no operands. Their type is not inferred: an input or param
// node has the type of the module symbol it reads, a constant the type it is
// given (a splat of `value`). The builder and the IR parser set it directly
// and the verifier checks it.
//
//===----------------------------------------------------------------------===//
#include "ir/OpDefs.h"

namespace gradc::ir {

static bool noRule(InferCtx &C) {
  return C.error("'{}' has no shape rule: its type is given", C.name());
}

OpDef defineConstant() {
  return {{{"value", AttrKind::Float, std::nullopt}}, noRule};
}
OpDef defineInput() { return {{}, noRule}; }
OpDef defineParam() { return {{}, noRule}; }

OpDef defineAssign() { return {{}, noRule}; }

} // namespace gradc::ir
