//===- passes/CSE.cpp - Common subexpression elimination ----------------------===//
//
// Algorithm: one forward sweep (passes/Rewriter.h) with a hash table keyed by
// everything that determines a node's value: opcode, result type, operands
// (already rewritten, so equal subtrees have equal operands by the time
// their users are seen), attributes and symbol. A node equal to one seen
// before is replaced by it. Floats in attributes compare by their bits, so
// +0 and -0 (and NaNs with different payloads) stay apart. For add, mul and
// eq the operand order does not matter (IEEE addition and multiplication
// are commutative bit for bit); maximum and minimum are not (they pick the
// first operand on a tie, so max(+0, -0) and max(-0, +0) differ).
//
// Never merged: assign (OF_SideEffect: each one writes its symbol), and
// OF_Random ops (dropout_mask: each draws its own mask, whatever its
// attributes; merging two would correlate them). Reads of one input or
// param symbol are merged: every read in a call sees the value from before
// the call, so two reads are equal.
//
//===----------------------------------------------------------------------===//
#include "passes/PassManager.h"
#include "passes/Rewriter.h"

#include <bit>
#include <unordered_map>

namespace gradc::passes {
using namespace ir;

namespace {

void mix(size_t &H, uint64_t V) {
  H ^= V + 0x9E3779B97F4A7C15ull + (H << 6) + (H >> 2);
}

/// Attribute values equal bit for bit (floats by their bits).
bool sameValue(const AttrValue &A, const AttrValue &B) {
  if (A.index() != B.index())
    return false;
  if (const double *D = std::get_if<double>(&A))
    return std::bit_cast<uint64_t>(*D) ==
           std::bit_cast<uint64_t>(std::get<double>(B));
  return A == B;
}

uint64_t hashValue(const AttrValue &V) {
  size_t H = V.index();
  std::visit(
      [&](const auto &X) {
        using T = std::decay_t<decltype(X)>;
        if constexpr (std::is_same_v<T, IntList>) {
          for (int64_t I : X)
            mix(H, static_cast<uint64_t>(I));
        } else if constexpr (std::is_same_v<T, double>) {
          mix(H, std::bit_cast<uint64_t>(X));
        } else {
          mix(H, static_cast<uint64_t>(X));
        }
      },
      V);
  return H;
}

bool commutative(Op O) { return O == Op::Add || O == Op::Mul || O == Op::Eq; }

/// The value-determining part of a node, operands in canonical order.
struct Key {
  const Node *N;
  std::vector<ValueId> Operands;
};

struct KeyHash {
  size_t operator()(const Key &K) const {
    size_t H = static_cast<size_t>(K.N->Opcode);
    mix(H, static_cast<uint64_t>(K.N->Type.Elt));
    for (int64_t D : K.N->Type.Dims)
      mix(H, static_cast<uint64_t>(D));
    for (ValueId O : K.Operands)
      mix(H, O);
    for (const Attr &A : K.N->Attrs)
      mix(H, hashValue(A.Value));
    mix(H, std::hash<std::string>()(K.N->Symbol));
    return H;
  }
};

struct KeyEq {
  bool operator()(const Key &A, const Key &B) const {
    const Node &X = *A.N, &Y = *B.N;
    if (X.Opcode != Y.Opcode || X.Type != Y.Type || A.Operands != B.Operands ||
        X.Symbol != Y.Symbol || X.Attrs.size() != Y.Attrs.size())
      return false;
    for (size_t I = 0; I < X.Attrs.size(); ++I)
      if (X.Attrs[I].Name != Y.Attrs[I].Name ||
          !sameValue(X.Attrs[I].Value, Y.Attrs[I].Value))
        return false;
    return true;
  }
};

bool eliminate(Function &F) {
  // Keys point at nodes of their own (the new list may reallocate).
  std::vector<std::unique_ptr<Node>> Stored;
  std::unordered_map<Key, ValueId, KeyHash, KeyEq> Seen;
  return rewriteFunction(F, [&](Rewriter &R,
                                const Node &N) -> std::optional<ValueId> {
    const OpInfo &Info = getOpInfo(N.Opcode);
    if (Info.has(OF_SideEffect) || Info.has(OF_Random))
      return std::nullopt;
    Key K{&N, N.Operands};
    if (commutative(N.Opcode) && K.Operands[0] > K.Operands[1])
      std::swap(K.Operands[0], K.Operands[1]);
    if (auto It = Seen.find(K); It != Seen.end())
      return It->second;
    // Kept: rewriteFunction appends it next, at this index.
    ValueId V = static_cast<ValueId>(R.function().Nodes.size());
    Stored.push_back(std::make_unique<Node>(N));
    K.N = Stored.back().get();
    Seen.emplace(std::move(K), V);
    return std::nullopt;
  });
}

} // namespace

bool runCSE(Module &M, PassContext &) {
  bool Changed = false;
  for (Function &F : M.Functions)
    Changed |= eliminate(F);
  return Changed;
}

} // namespace gradc::passes
