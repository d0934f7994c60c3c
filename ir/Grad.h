//===- ir/Grad.h - What a gradient rule sees --------------------*- C++ -*-===//
//
// A gradient rule (OpDef::Grad) receives the forward node, its result, and
// the gradient G of the loss with respect to that result, and builds the
// gradients of its operands with ordinary IR ops through make(). It calls
// setGrad(I, V) for each operand I that needs() one. V may have the
// broadcast shape of the op rather than the operand's own: the autodiff pass
// sums it down to the operand's shape (so binary elementwise rules need not
// care about broadcasting).
//
// Every node a rule makes carries the forward node's source location.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Builder.h"

namespace gradc::ir {

class GradCtx {
public:
  GradCtx(Builder &B, Node Forward, ValueId Out, ValueId G,
          std::vector<bool> Needs)
      : B(B), Forward(std::move(Forward)), Out(Out), G(G),
        Needs(std::move(Needs)), Grads(this->Forward.Operands.size(), NoGrad) {}

  static constexpr ValueId NoGrad = ~ValueId(0);

  const Node &node() const { return Forward; }
  Op op() const { return Forward.Opcode; }
  ValueId operand(size_t I) const { return Forward.Operands[I]; }
  size_t numOperands() const { return Forward.Operands.size(); }
  ValueId out() const { return Out; }
  ValueId grad() const { return G; }
  /// A copy: make() may grow the node vector, so a reference would dangle.
  TensorType type(ValueId V) const { return B.function().type(V); }
  DType dtype() const { return type(G).Elt; }
  bool needs(size_t I) const { return Needs[I]; }

  int64_t getInt(std::string_view N) const { return ir::getInt(Forward.Attrs, N); }
  double getFloat(std::string_view N) const { return ir::getFloat(Forward.Attrs, N); }
  bool getBool(std::string_view N) const { return ir::getBool(Forward.Attrs, N); }
  const IntList &getInts(std::string_view N) const { return ir::getInts(Forward.Attrs, N); }

  /// A node `O(Operands) {Attrs}` at the forward node's location; attributes
  /// are bound by name with defaults filled in.
  ValueId make(Op O, std::vector<ValueId> Operands, AttrList Attrs = {}) {
    return B.make(O, std::move(Operands), std::move(Attrs), Forward.L);
  }
  /// A scalar constant of the gradient's dtype.
  ValueId scalar(double V) { return B.constant(V, dtype(), Forward.L); }
  /// A constant splat of type \p T.
  ValueId splat(double V, const TensorType &T) {
    ValueId C = B.constant(V, T.Elt, Forward.L);
    B.function().node(C).Type = T;
    return C;
  }

  void setGrad(size_t I, ValueId V) { Grads[I] = V; }
  const std::vector<ValueId> &grads() const { return Grads; }

private:
  Builder &B;
  Node Forward;
  ValueId Out, G;
  std::vector<bool> Needs;
  std::vector<ValueId> Grads;
};

} // namespace gradc::ir
