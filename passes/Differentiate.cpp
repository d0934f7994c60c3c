//===- passes/Differentiate.cpp - Reverse-mode autodiff core ----------------===//
//
// Algorithm: mark the values that depend on some Wrt value (forward sweep,
// not through OF_NoGrad ops) and those the loss depends on (backward sweep);
// a value needs a gradient when both hold and it is a float tensor. Then
// seed d loss / d loss = 1 and walk the nodes backwards: for each node with a
// gradient and an operand that needs one, run the op's gradient rule
// (ir/ops/*.cpp), sum each operand gradient down to the operand's shape
// (undoing broadcasting) and add it to what that operand already has (fan-out
// accumulates). Ops without a rule on the path are all collected, not just
// the first.
//
//===----------------------------------------------------------------------===//
#include "passes/Differentiate.h"

#include "ir/Grad.h"

namespace gradc::passes {
using namespace ir;

ValueId sumToShape(Builder &B, ValueId G, Shape Target, Loc L) {
  const Shape Dims = B.function().type(G).Dims;
  if (Dims == Target)
    return G;
  // Sum the leading axes Target lacks and the axes where Target has 1.
  size_t Lead = Dims.size() - Target.size();
  IntList Axes;
  for (size_t I = 0; I < Dims.size(); ++I)
    if (I < Lead || (Target[I - Lead] == 1 && Dims[I] != 1))
      Axes.push_back(static_cast<int64_t>(I));
  ValueId S = G;
  if (!Axes.empty())
    S = B.make(Op::Sum, {G}, {{"axes", Axes}, {"keepdims", true}}, L);
  if (B.function().type(S).Dims != Target)
    S = B.make(Op::Reshape, {S}, {{"shape", IntList(Target)}}, L);
  return S;
}

Gradients differentiate(Builder &B, ValueId Loss, std::span<const ValueId> Wrt) {
  Function &F = B.function();
  size_t N = Loss + 1; // nodes after the loss cannot matter
  std::vector<bool> FromWrt(N, false), ToLoss(N, false);
  for (ValueId W : Wrt)
    if (W < N)
      FromWrt[W] = true;
  for (ValueId V = 0; V < N; ++V) {
    const Node &Nd = F.node(V);
    if (getOpInfo(Nd.Opcode).has(OF_NoGrad) || !isFloat(Nd.Type.Elt))
      continue;
    for (ValueId O : Nd.Operands)
      if (FromWrt[O])
        FromWrt[V] = true;
  }
  ToLoss[Loss] = true;
  for (ValueId V = N; V-- > 0;)
    if (ToLoss[V])
      for (ValueId O : F.node(V).Operands)
        ToLoss[O] = true;
  auto NeedsGrad = [&](ValueId V) {
    return FromWrt[V] && ToLoss[V] && isFloat(F.type(V).Elt);
  };

  Gradients Result;
  std::vector<std::optional<ValueId>> Grad(N);
  if (NeedsGrad(Loss))
    Grad[Loss] = B.constant(1.0, F.type(Loss).Elt, F.node(Loss).L);
  for (ValueId V = N; V-- > 0;) {
    if (!Grad[V])
      continue;
    Node Fwd = F.node(V); // copied: the builder may grow F.Nodes
    std::vector<bool> Needs;
    bool Any = false;
    for (ValueId O : Fwd.Operands) {
      Needs.push_back(NeedsGrad(O));
      Any = Any || Needs.back();
    }
    if (!Any)
      continue;
    const OpDef &Def = getOpDef(Fwd.Opcode);
    if (!Def.Grad) {
      if (!getOpInfo(Fwd.Opcode).has(OF_NoGrad))
        Result.Missing.push_back({V, Fwd.Opcode, Fwd.L});
      continue;
    }
    Loc L = Fwd.L;
    std::vector<ValueId> Operands = Fwd.Operands;
    GradCtx C(B, std::move(Fwd), V, *Grad[V], Needs);
    Def.Grad(C);
    for (size_t I = 0; I < Operands.size(); ++I) {
      ValueId G = C.grads()[I];
      if (!Needs[I] || G == GradCtx::NoGrad)
        continue;
      ValueId O = Operands[I];
      Shape Target = F.type(O).Dims; // a copy: make() may grow F.Nodes
      G = sumToShape(B, G, Target, L);
      Grad[O] = Grad[O] ? B.make(Op::Add, {*Grad[O], G}, {}, L) : G;
    }
  }
  for (ValueId W : Wrt)
    Result.Of.push_back(W < N ? Grad[W] : std::nullopt);
  return Result;
}

} // namespace gradc::passes
