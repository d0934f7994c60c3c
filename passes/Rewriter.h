//===- passes/Rewriter.h - Rebuilding a function node by node ---*- C++ -*-===//
//
// The local rewriting passes (constfold, simplify, cse, layout) share one
// algorithm: copy the function's nodes, in order, into a new node list,
// mapping each old value to a new one. For each node (its operands already
// mapped) the pass either keeps it, or returns a value of the new list that
// replaces it, building new nodes first if it needs them. New nodes land
// at the current end of the list, after everything they use, so the list
// stays in topological order, and a node sees its operands already
// rewritten (so one sweep simplifies whole chains). Replaced nodes leave
// their operands behind; dce removes what nothing uses any more.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Builder.h"

#include <functional>
#include <optional>

namespace gradc::passes {

class Rewriter;
/// What a pass does with one node: nullopt keeps it, a value replaces it.
/// \p N is the node with its operands already mapped to the new list.
using RewriteFn =
    std::function<std::optional<ir::ValueId>(Rewriter &, const ir::Node &N)>;

class Rewriter {
public:
  explicit Rewriter(ir::Function &New) : New(New), B(New) {}

  /// The function being built: nodes kept or made so far.
  ir::Function &function() { return New; }
  const ir::Node &node(ir::ValueId V) const { return New.Nodes[V]; }
  const ir::TensorType &type(ir::ValueId V) const { return New.Nodes[V].Type; }

  /// Appends \p N unchanged; returns its value.
  ir::ValueId keep(ir::Node N);
  /// A new node `O(Operands) {Attrs}` at \p L (attributes bound by name,
  /// defaults filled in, the shape rule applied).
  ir::ValueId make(ir::Op O, std::vector<ir::ValueId> Operands,
                   ir::AttrList Attrs, Loc L) {
    return B.make(O, std::move(Operands), std::move(Attrs), L);
  }
  /// A constant splat of type \p T.
  ir::ValueId constant(double V, const ir::TensorType &T, Loc L);

  /// How many nodes and results use \p V: the nodes of the new list, the
  /// node being rewritten, and the nodes and results still to come.
  size_t useCount(ir::ValueId V) const;

private:
  friend bool rewriteFunction(ir::Function &, const RewriteFn &);
  ir::Function &New;
  ir::Builder B;
  /// Per new value: uses by old nodes not yet copied and by results.
  std::vector<size_t> Pending;
};

/// Rewrites every node of \p F with \p Fn. A replaced node's name moves to
/// its replacement when that has none. Returns whether anything changed.
bool rewriteFunction(ir::Function &F, const RewriteFn &Fn);

} // namespace gradc::passes
