//===- ir/ops/Movement.cpp - Reorder, reshape or select elements ---------===//
//
// Shape rules: movement ops accept any dtype (i32 included) and keep it.
// transpose permutes the axes (default: swaps the last two); reshape keeps
// the element count (one -1 is inferred); flatten keeps axis 0 and merges the
// rest; concat joins operands that agree on everything but `axis`; slice
// takes [start, end) of one axis with Python's rules. Attributes are
// normalized to explicit non-negative values.
//
// Evaluation moves the f64 values (i32 ones too) without arithmetic; the
// gradients are movements back: the inverse permutation, a reshape to the
// operand's shape, slices of a concat, zero padding around a slice.
//
//===----------------------------------------------------------------------===//
#include "ir/Grad.h"
#include "ir/Interpreter.h"
#include "ir/ops/Common.h"

#include <algorithm>
#include <limits>

namespace gradc::ir {
using namespace ops;

/// Copies a block of shape \p Dims: element (i0, i1, ...) is read from
/// Src[SrcBase + sum(ik * SrcSt[k])] and written to Dst[DstBase + sum(ik *
/// DstSt[k])].
static void copyStrided(const Shape &Dims, std::span<const int64_t> SrcSt,
                        int64_t SrcBase, const std::vector<double> &Src,
                        std::span<const int64_t> DstSt, int64_t DstBase,
                        std::vector<double> &Dst) {
  size_t R = Dims.size();
  int64_t Total = 1;
  for (int64_t D : Dims)
    Total *= D;
  std::vector<int64_t> Idx(R, 0);
  int64_t S = SrcBase, D = DstBase;
  for (int64_t N = 0; N < Total; ++N) {
    Dst[static_cast<size_t>(D)] = Src[static_cast<size_t>(S)];
    for (size_t A = R; A-- > 0;) {
      ++Idx[A];
      S += SrcSt[A];
      D += DstSt[A];
      if (Idx[A] < Dims[A])
        break;
      S -= SrcSt[A] * Dims[A];
      D -= DstSt[A] * Dims[A];
      Idx[A] = 0;
    }
  }
}

/// Copies operand 0 into the result, both row-major (reshape, flatten).
static bool evalCopy(EvalCtx &C) {
  C.out().Data = C.in(0).Data;
  return true;
}

// reshape and flatten keep the elements in order (the identity on elements):
// dx = reshape(g, x's shape)
static void gradReshapeBack(GradCtx &C) {
  if (C.needs(0))
    C.setGrad(0, C.make(Op::Reshape, {C.grad()},
                        {{"shape", IntList(C.type(C.operand(0)).Dims)}}));
}

// transpose(x) moves element x[i] to out[i permuted], so
// dx = transpose(g, inverse(perm)) with inverse(perm)[perm[k]] = k
static void gradTranspose(GradCtx &C) {
  if (!C.needs(0))
    return;
  const IntList &Perm = C.getInts("perm");
  IntList Inv(Perm.size());
  for (size_t K = 0; K < Perm.size(); ++K)
    Inv[static_cast<size_t>(Perm[K])] = static_cast<int64_t>(K);
  C.setGrad(0, C.make(Op::Transpose, {C.grad()}, {{"perm", Inv}}));
}

static bool evalTranspose(EvalCtx &C) {
  std::vector<int64_t> InSt = stridesOf(C.in(0).Type.Dims), St;
  for (int64_t P : C.getInts("perm"))
    St.push_back(InSt[static_cast<size_t>(P)]);
  Tensor &Out = C.out();
  copyStrided(Out.Type.Dims, St, 0, C.in(0).Data, stridesOf(Out.Type.Dims), 0,
              Out.Data);
  return true;
}

// transpose(x): result axis k is x's axis perm[k] (NumPy's transpose)
OpDef defineTranspose() {
  return {
      {{"perm", AttrKind::Ints, IntList{}}},
      [](InferCtx &C) {
        const TensorType &X = C.operand(0);
        int64_t Rank = X.rank();
        IntList Perm = C.getInts("perm");
        if (Perm.empty()) {
          if (Rank < 2)
            return C.errorAt(0,
                             "'transpose' without 'perm' swaps the last two "
                             "axes, but the argument is {}",
                             formatType(X));
          for (int64_t I = 0; I < Rank; ++I)
            Perm.push_back(I);
          std::swap(Perm[Rank - 2], Perm[Rank - 1]);
        }
        auto Bad = [&] {
          return C.error("'perm' of 'transpose' must be a permutation of the "
                         "{} axes of {}, got {}",
                         Rank, formatType(X),
                         formatAttrValue(C.getInts("perm")));
        };
        if (static_cast<int64_t>(Perm.size()) != Rank)
          return Bad();
        std::vector<bool> Seen(static_cast<size_t>(Rank), false);
        Shape Dims;
        for (int64_t &P : Perm) {
          if (P < -Rank || P >= Rank)
            return Bad();
          if (P < 0)
            P += Rank;
          if (Seen[static_cast<size_t>(P)])
            return Bad();
          Seen[static_cast<size_t>(P)] = true;
          Dims.push_back(X.Dims[static_cast<size_t>(P)]);
        }
        C.set("perm", std::move(Perm));
        C.Result = TensorType(X.Elt, std::move(Dims));
        return true;
      },
      gradTranspose,
      evalTranspose};
}

// reshape(x) = x's elements in row-major order, viewed with shape `shape`
OpDef defineReshape() {
  return {{{"shape", AttrKind::Ints, std::nullopt}},
          [](InferCtx &C) {
            const TensorType &X = C.operand(0);
            const IntList &Given = C.getInts("shape");
            std::optional<int64_t> Total = checkedProduct(X.Dims);
            if (!Total)
              return C.errorAt(0, "'reshape' argument {} has too many elements",
                               formatType(X));
            int64_t Infer = -1; // index of the -1
            int64_t Known = 1;  // product of the other dims, capped
            bool TooMany = false;
            for (size_t I = 0; I < Given.size(); ++I) {
              int64_t D = Given[I];
              if (D == -1) {
                if (Infer >= 0)
                  return C.error(
                      "'shape' of 'reshape' may contain only one -1, "
                      "got {}",
                      formatAttrValue(Given));
                Infer = static_cast<int64_t>(I);
                continue;
              }
              if (D < 1)
                return C.error("'shape' of 'reshape' has dimension {} in {} "
                               "(dimensions must be >= 1, or -1 to infer one)",
                               D, formatAttrValue(Given));
              if (TooMany || Known > MaxElements / D)
                TooMany = true;
              else
                Known *= D;
            }
            Shape Dims = Given;
            if (Infer >= 0 && !TooMany && *Total % Known == 0)
              Dims[static_cast<size_t>(Infer)] = *Total / Known;
            else if (TooMany || Infer >= 0 || Known != *Total)
              return C.error("cannot reshape {} ({} element{}) to {}",
                             formatType(X), *Total, *Total == 1 ? "" : "s",
                             formatAttrValue(Given));
            C.set("shape", Dims);
            C.Result = TensorType(X.Elt, std::move(Dims));
            return true;
          },
          gradReshapeBack,
          evalCopy};
}

// flatten(x) = reshape(x, [d0, d1 * d2 * ...]); rank 1 gives [d0, 1]
OpDef defineFlatten() {
  return {{},
          [](InferCtx &C) {
            if (!requireMinRank(C, 0, 1))
              return false;
            const TensorType &X = C.operand(0);
            std::optional<int64_t> Rest =
                checkedProduct(std::span(X.Dims).subspan(1));
            if (!Rest)
              return C.errorAt(0, "'flatten' argument {} has too many elements",
                               formatType(X));
            return setResult(C, X.Elt, {X.Dims[0], *Rest});
          },
          gradReshapeBack,
          evalCopy};
}

// concat is the identity on elements: the gradient of operand i is the part of
// g it occupies: dx_i = slice(g, axis, start = offset_i, end = offset_i + d_i)
static void gradConcat(GradCtx &C) {
  int64_t Axis = C.getInt("axis"), Offset = 0;
  for (size_t I = 0; I < C.numOperands(); ++I) {
    int64_t D = C.type(C.operand(I)).Dims[static_cast<size_t>(Axis)];
    if (C.needs(I))
      C.setGrad(I, C.numOperands() == 1 ? C.grad()
                                        : C.make(Op::Slice, {C.grad()},
                                                 {{"axis", Axis},
                                                  {"start", Offset},
                                                  {"end", Offset + D}}));
    Offset += D;
  }
}

static bool evalConcat(EvalCtx &C) {
  Tensor &Out = C.out();
  size_t Axis = static_cast<size_t>(C.getInt("axis"));
  std::vector<int64_t> OutSt = stridesOf(Out.Type.Dims);
  int64_t Offset = 0;
  for (size_t I = 0; I < C.numOperands(); ++I) {
    const Tensor &X = C.in(I);
    copyStrided(X.Type.Dims, stridesOf(X.Type.Dims), 0, X.Data, OutSt,
                Offset * OutSt[Axis], Out.Data);
    Offset += X.Type.Dims[Axis];
  }
  return true;
}

// concat(a, b, ...) = the operands joined along `axis`, in order
OpDef defineConcat() {
  return {
      {{"axis", AttrKind::Int, int64_t(0)}},
      [](InferCtx &C) {
        const TensorType &First = C.operand(0);
        for (size_t I = 0; I < C.numOperands(); ++I) {
          const TensorType &T = C.operand(I);
          if (T.Elt != First.Elt)
            return C.errorAt(static_cast<int>(I),
                             "dtype mismatch in 'concat': argument 1 is {} but "
                             "argument {} is {} (use cast to convert)",
                             formatType(First), I + 1, formatType(T));
          if (T.rank() == 0)
            return C.errorAt(static_cast<int>(I),
                             "'concat' cannot join scalars: argument {} is {}",
                             I + 1, formatType(T));
          if (T.rank() != First.rank())
            return C.errorAt(
                static_cast<int>(I),
                "'concat' needs operands of the same rank: argument "
                "1 is {} but argument {} is {}",
                formatType(First), I + 1, formatType(T));
        }
        int64_t Axis = C.getInt("axis");
        if (!normalizeAxis(C, Axis, First.rank()))
          return false;
        Shape Dims = First.Dims;
        int64_t Sum = 0;
        for (size_t I = 0; I < C.numOperands(); ++I) {
          const TensorType &T = C.operand(I);
          for (int64_t D = 0; D < First.rank(); ++D)
            if (D != Axis && T.Dims[D] != First.Dims[D])
              return C.errorAt(static_cast<int>(I),
                               "'concat' operands must match except along axis "
                               "{}: argument 1 is {} but argument {} is {}",
                               Axis, formatType(First), I + 1, formatType(T));
          int64_t D = T.Dims[Axis];
          if (D < 0 || D > MaxElements || Sum > MaxElements)
            return C.error("the result of 'concat' would have more than {} "
                           "elements",
                           MaxElements);
          Sum += D;
        }
        Dims[Axis] = Sum;
        C.set("axis", Axis);
        return setResult(C, First.Elt, std::move(Dims));
      },
      gradConcat,
      evalConcat};
}

// slice selects elements: dx is g in the selected part and 0 elsewhere:
// dx = concat(zeros(.., start, ..), g, zeros(.., dim - end, ..), axis)
static void gradSlice(GradCtx &C) {
  if (!C.needs(0))
    return;
  size_t Axis = static_cast<size_t>(C.getInt("axis"));
  int64_t Start = C.getInt("start"), End = C.getInt("end");
  TensorType X = C.type(C.operand(0));
  X.Elt = C.dtype();
  int64_t Dim = X.Dims[Axis];
  auto Zeros = [&](int64_t N) {
    TensorType T = X;
    T.Dims[Axis] = N;
    return C.splat(0.0, T);
  };
  std::vector<ValueId> Parts;
  if (Start > 0)
    Parts.push_back(Zeros(Start));
  Parts.push_back(C.grad());
  if (End < Dim)
    Parts.push_back(Zeros(Dim - End));
  C.setGrad(0, Parts.size() == 1
                   ? C.grad()
                   : C.make(Op::Concat, std::move(Parts),
                            {{"axis", static_cast<int64_t>(Axis)}}));
}

static bool evalSlice(EvalCtx &C) {
  const Tensor &X = C.in(0);
  Tensor &Out = C.out();
  size_t Axis = static_cast<size_t>(C.getInt("axis"));
  std::vector<int64_t> InSt = stridesOf(X.Type.Dims);
  copyStrided(Out.Type.Dims, InSt, C.getInt("start") * InSt[Axis], X.Data,
              stridesOf(Out.Type.Dims), 0, Out.Data);
  return true;
}

// slice(x) = x[..., start:end, ...] on `axis`, Python's rules (negative
// counts from the end; then clamped into [0, dim])
OpDef defineSlice() {
  return {{{"axis", AttrKind::Int, std::nullopt},
           {"start", AttrKind::Int, int64_t(0)},
           {"end", AttrKind::Int, std::numeric_limits<int64_t>::max()}},
          [](InferCtx &C) {
            const TensorType &X = C.operand(0);
            if (!requireMinRank(C, 0, 1))
              return false;
            int64_t Axis = C.getInt("axis");
            if (!normalizeAxis(C, Axis, X.rank()))
              return false;
            int64_t Dim = X.Dims[Axis];
            auto Clamp = [Dim](int64_t V) {
              if (V < 0)
                V = V < -Dim ? 0 : V + Dim; // no overflow: Dim >= 0
              return std::min(V, Dim);
            };
            int64_t Start = C.getInt("start"), End = C.getInt("end");
            int64_t S = Clamp(Start), E = Clamp(End);
            if (E <= S)
              return C.error(
                  "'slice' selects nothing: start {}, end {} on axis {} "
                  "of size {} ({})",
                  Start, End, Axis, Dim, formatType(X));
            C.set("axis", Axis);
            C.set("start", S);
            C.set("end", E);
            Shape Dims = X.Dims;
            Dims[Axis] = E - S;
            C.Result = TensorType(X.Elt, std::move(Dims));
            return true;
          },
          gradSlice,
          evalSlice};
}

// d/dx broadcast(x) = g summed over the broadcast axes: the autodiff pass sums
// a gradient of the broadcast shape down to the operand's, so dx = g
static void gradBroadcast(GradCtx &C) {
  if (C.needs(0))
    C.setGrad(0, C.grad());
}

static bool evalBroadcast(EvalCtx &C) {
  const Tensor &X = C.in(0);
  Tensor &Out = C.out();
  copyStrided(Out.Type.Dims, broadcastStrides(X.Type.Dims, Out.Type.Dims), 0,
              X.Data, stridesOf(Out.Type.Dims), 0, Out.Data);
  return true;
}

// broadcast(x) = x expanded to `shape` by NumPy broadcasting (internal)
OpDef defineBroadcast() {
  return {{{"shape", AttrKind::Ints, std::nullopt}},
          [](InferCtx &C) {
            const TensorType &X = C.operand(0);
            const IntList &S = C.getInts("shape");
            for (int64_t D : S)
              if (D < 1)
                return C.error(
                    "'broadcast' shape must have positive dimensions, got {}",
                    formatAttrValue(S));
            std::optional<Shape> B = broadcastShapes(X.Dims, S);
            if (!B || *B != S)
              return C.error("cannot broadcast {} to {}", formatType(X),
                             formatShape(S));
            return setResult(C, X.Elt, S);
          },
          gradBroadcast,
          evalBroadcast};
}

} // namespace gradc::ir
