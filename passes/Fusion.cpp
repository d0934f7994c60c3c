//===- passes/Fusion.cpp - Partition functions into fusion groups ---------===//
//
// `fuse` groups nodes that codegen then compiles as one kernel (the kinds
// and their rules: ir/Fusion.h). Per function:
//
//  1. Reachability: for every node the set of nodes that use it, directly
//     or not (bitsets; one backward sweep, nodes being in topological order).
//  2. Partition, greedily from the last node to the first. An elementwise
//     node joins the first group that accepts it, trying the groups of its
//     users first (vertical fusion: producer into consumer), then the other
//     loop groups of its shape, the 16 most recent (horizontal fusion: one
//     kernel for unrelated loops of one shape, such as the scalar
//     arithmetic of clipping and bias correction); else it starts a loop
//     group. A sum, mean or max starts a reduce group that its elementwise
//     producers may join. A matmul, matmul_t, conv2d, or softmax or
//     log_softmax over the last axis roots the loop group of one of its
//     users (its epilogue: kind matmul, conv, softmax) when that group has
//     its shape, no member is an ancestor of it (the root runs first), no
//     path leaves the root and comes back into the group, and the group
//     has an output of the root's type or the root is itself an output
//     (the product's accumulator, ir::epilogueAccumulator). Later nodes may
//     still join such a group when they are no ancestor of its root (the
//     relu mask's comparison of the forward activation). A node may join
//     group G when
//       - its shape is G's (a loop group), or the reduction operand's (a
//         reduce group, whose producers must also have all their users in
//         G): so no member is computed for more elements than it has, and
//         no work is recomputed;
//       - the groups stay acyclic: no path leaves G or the node and comes
//         back, through nodes or through other groups (entering a group at
//         one member and leaving at another). A path of nodes alone is
//         rejected fast with the reachability bitsets; the path through
//         groups, which horizontal fusion makes possible, by a search.
//     Groups of one node are dissolved (they are just that node).
//  3. Order: a topological sort of groups and single nodes (Kahn, the unit
//     with the smallest first node first, so unfused code keeps its order;
//     a node without operands counts as its first user) makes every group
//     a contiguous run, an epilogue group's root first; operands and
//     results are renumbered.
//
// Fusion never duplicates work: every member is computed once per element
// of its group's shape, and a group has at most one root. Values of fewer elements (the learning rate, bias
// corrections, the clipping factor) are computed by their own (scalar)
// group and read by the big loops, not recomputed per element.
//
//===----------------------------------------------------------------------===//
#include "ir/Fusion.h"
#include "passes/PassManager.h"

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <functional>
#include <queue>

namespace gradc::passes {
namespace {

using ir::ValueId;

/// A fixed-size set of node ids.
class Bits {
public:
  explicit Bits(size_t N = 0) : W((N + 63) / 64, 0) {}
  void set(size_t I) { W[I / 64] |= uint64_t(1) << (I % 64); }
  bool test(size_t I) const { return W[I / 64] >> (I % 64) & 1; }
  void merge(const Bits &O) {
    for (size_t I = 0; I < W.size(); ++I)
      W[I] |= O.W[I];
  }
  bool intersects(const Bits &O) const {
    for (size_t I = 0; I < W.size(); ++I)
      if (W[I] & O.W[I])
        return true;
    return false;
  }

private:
  std::vector<uint64_t> W;
};

/// Horizontal fusion tries at most this many groups per node, so the pass
/// stays near-linear on large graphs.
constexpr size_t kMaxHorizontal = 16;

struct Group {
  ir::FusionKind Kind;
  ir::Shape Dims; // loop: the members' shape; reduce: the reduced operand's
  Bits Members;
  std::vector<ValueId> Nodes; // in decreasing order
  ValueId Root = 0;           // matmul, conv, softmax: the root
};

class Partitioner {
public:
  explicit Partitioner(const ir::Function &F) : F(F), N(F.Nodes.size()) {
    Users.resize(N);
    Escapes.assign(N, false);
    Assigned.assign(N, false);
    for (ValueId V = 0; V < N; ++V)
      for (ValueId O : F.Nodes[V].Operands) {
        if (std::find(Users[O].begin(), Users[O].end(), V) == Users[O].end())
          Users[O].push_back(V);
        if (F.Nodes[V].Opcode == ir::Op::Assign)
          Escapes[O] = Assigned[O] = true;
      }
    for (const ir::Result &R : F.Results)
      Escapes[R.Value] = true;
    Reach.assign(N, Bits(N));
    for (ValueId V = N; V-- > 0;)
      for (ValueId U : Users[V]) {
        Reach[V].set(U);
        Reach[V].merge(Reach[U]);
      }
  }

