//===- ir/ops/Elementwise.cpp - Elementwise ops --------------------------===//
//
// Shape rules: unary ops keep their operand's type; binary ops take two float
// operands of the same dtype and broadcast their shapes as NumPy does. All
// arithmetic is float only (i32 must be cast first); `cast` and `identity`
// accept any dtype.
//
// Semantics: every op evaluates through evalElementwise (Elementwise.h), the
// one definition shared with the LLVM emitter. Gradient rules follow PyTorch
// 1.13's derivatives.yaml, masks included (where PyTorch writes
// `where(c, grad, 0)` so do we, with select, so an infinite or NaN gradient
// outside the mask does not leak through as NaN).
//
//===----------------------------------------------------------------------===//
#include "ir/ops/Elementwise.h"
#include "ir/Grad.h"
#include "ir/Interpreter.h"
#include "ir/ops/Common.h"

#include <cmath>

namespace gradc::ir {
using namespace ops;

/// The interpreter's scalar algebra for evalElementwise: plain f64.
struct DoubleSem {
  using Value = double;
  double c(double D) { return D; }
  double add(double A, double B) { return A + B; }
  double sub(double A, double B) { return A - B; }
  double mul(double A, double B) { return A * B; }
  double div(double A, double B) { return A / B; }
  double min(double A, double B) { return std::isnan(A) || A < B ? A : B; }
  double max(double A, double B) { return std::isnan(A) || A > B ? A : B; }
  double pow(double A, double B) { return std::pow(A, B); }
  double neg(double A) { return -A; }
  double exp(double A) { return std::exp(A); }
  double expm1(double A) { return std::expm1(A); }
  double log(double A) { return std::log(A); }
  double log1p(double A) { return std::log1p(A); }
  double sqrt(double A) { return std::sqrt(A); }
  double abs(double A) { return std::fabs(A); }
  double tanh(double A) { return std::tanh(A); }
  double erf(double A) { return std::erf(A); }
  double trunc(double A) { return std::trunc(A); }
  double gt(double A, double B) { return A > B ? 1.0 : 0.0; }
  double ge(double A, double B) { return A >= B ? 1.0 : 0.0; }
  double eq(double A, double B) { return A == B ? 1.0 : 0.0; }
  double select(double C, double A, double B) { return C != 0 ? A : B; }
};

/// Every elementwise op evaluates the same way: broadcast the operands to
/// the result's shape and apply evalElementwise per element.
static bool evalRule(EvalCtx &C) {
  std::vector<Shape> Shapes;
  for (size_t I = 0; I < C.numOperands(); ++I)
    Shapes.push_back(C.in(I).Type.Dims);
  DoubleSem Sem;
  std::vector<double> X(C.numOperands());
  Tensor &Out = C.out();
  forEachBroadcast(Out.Type.Dims, Shapes,
                   [&](int64_t O, std::span<const int64_t> In) {
                     for (size_t I = 0; I < X.size(); ++I)
                       X[I] = C.in(I).Data[In[I]];
                     Out.Data[O] = evalElementwise(Sem, C.op(), C.node().Attrs,
                                                   std::span<const double>(X));
                   });
  return true;
}

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

//===----------------------------------------------------------------------===//
// Gradient rules
//===----------------------------------------------------------------------===//

namespace {
/// Terse IR construction for the gradient rules: every node is made at the
/// forward node's location, constants in the gradient's dtype.
struct Ir {
  GradCtx &C;
  ValueId g() const { return C.grad(); }
  ValueId x(size_t I = 0) const { return C.operand(I); }
  ValueId out() const { return C.out(); }
  ValueId k(double V) { return C.scalar(V); }
  ValueId un(Op O, ValueId A) { return C.make(O, {A}); }
  ValueId bin(Op O, ValueId A, ValueId B) { return C.make(O, {A, B}); }
  ValueId add(ValueId A, ValueId B) { return bin(Op::Add, A, B); }
  ValueId sub(ValueId A, ValueId B) { return bin(Op::Sub, A, B); }
  ValueId mul(ValueId A, ValueId B) { return bin(Op::Mul, A, B); }
  ValueId div(ValueId A, ValueId B) { return bin(Op::Div, A, B); }
  ValueId gt(ValueId A, ValueId B) { return bin(Op::Gt, A, B); }
  ValueId ge(ValueId A, ValueId B) { return bin(Op::Ge, A, B); }
  ValueId eq(ValueId A, ValueId B) { return bin(Op::Eq, A, B); }
  ValueId select(ValueId Cond, ValueId A, ValueId B) {
    return C.make(Op::Select, {Cond, A, B});
  }
  /// Sets operand \p I's gradient to \p Make() if it needs one.
  template <typename Fn> void set(size_t I, Fn &&Make) {
    if (C.needs(I))
      C.setGrad(I, Make());
  }
};
} // namespace

// d/dx x = 1
static void gradIdentity(GradCtx &C) {
  Ir B{C};
  B.set(0, [&] { return B.g(); });
}

// d/da (a + b) = 1, d/db (a + b) = 1
static void gradAdd(GradCtx &C) {
  Ir B{C};
  B.set(0, [&] { return B.g(); });
  B.set(1, [&] { return B.g(); });
}

// d/da (a - b) = 1, d/db (a - b) = -1
static void gradSub(GradCtx &C) {
  Ir B{C};
  B.set(0, [&] { return B.g(); });
  B.set(1, [&] { return B.un(Op::Neg, B.g()); });
}

// d/da (a * b) = b, d/db (a * b) = a
static void gradMul(GradCtx &C) {
  Ir B{C};
  B.set(0, [&] { return B.mul(B.g(), B.x(1)); });
  B.set(1, [&] { return B.mul(B.g(), B.x(0)); });
}

// d/da (a / b) = 1 / b, d/db (a / b) = -a / b^2 = -(out / b)
static void gradDiv(GradCtx &C) {
  Ir B{C};
  B.set(0, [&] { return B.div(B.g(), B.x(1)); });
  B.set(1, [&] { return B.mul(B.un(Op::Neg, B.g()), B.div(B.out(), B.x(1))); });
}

// d/dx -x = -1
static void gradNeg(GradCtx &C) {
  Ir B{C};
  B.set(0, [&] { return B.un(Op::Neg, B.g()); });
}

// d/da maximum(a, b) = a > b ? 1 : a == b ? 1/2 : 0, and symmetrically for b;
// minimum the same with < (PyTorch 1.13: ties split the gradient; where an
// operand is NaN neither loses, so both get g)
static void gradMaxMin(GradCtx &C) {
  Ir B{C};
  bool IsMax = C.op() == Op::Maximum;
  ValueId A = B.x(0), Bv = B.x(1);
  ValueId Tied = B.select(B.eq(A, Bv), B.mul(B.g(), B.k(0.5)), B.g());
  // Operand 0 loses where the other is larger (maximum) or smaller (minimum).
  B.set(0, [&] {
    return B.select(IsMax ? B.gt(Bv, A) : B.gt(A, Bv), B.k(0), Tied);
  });
  B.set(1, [&] {
    return B.select(IsMax ? B.gt(A, Bv) : B.gt(Bv, A), B.k(0), Tied);
  });
}

// d/da a^b = b * a^(b-1) (0 where b == 0),
// d/db a^b = a^b * log(a) (0 where a == 0 and b >= 0), both as PyTorch
static void gradPow(GradCtx &C) {
  Ir B{C};
  ValueId A = B.x(0), E = B.x(1);
  B.set(0, [&] {
    ValueId D = B.mul(B.g(), B.mul(E, B.bin(Op::Pow, A, B.sub(E, B.k(1)))));
    return B.select(B.eq(E, B.k(0)), B.k(0), D);
  });
  B.set(1, [&] {
    ValueId Mask = B.mul(B.eq(A, B.k(0)), B.ge(E, B.k(0)));
    ValueId D = B.mul(B.out(), B.un(Op::Log, A));
    return B.mul(B.g(), B.select(Mask, B.k(0), D));
  });
}

// d/dx exp(x) = exp(x) = out
static void gradExp(GradCtx &C) {
  Ir B{C};
  B.set(0, [&] { return B.mul(B.g(), B.out()); });
}

// d/dx log(x) = 1 / x
static void gradLog(GradCtx &C) {
  Ir B{C};
  B.set(0, [&] { return B.div(B.g(), B.x()); });
}

// d/dx sqrt(x) = 1 / (2 sqrt(x)) = 1 / (2 out)
static void gradSqrt(GradCtx &C) {
  Ir B{C};
  B.set(0, [&] { return B.div(B.g(), B.mul(B.out(), B.k(2))); });
}

// d/dx x^(-1/2) = -1/2 x^(-3/2) = -0.5 out^3
static void gradRsqrt(GradCtx &C) {
  Ir B{C};
  B.set(0, [&] {
    ValueId Cube = B.mul(B.un(Op::Square, B.out()), B.out());
    return B.mul(B.mul(B.k(-0.5), B.g()), Cube);
  });
}

// d/dx |x| = sign(x) (0 at 0)
static void gradAbs(GradCtx &C) {
  Ir B{C};
  B.set(0, [&] { return B.mul(B.g(), B.un(Op::Sign, B.x())); });
}

// d/dx x^2 = 2x
static void gradSquare(GradCtx &C) {
  Ir B{C};
  B.set(0, [&] { return B.mul(B.g(), B.mul(B.x(), B.k(2))); });
}

// d/dx relu(x) = out > 0 ? 1 : 0 (PyTorch's threshold_backward: 0 where
// out <= 0, so a NaN passes g)
static void gradRelu(GradCtx &C) {
  Ir B{C};
  B.set(0, [&] { return B.select(B.ge(B.k(0), B.out()), B.k(0), B.g()); });
}

// d/dx sigmoid(x) = sigmoid(x) (1 - sigmoid(x)) = out (1 - out)
static void gradSigmoid(GradCtx &C) {
  Ir B{C};
  B.set(0,
        [&] { return B.mul(B.mul(B.g(), B.sub(B.k(1), B.out())), B.out()); });
}

// d/dx tanh(x) = 1 - tanh(x)^2 = 1 - out^2
static void gradTanh(GradCtx &C) {
  Ir B{C};
  B.set(0,
        [&] { return B.mul(B.g(), B.sub(B.k(1), B.mul(B.out(), B.out()))); });
}

// d/dx softplus(x) = x > 20 ? 1 : sigmoid(x)
static void gradSoftplus(GradCtx &C) {
  Ir B{C};
  B.set(0, [&] {
    ValueId S = B.mul(B.g(), B.un(Op::Sigmoid, B.x()));
    return B.select(B.gt(B.x(), B.k(20)), B.g(), S);
  });
}

// d/dx gelu(x) = Phi(x) + x phi(x)
//   = (1 + erf(x / sqrt 2)) / 2 + x exp(-x^2 / 2) / sqrt(2 pi)
static void gradGelu(GradCtx &C) {
  Ir B{C};
  B.set(0, [&] {
    constexpr double Alpha = M_2_SQRTPI * M_SQRT1_2 * 0.5; // 1 / sqrt(2 pi)
    ValueId X = B.x();
    ValueId Cdf =
        B.mul(B.k(0.5), B.add(B.k(1), B.un(Op::Erf, B.mul(X, B.k(M_SQRT1_2)))));
    ValueId Pdf =
        B.mul(B.k(Alpha), B.un(Op::Exp, B.mul(B.mul(X, X), B.k(-0.5))));
    return B.mul(B.g(), B.add(Cdf, B.mul(X, Pdf)));
  });
}

// d/dx leaky_relu(x) = x > 0 ? 1 : slope
static void gradLeakyRelu(GradCtx &C) {
  Ir B{C};
  B.set(0, [&] {
    return B.select(B.gt(B.x(), B.k(0)), B.g(),
                    B.mul(B.g(), B.k(C.getFloat("slope"))));
  });
}

// d/dx elu(x) = x <= 0 ? alpha exp(x) : 1 (PyTorch's form: alpha exp(x)
// rather than out + alpha, which cancels badly for x << 0)
static void gradElu(GradCtx &C) {
  Ir B{C};
  B.set(0, [&] {
    ValueId Neg =
        B.mul(B.mul(B.g(), B.k(C.getFloat("alpha"))), B.un(Op::Exp, B.x()));
    return B.select(B.ge(B.k(0), B.x()), Neg, B.g());
  });
}

// d/dx clamp(x, lo, hi) = lo <= x <= hi ? 1 : 0 (an infinite bound is not
// compared; with both infinite, NaN still gets 0 as in PyTorch)
static void gradClamp(GradCtx &C) {
  Ir B{C};
  B.set(0, [&] {
    double Lo = C.getFloat("lo"), Hi = C.getFloat("hi");
    std::optional<ValueId> Mask;
    auto And = [&](ValueId M) { Mask = Mask ? B.mul(*Mask, M) : M; };
    if (std::isfinite(Lo))
      And(B.ge(B.x(), B.k(Lo)));
    if (std::isfinite(Hi))
      And(B.ge(B.k(Hi), B.x()));
    if (!Mask)
      Mask = B.eq(B.x(), B.x());
    return B.select(*Mask, B.g(), B.k(0));
  });
}

// d/dx cast(x) = 1 between float dtypes (the gradient is cast back); a cast
// to or from i32 passes no gradient
static void gradCast(GradCtx &C) {
  Ir B{C};
  DType From = C.type(B.x()).Elt, To = C.type(B.out()).Elt;
  if (!isFloat(From) || !isFloat(To))
    return;
  B.set(0, [&] {
    return From == To ? B.g()
                      : C.make(Op::Cast, {B.g()}, {{"to", AttrValue(From)}});
  });
}

// d/dx erf(x) = 2 / sqrt(pi) exp(-x^2)
static void gradErf(GradCtx &C) {
  Ir B{C};
  B.set(0, [&] {
    ValueId E = B.un(Op::Exp, B.un(Op::Neg, B.un(Op::Square, B.x())));
    return B.mul(B.mul(B.k(M_2_SQRTPI), E), B.g());
  });
}

// d/da select(c, a, b) = c != 0 ? 1 : 0, d/db = c != 0 ? 0 : 1,
// d/dc = 0 (piecewise constant; rules only make c with gt/ge/eq, which pass
// no gradient, so this zero is only built when c is differentiated directly)
static void gradSelect(GradCtx &C) {
  Ir B{C};
  B.set(0, [&] { return C.splat(0, C.type(B.x(0))); });
  B.set(1, [&] { return B.select(B.x(0), B.g(), B.k(0)); });
  B.set(2, [&] { return B.select(B.x(0), B.k(0), B.g()); });
}

//===----------------------------------------------------------------------===//
// The ops
//===----------------------------------------------------------------------===//

// identity(x) = x, any dtype (a bare `a = b` in a model)
OpDef defineIdentity() { return {{}, sameTypeRule, gradIdentity, evalRule}; }

// add(a, b) = a + b
OpDef defineAdd() { return {{}, binaryRule, gradAdd, evalRule}; }
// sub(a, b) = a - b
OpDef defineSub() { return {{}, binaryRule, gradSub, evalRule}; }
// mul(a, b) = a * b
OpDef defineMul() { return {{}, binaryRule, gradMul, evalRule}; }
// div(a, b) = a / b
OpDef defineDiv() { return {{}, binaryRule, gradDiv, evalRule}; }
// neg(x) = -x
OpDef defineNeg() { return {{}, unaryFloatRule, gradNeg, evalRule}; }
// maximum(a, b) = a >= b ? a : b (NaN if either is NaN)
OpDef defineMaximum() { return {{}, binaryRule, gradMaxMin, evalRule}; }
// minimum(a, b) = a <= b ? a : b (NaN if either is NaN)
OpDef defineMinimum() { return {{}, binaryRule, gradMaxMin, evalRule}; }
// pow(a, b) = a ^ b
OpDef definePow() { return {{}, binaryRule, gradPow, evalRule}; }
// exp(x) = e ^ x
OpDef defineExp() { return {{}, unaryFloatRule, gradExp, evalRule}; }
// log(x) = natural logarithm of x
OpDef defineLog() { return {{}, unaryFloatRule, gradLog, evalRule}; }
// sqrt(x) = x ^ 0.5
OpDef defineSqrt() { return {{}, unaryFloatRule, gradSqrt, evalRule}; }
// rsqrt(x) = 1 / sqrt(x)
OpDef defineRsqrt() { return {{}, unaryFloatRule, gradRsqrt, evalRule}; }
// abs(x) = |x|
OpDef defineAbs() { return {{}, unaryFloatRule, gradAbs, evalRule}; }
// square(x) = x * x
OpDef defineSquare() { return {{}, unaryFloatRule, gradSquare, evalRule}; }
// sign(x) = -1, 0 or 1 (zero gradient)
OpDef defineSign() { return {{}, unaryFloatRule, nullptr, evalRule}; }
// relu(x) = max(x, 0) (NaN stays NaN)
OpDef defineRelu() { return {{}, unaryFloatRule, gradRelu, evalRule}; }
// sigmoid(x) = 1 / (1 + exp(-x))
OpDef defineSigmoid() { return {{}, unaryFloatRule, gradSigmoid, evalRule}; }
// tanh(x) = hyperbolic tangent of x
OpDef defineTanh() { return {{}, unaryFloatRule, gradTanh, evalRule}; }
// softplus(x) = log(1 + exp(x)), linear (x) above 20
OpDef defineSoftplus() { return {{}, unaryFloatRule, gradSoftplus, evalRule}; }
// gelu(x) = x * (1 + erf(x / sqrt(2))) / 2, the exact form
OpDef defineGelu() { return {{}, unaryFloatRule, gradGelu, evalRule}; }

// leaky_relu(x) = x > 0 ? x : slope * x
OpDef defineLeakyRelu() {
  return {{{"slope", AttrKind::Float, 0.01}},
          [](InferCtx &C) {
            return requireFinite(C, "slope") && unaryFloatRule(C);
          },
          gradLeakyRelu,
          evalRule};
}

// elu(x) = x > 0 ? x : alpha * (exp(x) - 1)
OpDef defineElu() {
  return {{{"alpha", AttrKind::Float, 1.0}},
          [](InferCtx &C) {
            return requireFinite(C, "alpha") && unaryFloatRule(C);
          },
          gradElu,
          evalRule};
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
          },
          gradClamp,
          evalRule};
}

