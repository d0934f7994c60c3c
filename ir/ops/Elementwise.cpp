//===- ir/ops/Elementwise.cpp - Elementwise ops --------------------------===//
//
// Shape rules: unary ops keep their operand's type; binary ops take two float
// operands of the same dtype and broadcast their shapes as NumPy does. All
// arithmetic is float only (i32 must be cast first); `cast` and `identity`
// accept any dtype.
//
//===----------------------------------------------------------------------===//
#include "ir/ops/Common.h"

namespace gradc::ir {
using namespace ops;

/// Same float dtype, NumPy broadcasting.
static bool binaryRule(InferCtx &C) {
  DType T;
  Shape S;
  return requireSameFloat(C, T) && broadcastOperands(C, S) &&
         setResult(C, T, std::move(S));
}

/// A float operand; the result has its type.
static bool unaryFloatRule(InferCtx &C) {
  if (!requireFloat(C, 0))
    return false;
  C.Result = C.operand(0);
  return true;
}

/// Any dtype; the result has the operand's type.
static bool sameTypeRule(InferCtx &C) {
  C.Result = C.operand(0);
  return true;
}

// identity(x) = x, any dtype (a bare `a = b` in a model)
OpDef defineIdentity() { return {{}, sameTypeRule}; }

// add(a, b) = a + b
OpDef defineAdd() { return {{}, binaryRule}; }
// sub(a, b) = a - b
OpDef defineSub() { return {{}, binaryRule}; }
// mul(a, b) = a * b
OpDef defineMul() { return {{}, binaryRule}; }
// div(a, b) = a / b
OpDef defineDiv() { return {{}, binaryRule}; }
// neg(x) = -x
OpDef defineNeg() { return {{}, unaryFloatRule}; }
// maximum(a, b) = a >= b ? a : b
OpDef defineMaximum() { return {{}, binaryRule}; }
// minimum(a, b) = a <= b ? a : b
OpDef defineMinimum() { return {{}, binaryRule}; }
// pow(a, b) = a ^ b
OpDef definePow() { return {{}, binaryRule}; }
// exp(x) = e ^ x
OpDef defineExp() { return {{}, unaryFloatRule}; }
// log(x) = natural logarithm of x
OpDef defineLog() { return {{}, unaryFloatRule}; }
// sqrt(x) = x ^ 0.5
OpDef defineSqrt() { return {{}, unaryFloatRule}; }
// rsqrt(x) = 1 / sqrt(x)
OpDef defineRsqrt() { return {{}, unaryFloatRule}; }
// abs(x) = |x|
OpDef defineAbs() { return {{}, unaryFloatRule}; }
// square(x) = x * x
OpDef defineSquare() { return {{}, unaryFloatRule}; }
// sign(x) = -1, 0 or 1 (zero gradient)
OpDef defineSign() { return {{}, unaryFloatRule}; }
// relu(x) = max(x, 0)
OpDef defineRelu() { return {{}, unaryFloatRule}; }
// sigmoid(x) = 1 / (1 + exp(-x))
OpDef defineSigmoid() { return {{}, unaryFloatRule}; }
// tanh(x) = hyperbolic tangent of x
OpDef defineTanh() { return {{}, unaryFloatRule}; }
// softplus(x) = log(1 + exp(x)), linear (x) above 20
OpDef defineSoftplus() { return {{}, unaryFloatRule}; }
// gelu(x) = x * (1 + erf(x / sqrt(2))) / 2, the exact form
OpDef defineGelu() { return {{}, unaryFloatRule}; }

// leaky_relu(x) = x > 0 ? x : slope * x
OpDef defineLeakyRelu() {
  return {{{"slope", AttrKind::Float, 0.01}}, [](InferCtx &C) {
            return requireFinite(C, "slope") && unaryFloatRule(C);
          }};
}

// elu(x) = x > 0 ? x : alpha * (exp(x) - 1)
OpDef defineElu() {
  return {{{"alpha", AttrKind::Float, 1.0}}, [](InferCtx &C) {
            return requireFinite(C, "alpha") && unaryFloatRule(C);
          }};
}

// clamp(x) = min(max(x, lo), hi); lo <= hi (either may be infinite)
OpDef defineClamp() {
  return {{{"lo", AttrKind::Float, std::nullopt},
           {"hi", AttrKind::Float, std::nullopt}},
          [](InferCtx &C) {
            double Lo = C.getFloat("lo"), Hi = C.getFloat("hi");
            if (!(Lo <= Hi))
              return C.error("'clamp' needs lo <= hi, got lo = {}, hi = {}",
                             formatNumber(Lo), formatNumber(Hi));
            return unaryFloatRule(C);
          }};
}

// cast(x) = x converted to dtype `to`, any dtype to any dtype
OpDef defineCast() {
  return {{{"to", AttrKind::DType, std::nullopt}}, [](InferCtx &C) {
            C.Result = TensorType(C.getDType("to"), C.operand(0).Dims);
            return true;
          }};
}

} // namespace gradc::ir
