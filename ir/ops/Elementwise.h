//===- ir/ops/Elementwise.h - Scalar semantics of elementwise ops -*- C++ -*-===//
//
// The meaning of every elementwise op, written once over an abstract scalar
// algebra S, so that the interpreter (S::Value = double) and the LLVM emitter
// (S::Value = llvm::Value *) implement exactly the same definition. S
// provides:
//   Value c(double)                       a constant
//   add sub mul div min max pow           binary arithmetic
//   neg exp expm1 log log1p sqrt abs tanh erf trunc
//   gt ge eq                              comparisons giving 1 or 0
//   select(c, a, b)                       c != 0 ? a : b
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Attr.h"
#include "ir/Op.h"

#include <cassert>
#include <span>

namespace gradc::ir {

template <class S>
typename S::Value evalElementwise(S &Sem, Op O, const AttrList &A,
                                  std::span<const typename S::Value> X) {
  using V = typename S::Value;
  auto C = [&](double D) { return Sem.c(D); };
  switch (O) {
  case Op::Identity:
    return X[0];
  case Op::Add:
    return Sem.add(X[0], X[1]);
  case Op::Sub:
    return Sem.sub(X[0], X[1]);
  case Op::Mul:
    return Sem.mul(X[0], X[1]);
  case Op::Div:
    return Sem.div(X[0], X[1]);
  case Op::Neg:
    return Sem.neg(X[0]);
  case Op::Maximum:
    return Sem.max(X[0], X[1]);
  case Op::Minimum:
    return Sem.min(X[0], X[1]);
  case Op::Pow:
    return Sem.pow(X[0], X[1]);
  case Op::Exp:
    return Sem.exp(X[0]);
  case Op::Log:
    return Sem.log(X[0]);
  case Op::Sqrt:
    return Sem.sqrt(X[0]);
  case Op::Rsqrt:
    return Sem.div(C(1), Sem.sqrt(X[0]));
  case Op::Abs:
    return Sem.abs(X[0]);
  case Op::Square:
    return Sem.mul(X[0], X[0]);
  case Op::Sign:
    // (x > 0) - (x < 0)
    return Sem.sub(Sem.gt(X[0], C(0)), Sem.gt(C(0), X[0]));
  case Op::Relu:
    // max(x, 0): NaN stays NaN, as PyTorch's clamp_min
    return Sem.max(X[0], C(0));
  case Op::Sigmoid:
    return Sem.div(C(1), Sem.add(C(1), Sem.exp(Sem.neg(X[0]))));
  case Op::Tanh:
    return Sem.tanh(X[0]);
  case Op::Softplus:
    // log(1 + exp(x)), linear above 20 as in PyTorch
    return Sem.select(Sem.gt(X[0], C(20)), X[0], Sem.log1p(Sem.exp(X[0])));
  case Op::Gelu:
    // x * (1 + erf(x / sqrt(2))) / 2
    return Sem.mul(Sem.mul(X[0], C(0.5)),
                   Sem.add(C(1), Sem.erf(Sem.mul(X[0], C(0.70710678118654752440)))));
  case Op::LeakyRelu:
    return Sem.select(Sem.gt(X[0], C(0)), X[0],
                      Sem.mul(X[0], C(getFloat(A, "slope"))));
  case Op::Elu:
    return Sem.select(Sem.gt(X[0], C(0)), X[0],
                      Sem.mul(C(getFloat(A, "alpha")), Sem.expm1(X[0])));
  case Op::Clamp:
    return Sem.min(Sem.max(X[0], C(getFloat(A, "lo"))), C(getFloat(A, "hi")));
  case Op::Cast:
    // To i32: truncation toward zero, as in PyTorch; float to float: the
    // value, rounded to the result's dtype.
    return getDType(A, "to") == DType::I32 ? Sem.trunc(X[0]) : X[0];
  case Op::Erf:
    return Sem.erf(X[0]);
  case Op::Gt:
    return Sem.gt(X[0], X[1]);
  case Op::Ge:
    return Sem.ge(X[0], X[1]);
  case Op::Eq:
    return Sem.eq(X[0], X[1]);
  case Op::Select:
    return Sem.select(X[0], X[1], X[2]);
  default:
    assert(false && "not an elementwise op");
    return V();
  }
}

} // namespace gradc::ir