// cast(x) = x converted to dtype `to`, any dtype to any dtype (to i32:
// truncation toward zero)
OpDef defineCast() {
  return {{{"to", AttrKind::DType, std::nullopt}},
          [](InferCtx &C) {
            C.Result = TensorType(C.getDType("to"), C.operand(0).Dims);
            return true;
          },
          gradCast,
          evalRule};
}

//===----------------------------------------------------------------------===//
// Internal ops: made by autodiff and lowering, not callable from a model.
//===----------------------------------------------------------------------===//

// erf(x) = 2/sqrt(pi) * integral_0^x exp(-t^2) dt
OpDef defineErf() { return {{}, unaryFloatRule, gradErf, evalRule}; }
// gt(a, b) = a > b ? 1 : 0, in the operands' float dtype (zero gradient)
OpDef defineGt() { return {{}, binaryRule, nullptr, evalRule}; }
// ge(a, b) = a >= b ? 1 : 0 (zero gradient)
OpDef defineGe() { return {{}, binaryRule, nullptr, evalRule}; }
// eq(a, b) = a == b ? 1 : 0 (zero gradient)
OpDef defineEq() { return {{}, binaryRule, nullptr, evalRule}; }

// select(c, a, b) = c != 0 ? a : b, all three broadcast together
OpDef defineSelect() {
  return {{},
          [](InferCtx &C) {
            DType T;
            if (!requireSameFloat(C, T))
              return false;
            std::optional<Shape> S =
                broadcastShapes(C.operand(0).Dims, C.operand(1).Dims);
            if (S)
              S = broadcastShapes(*S, C.operand(2).Dims);
            if (!S)
              return C.error("cannot broadcast {}, {} and {} in 'select'",
                             formatType(C.operand(0)), formatType(C.operand(1)),
                             formatType(C.operand(2)));
            return setResult(C, T, std::move(*S));
          },
          gradSelect,
          evalRule};
}

} // namespace gradc::ir
