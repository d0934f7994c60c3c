//===- ir/Builder.h - Creating nodes with their shape rules -----*- C++ -*-===//
#pragma once

#include "ir/Module.h"
#include "ir/OpDefs.h"

#include <optional>

namespace gradc::ir {

struct BuildError {
  std::string Message;
  int Operand = -1; // the operand the error is about, or -1 for the op
};

/// Appends nodes to a function, applying each op's shape rule so that every
/// node is well typed from the moment it exists.
class Builder {
public:
  explicit Builder(Function &F) : F(F) {}
  Function &function() { return F; }

  /// Creates `O(Operands) {Attrs}`. \p Attrs must be bound (bindAttrs):
  /// complete and in the op's spec order. On a shape or dtype error returns
  /// nullopt and fills \p Err; the function is unchanged.
  std::optional<ValueId> create(Op O, std::vector<ValueId> Operands,
                                AttrList Attrs, Loc L, BuildError &Err,
                                std::string Name = "");

  /// Like create(), for callers that know the node is well formed (passes).
  /// Binds \p Attrs by name, filling defaults. Asserts on error.
  ValueId make(Op O, std::vector<ValueId> Operands, AttrList Attrs = {},
               Loc L = {});

  /// A scalar constant of dtype \p T.
  ValueId constant(double V, DType T, Loc L);
  /// An `input @S` or `param @S` node reading symbol \p S.
  ValueId symbolRef(const Symbol &S, Loc L);
  /// An `assign @S, V` node: writes \p V to param or state \p S when the
  /// function returns.
  ValueId assign(const Symbol &S, ValueId V, Loc L);
  /// \p V converted to dtype \p T (V itself when it has that dtype).
  ValueId castTo(ValueId V, DType T, Loc L);

private:
  Function &F;
};

} // namespace gradc::ir