  /// Partitions the nodes; returns the group of each node (-1: none).
  std::vector<int> run();
  std::vector<Group> Groups;

private:
  bool canJoin(ValueId V, const Group &G) const;
  /// Whether matmul, conv or softmax \p V may root loop group \p G.
  bool canRoot(ValueId V, const Group &G) const;
  /// Whether \p G, rooted at \p Root, has a buffer to accumulate in
  /// (ir::epilogueAccumulator).
  bool hasAccumulator(const Group &G, ValueId Root) const;
  bool closesCycle(ValueId V, const Group &G) const;
  void join(ValueId V, int G) {
    Groups[G].Members.set(V);
    Groups[G].Nodes.push_back(V);
    Of[V] = G;
  }

  const ir::Function &F;
  size_t N;
  std::vector<std::vector<ValueId>> Users;
  std::vector<bool> Escapes;  // results and assigned values
  std::vector<bool> Assigned; // values an assign writes to state
  std::vector<Bits> Reach;
  std::vector<int> Of;
};

bool Partitioner::canJoin(ValueId V, const Group &G) const {
  const ir::Node &Nd = F.Nodes[V];
  if (Nd.Type.Dims != G.Dims)
    return false;
  // A matmul, conv or softmax group computes its members after the root:
  // none may be an ancestor of it (a node that reads the root's operands
  // only, such as the relu mask's comparison, may join).
  if (ir::isEpilogueKind(G.Kind) && Reach[V].test(G.Root))
    return false;
  if (G.Kind == ir::FusionKind::Reduce) {
    // A producer computed inside the reduction loop: used only there.
    if (Escapes[V])
      return false;
    for (ValueId U : Users[V])
      if (!G.Members.test(U))
        return false;
  }
  // Fast rejection: a path of nodes from V back into G.
  for (ValueId U : Users[V])
    if (!G.Members.test(U) && Reach[U].intersects(G.Members))
      return false;
  return !closesCycle(V, G);
}

bool Partitioner::closesCycle(ValueId V, const Group &G) const {
  // A path that leaves G or V and comes back through other groups (entering
  // a group at one member and leaving it at another, as its kernel does).
  // Horizontal fusion makes such paths possible without a path of nodes.
  auto InMerged = [&](ValueId X) { return X == V || G.Members.test(X); };
  std::vector<ValueId> Stack;
  auto PushUsers = [&](ValueId X) {
    for (ValueId U : Users[X])
      Stack.push_back(U);
  };
  PushUsers(V);
  for (ValueId M : G.Nodes)
    PushUsers(M);
  std::vector<bool> Seen(N, false), SeenGroup(Groups.size(), false);
  while (!Stack.empty()) {
    ValueId X = Stack.back();
    Stack.pop_back();
    if (InMerged(X)) {
      // Only a user reached from outside closes a cycle; the direct users
      // inside the merged group are fine.
      continue;
    }
    if (Seen[X])
      continue;
    Seen[X] = true;
    for (ValueId U : Users[X])
      if (InMerged(U))
        return true;
    PushUsers(X);
    if (int H = Of[X]; H >= 0 && !SeenGroup[H]) {
      SeenGroup[H] = true;
      for (ValueId M : Groups[H].Nodes) {
        for (ValueId U : Users[M])
          if (InMerged(U))
            return true;
        PushUsers(M);
      }
    }
  }
  return false;
}

bool Partitioner::canRoot(ValueId V, const Group &G) const {
  if (G.Kind != ir::FusionKind::Loop || F.Nodes[V].Type.Dims != G.Dims)
    return false;
  // The root runs first: no member may be computed before it. A group that
  // computes a new state value (an optimizer update) stays a loop group: the
  // memory plan updates state in place only through loop kernels (an
  // epilogue kernel may accumulate its product in an output's buffer, which
  // would then be the state it still has to read).
  for (ValueId M : G.Nodes)
    if (Reach[M].test(V) || Assigned[M])
      return false;
  for (ValueId U : Users[V])
    if (!G.Members.test(U) && Reach[U].intersects(G.Members))
      return false;
  return !closesCycle(V, G);
}

bool Partitioner::hasAccumulator(const Group &G, ValueId Root) const {
  auto IsOutput = [&](ValueId X) {
    if (Escapes[X])
      return true;
    for (ValueId U : Users[X])
      if (!G.Members.test(U))
        return true;
    return false;
  };
  if (IsOutput(Root))
    return true;
  for (ValueId M : G.Nodes)
    if (M != Root && F.Nodes[M].Type == F.Nodes[Root].Type && IsOutput(M))
      return true;
  return false;
}

std::vector<int> Partitioner::run() {
  Of.assign(N, -1);
  for (ValueId V = N; V-- > 0;) {
    const ir::Node &Nd = F.Nodes[V];
    ir::OpFamily Fam = ir::getOpInfo(Nd.Opcode).Family;
    if (auto Kind = ir::epilogueKind(Nd)) {
      // A matmul, conv or softmax roots the loop group of a user (its
      // epilogue).
      for (ValueId U : Users[V]) {
        int G = Of[U];
        if (G < 0 || !canRoot(V, Groups[G]))
          continue;
        join(V, G);
        if (hasAccumulator(Groups[G], V)) {
          Groups[G].Kind = *Kind;
          Groups[G].Root = V;
          break;
        }
        Groups[G].Members = Bits(N); // undo: nowhere to accumulate
        Groups[G].Nodes.pop_back();
        for (ValueId M : Groups[G].Nodes)
          Groups[G].Members.set(M);
        Of[V] = -1;
      }
      continue;
    }
    if (Fam == ir::OpFamily::Reduce && ir::isFusableReduction(Nd.Opcode)) {
      Groups.push_back({ir::FusionKind::Reduce, F.type(Nd.Operands[0]).Dims,
                        Bits(N), {}});
      join(V, static_cast<int>(Groups.size() - 1));
      continue;
    }
    if (Fam != ir::OpFamily::Elementwise)
      continue;
    // Candidates: the groups of the users, then other loop groups of this
    // shape, the most recent first.
    std::vector<int> Cands;
    for (ValueId U : Users[V])
      if (Of[U] >= 0 &&
          std::find(Cands.begin(), Cands.end(), Of[U]) == Cands.end())
        Cands.push_back(Of[U]);
    size_t Horizontal = 0;
    for (size_t G = Groups.size(); G-- > 0 && Horizontal < kMaxHorizontal;)
      if (Groups[G].Kind == ir::FusionKind::Loop &&
          Groups[G].Dims == Nd.Type.Dims &&
          std::find(Cands.begin(), Cands.end(), int(G)) == Cands.end()) {
        Cands.push_back(static_cast<int>(G));
        ++Horizontal;
      }
    int Chosen = -1;
    for (int G : Cands)
      if (canJoin(V, Groups[G])) {
        Chosen = G;
        break;
      }
    if (Chosen < 0) {
      Groups.push_back({ir::FusionKind::Loop, Nd.Type.Dims, Bits(N), {}});
      Chosen = static_cast<int>(Groups.size() - 1);
    }
    join(V, Chosen);
  }
  // Groups of one node are that node.
  for (Group &G : Groups)
    if (G.Nodes.size() == 1) {
      Of[G.Nodes[0]] = -1;
      G.Nodes.clear();
    }
  return Of;
}

/// Fuses \p F; returns whether anything changed.
bool fuseFunction(ir::Function &F) {
  std::vector<ir::FusionGroup> Old = std::move(F.Groups);
  F.Groups.clear();
  size_t N = F.Nodes.size();
  Partitioner P(F);
  std::vector<int> Of = P.run();

  // Units: a group, or one node outside groups; keyed by their first node.
  std::vector<int> UnitOf(N);
  std::vector<std::vector<ValueId>> Units;
  std::vector<int> GroupUnit(P.Groups.size(), -1);
  std::vector<int> UnitGroup;
  for (ValueId V = 0; V < N; ++V) {
    int G = Of[V];
    if (G >= 0 && GroupUnit[G] >= 0) {
      UnitOf[V] = GroupUnit[G];
      Units[UnitOf[V]].push_back(V);
      continue;
    }
    UnitOf[V] = static_cast<int>(Units.size());
    if (G >= 0)
      GroupUnit[G] = UnitOf[V];
    Units.push_back({V});
    UnitGroup.push_back(G);
  }
  // Kahn over units, the smallest first node first.
  std::vector<std::vector<int>> Succ(Units.size());
  std::vector<int> Preds(Units.size(), 0);
  for (ValueId V = 0; V < N; ++V)
    for (ValueId O : F.Nodes[V].Operands)
      if (UnitOf[O] != UnitOf[V]) {
        Succ[UnitOf[O]].push_back(UnitOf[V]);
        ++Preds[UnitOf[V]];
      }
  // A unit's key is its first node; a node without operands (a constant,
  // an input or param read) sits just before its first user instead.
  std::vector<ValueId> Key(Units.size());
  for (size_t U = 0; U < Units.size(); ++U)
    Key[U] = Units[U][0];
  for (ValueId V = N; V-- > 0;)
    for (ValueId O : F.Nodes[V].Operands)
      if (F.Nodes[O].Operands.empty() && UnitGroup[UnitOf[O]] < 0)
        Key[UnitOf[O]] = std::min(Key[UnitOf[O]], V);
  using Entry = std::pair<ValueId, int>;
  std::priority_queue<Entry, std::vector<Entry>, std::greater<Entry>> Ready;
  for (size_t U = 0; U < Units.size(); ++U)
    if (Preds[U] == 0)
      Ready.push({Key[U], static_cast<int>(U)});
  std::vector<ValueId> Order, NewId(N);
  std::vector<ir::FusionGroup> Groups;
  while (!Ready.empty()) {
    int U = Ready.top().second;
    Ready.pop();
    ValueId Begin = static_cast<ValueId>(Order.size());
    int PG = UnitGroup[U];
    if (PG >= 0 && ir::isEpilogueKind(P.Groups[PG].Kind)) {
      // The root first; no member is its ancestor, so the other members
      // keep a valid order.
      ValueId Root = P.Groups[PG].Root;
      auto &Us = Units[U];
      Us.erase(std::find(Us.begin(), Us.end(), Root));
      Us.insert(Us.begin(), Root);
    }
    for (ValueId V : Units[U]) {
      NewId[V] = static_cast<ValueId>(Order.size());
      Order.push_back(V);
    }
    if (UnitGroup[U] >= 0)
      Groups.push_back({P.Groups[UnitGroup[U]].Kind, Begin,
                        static_cast<ValueId>(Order.size())});
    for (int S : Succ[U])
      if (--Preds[S] == 0)
        Ready.push({Key[S], S});
  }
  if (Order.size() != N) {
    // The partition guarantees acyclic groups; never lose nodes if not.
    assert(false && "fusion groups form a cycle");
    F.Groups = std::move(Old);
    return false;
  }

  bool Moved = false;
  std::vector<ir::Node> Nodes;
  Nodes.reserve(N);
  for (ValueId V : Order) {
    Moved |= NewId[V] != V;
    Nodes.push_back(std::move(F.Nodes[V]));
    for (ValueId &O : Nodes.back().Operands)
      O = NewId[O];
  }
  F.Nodes = std::move(Nodes);
  for (ir::Result &R : F.Results)
    R.Value = NewId[R.Value];
  F.Groups = std::move(Groups);
  return Moved || F.Groups != Old;
}

} // namespace

bool runFusion(ir::Module &M, PassContext &) {
  bool Changed = false;
  for (ir::Function &F : M.Functions)
    Changed |= fuseFunction(F);
  return Changed;
}

} // namespace gradc::passes
