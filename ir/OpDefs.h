//===- ir/OpDefs.h - Everything about one op, in one place -------*- C++ -*-===//
//
// Each op of Ops.def has an OpDef, defined by a function `define<Name>()` in
// its family's file under ir/ops/ (Elementwise.cpp, Reduce.cpp, ...). The
// OpDef holds the op's attributes and its shape and dtype rule; later stages
// add the gradient rule (Grad) and the reference semantics (Eval) next to
// them, so everything about one op is in one place.
//
// A shape rule receives the operand types and the bound attribute list
// (complete, in spec order, defaults filled in). It may normalize attributes
// (negative axes to positive, defaults such as "all axes" spelled out) as long
// as normalizing twice changes nothing, so printed IR parses back to itself.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Attr.h"
#include "ir/Op.h"
#include "ir/Types.h"

#include <fmt/format.h>
#include <span>
#include <string>
#include <vector>

namespace gradc::ir {

class InferCtx {
public:
  InferCtx(Op O, std::span<const TensorType> Operands, AttrList &Attrs)
      : O(O), Operands(Operands), Attrs(Attrs) {}

  Op op() const { return O; }
  std::string_view name() const { return mnemonic(O); }
  size_t numOperands() const { return Operands.size(); }
  const TensorType &operand(size_t I) const { return Operands[I]; }
  std::span<const TensorType> operands() const { return Operands; }

  AttrList &attrs() { return Attrs; }
  int64_t getInt(std::string_view N) const { return ir::getInt(Attrs, N); }
  double getFloat(std::string_view N) const { return ir::getFloat(Attrs, N); }
  bool getBool(std::string_view N) const { return ir::getBool(Attrs, N); }
  const IntList &getInts(std::string_view N) const { return ir::getInts(Attrs, N); }
  DType getDType(std::string_view N) const { return ir::getDType(Attrs, N); }
  void set(std::string_view N, AttrValue V) { setAttr(Attrs, N, std::move(V)); }

  /// The result type; set by the rule on success.
  TensorType Result;

  /// Records an error about the op as a whole; returns false.
  template <typename... Args>
  bool error(fmt::format_string<Args...> F, Args &&...A) {
    return errorAt(-1, F, std::forward<Args>(A)...);
  }
  /// Records an error about operand \p Operand; returns false.
  template <typename... Args>
  bool errorAt(int Operand, fmt::format_string<Args...> F, Args &&...A) {
    Error = fmt::format(F, std::forward<Args>(A)...);
    ErrorOperand = Operand;
    return false;
  }
  std::string Error;
  int ErrorOperand = -1;

private:
  Op O;
  std::span<const TensorType> Operands;
  AttrList &Attrs;
};

using InferFn = bool (*)(InferCtx &);

class GradCtx;   // ir/Grad.h
class EvalCtx;   // ir/Interpreter.h

/// The vector-Jacobian product, written with IR ops: given the gradient of
/// the node's result, builds the gradient of each operand that needs one.
using GradFn = void (*)(GradCtx &);
/// The reference semantics, evaluated in f64 by the interpreter. Returns
/// false with a message in the context on a runtime error.
using EvalFn = bool (*)(EvalCtx &);

struct OpDef {
  std::vector<AttrSpec> Attrs;
  InferFn Infer = nullptr;
  /// Null for ops without a gradient rule: an error if autodiff needs one,
  /// unless the op is OF_NoGrad (its gradient is zero by definition).
  GradFn Grad = nullptr;
  EvalFn Eval = nullptr;
};

const OpDef &getOpDef(Op O);

/// Applies \p O's shape rule: checks the operand count, normalizes \p Attrs
/// (which must already be bound with bindAttrs) and computes \p Result. On
/// failure returns false with a message in \p Err and the offending operand
/// (or -1) in \p ErrOperand.
bool inferType(Op O, std::span<const TensorType> Operands, AttrList &Attrs,
               TensorType &Result, std::string &Err, int &ErrOperand);

} // namespace gradc::ir
