//===- tests/unit/EvalTestUtil.h - Helpers for op Eval and Grad tests -----===//
//
// eval() builds a node the way the front end does (bindAttrs, then the shape
// rule) and runs its Eval with ir::evalNode. checkGrad() differentiates
// sum(op(x...) * w) with the autodiff core and compares the gradient with
// f64 central differences, then differentiates <gradient, v> again (a
// Hessian-vector product, so the rule's own ops must be differentiable) and
// checks that too.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Builder.h"
#include "ir/Interpreter.h"
#include "passes/Differentiate.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>

namespace evaltest {
using namespace gradc::ir;

using Kw = std::vector<NamedAttrValue>;
using Data = std::vector<double>;

inline Tensor tensor(DType T, Shape S, Data D) {
  Tensor X(TensorType(T, std::move(S)));
  EXPECT_EQ(X.size(), D.size()) << "wrong number of values for a tensor";
  X.Data = std::move(D);
  X.Data.resize(X.Type.numElements());
  return X;
}
inline Tensor f64(Shape S, Data D) { return tensor(DType::F64, S, D); }
inline Tensor f32(Shape S, Data D) { return tensor(DType::F32, S, D); }
inline Tensor i32(Shape S, Data D) { return tensor(DType::I32, S, D); }

/// A tensor of \p T with values uniform in [Lo, Hi).
inline Tensor random(TensorType T, std::mt19937_64 &R, double Lo = -2,
                     double Hi = 2) {
  Tensor X(std::move(T));
  std::uniform_real_distribution<double> U(Lo, Hi);
  for (double &D : X.Data)
    D = U(R);
  return X;
}

struct EvalResult {
  bool Ok = false;
  Tensor Out;
  std::string Err;
};

/// The node `O(Ins) {K}` with bound attributes and inferred type; false with
/// \p Err on a binding or shape error.
inline bool makeNode(Op O, const std::vector<TensorType> &Types, const Kw &K,
                     Node &N, std::string &Err) {
  int ErrArg, ErrOp;
  N.Opcode = O;
  if (!bindAttrs(mnemonic(O), getOpDef(O).Attrs, {}, K, N.Attrs, Err, ErrArg))
    return false;
  return inferType(O, Types, N.Attrs, N.Type, Err, ErrOp);
}

/// Evaluates `O(Ins) {K}`; the node must be well typed.
inline EvalResult eval(Op O, const std::vector<Tensor> &Ins, const Kw &K = {}) {
  EvalResult R;
  std::vector<TensorType> Types;
  std::vector<const Tensor *> Ptrs;
  for (const Tensor &T : Ins) {
    Types.push_back(T.Type);
    Ptrs.push_back(&T);
  }
  Node N;
  if (!makeNode(O, Types, K, N, R.Err)) {
    ADD_FAILURE() << mnemonic(O) << ": " << R.Err;
    return R;
  }
  R.Ok = evalNode(N, Ptrs, R.Out, R.Err);
  return R;
}

/// Evaluates `O(Ins) {K}`, expecting success.
inline Tensor run(Op O, const std::vector<Tensor> &Ins, const Kw &K = {}) {
  EvalResult R = eval(O, Ins, K);
  EXPECT_TRUE(R.Ok) << mnemonic(O) << ": " << R.Err;
  return R.Out;
}

/// Expects \p T to have type \p Type and values \p Want (within \p Tol
/// relative, or exactly equal: infinities and NaNs compare by kind).
inline void expectTensor(const Tensor &T, const TensorType &Type,
                         const Data &Want, double Tol = 1e-12) {
  EXPECT_EQ(formatType(T.Type), formatType(Type));
  ASSERT_EQ(T.Data.size(), Want.size());
  for (size_t I = 0; I < Want.size(); ++I) {
    double A = T.Data[I], B = Want[I];
    if (std::isnan(B))
      EXPECT_TRUE(std::isnan(A)) << "at " << I << ": " << A;
    else if (std::isinf(B) || Tol == 0)
      EXPECT_EQ(A, B) << "at " << I;
    else
      EXPECT_NEAR(A, B, Tol * std::max(1.0, std::fabs(B))) << "at " << I;
  }
}

/// Checks the gradient rule of \p O at operand values \p X (f64; operands
/// that are not f64 are held constant) against central differences, and
/// the gradient of its gradient (a Hessian-vector product) likewise.
inline void checkGrad(Op O, std::vector<Tensor> X, const Kw &K = {},
                      uint64_t Seed = 1) {
  SCOPED_TRACE(std::string(mnemonic(O)));
  std::mt19937_64 Rng(Seed);
  Module M;
  Function F;
  Builder B(F);
  TensorMap In, State;
  auto Input = [&](const std::string &Name, Tensor T) {
    Node N;
    N.Opcode = Op::Input;
    N.Type = T.Type;
    N.Symbol = Name;
    F.Nodes.push_back(N);
    In[Name] = std::move(T);
    return static_cast<ValueId>(F.Nodes.size() - 1);
  };
  std::vector<ValueId> Xs, Wrt;
  std::vector<size_t> WrtIdx;
  for (size_t I = 0; I < X.size(); ++I) {
    Xs.push_back(Input("x" + std::to_string(I), X[I]));
    if (X[I].Type.Elt == DType::F64) {
      Wrt.push_back(Xs.back());
      WrtIdx.push_back(I);
    }
  }
  AttrList A;
  for (const NamedAttrValue &KV : K)
    A.push_back({KV.Name, KV.Value});
  ValueId Y = B.make(O, Xs, A);
  ValueId W = Input("w", random(F.type(Y), Rng));
  ValueId Loss = B.make(Op::Sum, {B.make(Op::Mul, {Y, W})});
  gradc::passes::Gradients G1 = gradc::passes::differentiate(B, Loss, Wrt);
  ASSERT_TRUE(G1.Missing.empty())
      << "no rule for " << mnemonic(G1.Missing[0].Opcode);
  // s = <d loss / d x, v>, differentiated again.
  ValueId S = B.constant(0.0, DType::F64, {});
  for (size_t I = 0; I < Wrt.size(); ++I) {
    if (!G1.Of[I])
      continue;
    ValueId V = Input("v" + std::to_string(I), random(F.type(Wrt[I]), Rng));
    S = B.make(Op::Add,
               {S, B.make(Op::Sum, {B.make(Op::Mul, {*G1.Of[I], V})})});
  }
  gradc::passes::Gradients G2 = gradc::passes::differentiate(B, S, Wrt);
  ASSERT_TRUE(G2.Missing.empty())
      << "grad-of-grad: no rule for " << mnemonic(G2.Missing[0].Opcode);
  F.Results.push_back({ResultKind::Loss, "loss", Loss});
  F.Results.push_back({ResultKind::Output, "s", S});
  for (size_t I = 0; I < Wrt.size(); ++I) {
    if (G1.Of[I])
      F.Results.push_back({ResultKind::Output, "g", *G1.Of[I]});
    if (G2.Of[I])
      F.Results.push_back({ResultKind::Output, "h", *G2.Of[I]});
  }
  RunResult R = interpret(M, F, In, State);
  ASSERT_TRUE(R.Ok) << R.Error;
  auto Eval = [&](double &Loss, double &S) {
    RunResult Q = interpret(M, F, In, State);
    ASSERT_TRUE(Q.Ok) << Q.Error;
    Loss = Q.Results[0].Data[0];
    S = Q.Results[1].Data[0];
  };
  size_t Next = 2;
  for (size_t I = 0; I < Wrt.size(); ++I) {
    SCOPED_TRACE("operand " + std::to_string(WrtIdx[I]));
    const Tensor *Gr = G1.Of[I] ? &R.Results[Next++] : nullptr;
    const Tensor *H = G2.Of[I] ? &R.Results[Next++] : nullptr;
    Tensor &Xi = In["x" + std::to_string(WrtIdx[I])];
    for (size_t J = 0; J < Xi.size(); ++J) {
      double Orig = Xi.Data[J], H1 = 1e-6 * std::max(1.0, std::fabs(Orig));
      double LP, LM, SP, SM;
      Xi.Data[J] = Orig + H1;
      Eval(LP, SP);
      Xi.Data[J] = Orig - H1;
      Eval(LM, SM);
      Xi.Data[J] = Orig;
      double NumG = (LP - LM) / (2 * H1), NumH = (SP - SM) / (2 * H1);
      double AG = Gr ? Gr->Data[J] : 0, AH = H ? H->Data[J] : 0;
      EXPECT_NEAR(AG, NumG, 1e-6 * std::max(1.0, std::fabs(NumG)))
          << "gradient at element " << J;
      EXPECT_NEAR(AH, NumH, 1e-5 * std::max(1.0, std::fabs(NumH)))
          << "Hessian-vector product at element " << J;
    }
  }
}

/// checkGrad at random f64 operands of shapes \p Shapes.
inline void checkGradRandom(Op O, const std::vector<Shape> &Shapes,
                            const Kw &K = {}, uint64_t Seed = 7) {
  std::mt19937_64 Rng(Seed);
  std::vector<Tensor> X;
  for (const Shape &S : Shapes)
    X.push_back(random(TensorType(DType::F64, S), Rng));
  checkGrad(O, std::move(X), K, Seed + 1);
}

/// The gradient of sum(O(Ins...)) with respect to each operand (nullopt
/// where the rule gives none), evaluated by the interpreter.
inline std::vector<std::optional<Tensor>>
gradOfSum(Op O, const std::vector<Tensor> &Ins, const Kw &K = {}) {
  Function F;
  Builder B(F);
  TensorMap In, State;
  std::vector<ValueId> Xs;
  for (size_t I = 0; I < Ins.size(); ++I) {
    Node N;
    N.Opcode = Op::Input;
    N.Type = Ins[I].Type;
    N.Symbol = "x" + std::to_string(I);
    F.Nodes.push_back(N);
    In[N.Symbol] = Ins[I];
    Xs.push_back(static_cast<ValueId>(I));
  }
  AttrList A;
  for (const NamedAttrValue &KV : K)
    A.push_back({KV.Name, KV.Value});
  ValueId Y = B.make(O, Xs, A);
  if (F.type(Y).Elt != DType::F64)
    Y = B.make(Op::Cast, {Y}, {{"to", DType::F64}});
  ValueId L = B.make(Op::Sum, {Y});
  gradc::passes::Gradients G = gradc::passes::differentiate(B, L, Xs);
  EXPECT_TRUE(G.Missing.empty());
  std::vector<size_t> Slot;
  for (size_t I = 0; I < Xs.size(); ++I)
    if (G.Of[I]) {
      Slot.push_back(F.Results.size());
      F.Results.push_back({ResultKind::Output, "g", *G.Of[I]});
    } else {
      Slot.push_back(SIZE_MAX);
    }
  Module M;
  RunResult R = interpret(M, F, In, State);
  EXPECT_TRUE(R.Ok) << R.Error;
  std::vector<std::optional<Tensor>> Out(Xs.size());
  for (size_t I = 0; I < Xs.size(); ++I)
    if (R.Ok && Slot[I] != SIZE_MAX)
      Out[I] = R.Results[Slot[I]];
  return Out;
}

} // namespace evaltest
