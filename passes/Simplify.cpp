//===- passes/Simplify.cpp - Exact algebraic simplification ------------------===//
//
// Algorithm: one forward sweep (passes/Rewriter.h) applying local rewrites,
// each an identity of IEEE arithmetic in the node's dtype (NaN, infinities
// and the sign of zero included), so the result of every backend is
// bit-identical with or without this pass. Operands are rewritten before
// their users, so chains collapse in one sweep. `1` and `0` below are splat
// constants; a rewrite whose replacement would have a smaller shape than
// the node (x * 1 with the 1 broadcasting x) broadcasts it explicitly.
//
//   identity(x), cast(x) to x's dtype          -> x
//   x * 1, 1 * x, x / 1                        -> x
//   x - (+0), x + (-0), (-0) + x               -> x
//       but x + (+0) is kept: (-0) + (+0) = +0, so it is no identity for
//       x = -0 (and literal zeros are +0);
//   neg(neg(x))                                -> x
//   select(c, x, x)                            -> x
//   transpose(transpose(x, p), q)              -> transpose(x, p[q[k]]), or x
//   transpose with the identity permutation    -> x
//   reshape/flatten of a reshape/flatten       -> one reshape, or x when the
//                                                 shape is x's own
//   reshape or flatten to the operand's shape  -> x
//   broadcast(broadcast(x)), broadcast to x's own shape -> one, or x
//   an elementwise op with an operand broadcast(x) -> the op on x, when
//       the op's own broadcasting gives the same result type
//   reshape(r(x, axes, keepdims = true)) to r's shape without the kept
//       axes, r one of sum mean max logsumexp, r used only there
//                                              -> r(x, axes, keepdims = false)
//   r(broadcast(x), axes) where the axes are exactly the ones the broadcast
//   expands (each output reduces n copies of one element of x):
//       max                                    -> x (reshaped), any dtype
//       sum (f32, n <= 2^24)                   -> x * n + 0
//       mean (f32)                             -> x + 0
//     f32 sums are accumulated in f64 on every backend, so the n copies of
//     an f32 value add up to exactly n*v, which x * n rounds the same way;
//     the + 0 makes a sum of -0s +0 as the reduction does. In f64 a
//     sequential sum of copies is not n*v, so f64 sums and means are kept.
//
// Not rewritten, because they are not identities in floating point:
// log(exp(x)) (exp rounds, and overflows to inf above ~88.7 in f32) and
// exp(log(x)); x * 0 (NaN, infinities, -0); x - x; reassociation of sums
// and products.
//
//===----------------------------------------------------------------------===//
#include "passes/PassManager.h"
#include "passes/Rewriter.h"

#include <bit>
#include <cmath>
#include <numeric>

