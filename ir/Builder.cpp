#include "ir/Builder.h"

#include <cassert>

namespace gradc::ir {

std::optional<ValueId> Builder::create(Op O, std::vector<ValueId> Operands,
                                       AttrList Attrs, Loc L, BuildError &Err,
                                       std::string Name) {
  std::vector<TensorType> Types;
  Types.reserve(Operands.size());
  for (ValueId V : Operands)
    Types.push_back(F.type(V));
  Node N;
  if (!inferType(O, Types, Attrs, N.Type, Err.Message, Err.Operand))
    return std::nullopt;
  N.Opcode = O;
  N.Operands = std::move(Operands);
  N.Attrs = std::move(Attrs);
  N.Name = std::move(Name);
  N.L = L;
  F.Nodes.push_back(std::move(N));
  return static_cast<ValueId>(F.Nodes.size() - 1);
}

ValueId Builder::make(Op O, std::vector<ValueId> Operands, AttrList Attrs,
                      Loc L) {
  std::vector<NamedAttrValue> Named;
  for (Attr &A : Attrs)
    Named.push_back({A.Name, std::move(A.Value)});
  AttrList Bound;
  std::string Err;
  int ErrArg;
  [[maybe_unused]] bool Ok = bindAttrs(mnemonic(O), getOpDef(O).Attrs, {},
                                       Named, Bound, Err, ErrArg);
  assert(Ok && "Builder::make: bad attributes");
  BuildError BE;
  std::optional<ValueId> V = create(O, std::move(Operands), std::move(Bound), L, BE);
  assert(V && "Builder::make: shape rule failed");
  return *V;
}

ValueId Builder::constant(double V, DType T, Loc L) {
  Node N;
  N.Opcode = Op::Constant;
  N.Type = TensorType(T, {});
  N.Attrs = {{"value", V}};
  N.L = L;
  F.Nodes.push_back(std::move(N));
  return static_cast<ValueId>(F.Nodes.size() - 1);
}

ValueId Builder::symbolRef(const Symbol &S, Loc L) {
  Node N;
  N.Opcode = S.isReadByInput() ? Op::Input : Op::Param;
  N.Type = S.Type;
  N.Symbol = S.Name;
  N.L = L;
  F.Nodes.push_back(std::move(N));
  return static_cast<ValueId>(F.Nodes.size() - 1);
}

ValueId Builder::assign(const Symbol &S, ValueId V, Loc L) {
  assert(F.type(V) == S.Type && "assigned value of the wrong type");
  Node N;
  N.Opcode = Op::Assign;
  N.Type = S.Type;
  N.Operands = {V};
  N.Symbol = S.Name;
  N.L = L;
  F.Nodes.push_back(std::move(N));
  return static_cast<ValueId>(F.Nodes.size() - 1);
}

ValueId Builder::castTo(ValueId V, DType T, Loc L) {
  if (F.type(V).Elt == T)
    return V;
  return make(Op::Cast, {V}, {{"to", T}}, L);
}

} // namespace gradc::ir