namespace gradc::passes {
using namespace ir;

namespace {

/// Whether \p V is a constant whose value (in its dtype) is \p Want, the
/// sign of zero included.
bool isSplat(Rewriter &R, ValueId V, double Want) {
  const Node &N = R.node(V);
  if (N.Opcode != Op::Constant)
    return false;
  double D = getFloat(N.Attrs, "value");
  if (N.Type.Elt == DType::F32)
    D = static_cast<float>(D);
  return std::bit_cast<uint64_t>(D) == std::bit_cast<uint64_t>(Want);
}

/// \p X as a value of type \p T: X itself, or X broadcast to T (T is the
/// NumPy broadcast of X with something else, so this is well formed).
ValueId asType(Rewriter &R, ValueId X, const TensorType &T, Loc L) {
  if (R.type(X) == T)
    return X;
  return R.make(Op::Broadcast, {X}, {{"shape", IntList(T.Dims)}}, L);
}

/// \p X (with \p N's element count) viewed with \p N's shape.
ValueId reshapeTo(Rewriter &R, ValueId X, const Shape &S, Loc L) {
  if (R.type(X).Dims == S)
    return X;
  return R.make(Op::Reshape, {X}, {{"shape", IntList(S)}}, L);
}

bool isReshape(Op O) { return O == Op::Reshape || O == Op::Flatten; }
bool isReduction(Op O) {
  return O == Op::Sum || O == Op::Mean || O == Op::Max || O == Op::LogSumExp;
}

/// x * 1, 1 * x, x / 1, x - (+0), x + (-0), (-0) + x.
std::optional<ValueId> arithmeticIdentity(Rewriter &R, const Node &N) {
  ValueId A = N.Operands[0], B = N.Operands[1];
  std::optional<ValueId> X;
  switch (N.Opcode) {
  case Op::Mul:
    X = isSplat(R, B, 1.0) ? A : isSplat(R, A, 1.0) ? B : X;
    break;
  case Op::Div:
    X = isSplat(R, B, 1.0) ? A : X;
    break;
  case Op::Sub:
    X = isSplat(R, B, 0.0) ? A : X;
    break;
  case Op::Add:
    X = isSplat(R, B, -0.0) ? A : isSplat(R, A, -0.0) ? B : X;
    break;
  default:
    break;
  }
  if (!X)
    return std::nullopt;
  return asType(R, *X, N.Type, N.L);
}

/// An elementwise node with each broadcast(x) operand replaced by x where
/// that leaves the result type unchanged; nullopt when none is.
std::optional<ValueId> dropBroadcasts(Rewriter &R, const Node &N) {
  std::vector<ValueId> Ops = N.Operands;
  bool Any = false;
  for (ValueId &O : Ops) {
    const Node &BN = R.node(O);
    if (BN.Opcode != Op::Broadcast)
      continue;
    ValueId Saved = O;
    O = BN.Operands[0];
    std::vector<TensorType> Types;
    for (ValueId V : Ops)
      Types.push_back(R.type(V));
    AttrList Attrs = N.Attrs;
    TensorType T;
    std::string Err;
    int ErrOp;
    if (inferType(N.Opcode, Types, Attrs, T, Err, ErrOp) && T == N.Type)
      Any = true;
    else
      O = Saved;
  }
  if (!Any)
    return std::nullopt;
  Node M = N;
  M.Operands = std::move(Ops);
  M.Name.clear();
  return R.keep(std::move(M));
}

/// r(broadcast(x), axes) over exactly the axes the broadcast expands.
std::optional<ValueId> reduceOfBroadcast(Rewriter &R, const Node &N) {
  const Node &Bc = R.node(N.Operands[0]);
  if (Bc.Opcode != Op::Broadcast ||
      (N.Opcode != Op::Sum && N.Opcode != Op::Mean && N.Opcode != Op::Max))
    return std::nullopt;
  ValueId X = Bc.Operands[0];
  const Shape &In = R.type(X).Dims, &Out = Bc.Type.Dims;
  size_t Lead = Out.size() - In.size();
  std::vector<bool> Reduced(Out.size(), false);
  for (int64_t A : getInts(N.Attrs, "axes"))
    Reduced[static_cast<size_t>(A)] = true;
  int64_t Count = 1;
  for (size_t A = 0; A < Out.size(); ++A) {
    bool Expanded = Out[A] != 1 && (A < Lead || In[A - Lead] == 1);
    if (Expanded != Reduced[A] && Out[A] != 1)
      return std::nullopt;
    if (Reduced[A])
      Count *= Out[A];
  }
  DType T = N.Type.Elt;
  if (N.Opcode != Op::Max && (T != DType::F32 || Count > (int64_t(1) << 24)))
    return std::nullopt;
  ValueId V = reshapeTo(R, X, N.Type.Dims, N.L);
  if (N.Opcode == Op::Max)
    return V;
  TensorType Scalar(T, {});
  if (N.Opcode == Op::Sum)
    V = R.make(Op::Mul, {V, R.constant(double(Count), Scalar, N.L)}, {}, N.L);
  return R.make(Op::Add, {V, R.constant(0.0, Scalar, N.L)}, {}, N.L);
}

std::optional<ValueId> simplify(Rewriter &R, const Node &N) {
  const OpInfo &Info = getOpInfo(N.Opcode);
  if (Info.Family == OpFamily::Source)
    return std::nullopt;
  ValueId X = N.Operands[0];
  const Node &XN = R.node(X);
  switch (N.Opcode) {
  case Op::Identity:
    return X;
  case Op::Cast:
    if (R.type(X) == N.Type)
      return X;
    break;
  case Op::Neg:
    if (XN.Opcode == Op::Neg)
      return XN.Operands[0];
    break;
  case Op::Select:
    if (N.Operands[1] == N.Operands[2])
      return asType(R, N.Operands[1], N.Type, N.L);
    break;
  case Op::Transpose: {
    IntList Perm = getInts(N.Attrs, "perm");
    if (XN.Opcode == Op::Transpose) {
      const IntList &Inner = getInts(XN.Attrs, "perm");
      for (int64_t &K : Perm)
        K = Inner[static_cast<size_t>(K)];
      X = XN.Operands[0];
    }
    IntList Iota(Perm.size());
    std::iota(Iota.begin(), Iota.end(), 0);
    if (Perm == Iota)
      return X;
    if (X != N.Operands[0])
      return R.make(Op::Transpose, {X}, {{"perm", Perm}}, N.L);
    break;
  }
  case Op::Reshape:
  case Op::Flatten:
    if (isReshape(XN.Opcode))
      return reshapeTo(R, XN.Operands[0], N.Type.Dims, N.L);
    if (R.type(X) == N.Type)
      return X;
    // reshape(r(x, keepdims = true)) that only drops the kept axes.
    if (isReduction(XN.Opcode) && getBool(XN.Attrs, "keepdims") &&
        R.useCount(X) == 1) {
      Shape Dropped;
      const IntList &Axes = getInts(XN.Attrs, "axes");
      for (size_t A = 0; A < XN.Type.Dims.size(); ++A)
        if (std::find(Axes.begin(), Axes.end(), int64_t(A)) == Axes.end())
          Dropped.push_back(XN.Type.Dims[A]);
      if (Dropped == N.Type.Dims)
        return R.make(XN.Opcode, {XN.Operands[0]},
                      {{"axes", Axes}, {"keepdims", false}}, N.L);
    }
    break;
  case Op::Broadcast:
    if (R.type(X) == N.Type)
      return X;
    if (XN.Opcode == Op::Broadcast)
      return asType(R, XN.Operands[0], N.Type, N.L);
    break;
  case Op::Sum:
  case Op::Mean:
  case Op::Max:
    return reduceOfBroadcast(R, N);
  default:
    break;
  }
  if (Info.Family != OpFamily::Elementwise)
    return std::nullopt;
  if (N.Operands.size() == 2)
    if (std::optional<ValueId> V = arithmeticIdentity(R, N))
      return V;
  return dropBroadcasts(R, N);
}

} // namespace

bool runSimplify(Module &M, PassContext &) {
  bool Changed = false;
  for (Function &F : M.Functions)
    Changed |= rewriteFunction(F, simplify);
  return Changed;
}

} // namespace gradc::passes
