//===- tests/support/GradCheck.cpp - Gradient checks in f64 -----------------===//
#include "GradCheck.h"

#include "frontend/Frontend.h"
#include "ir/Builder.h"
#include "ir/Interpreter.h"
#include "ir/Verifier.h"
#include "passes/Differentiate.h"
#include "passes/Lowering.h"

#include <cmath>
#include <fstream>
#include <gtest/gtest.h>
#include <sstream>

namespace gradc::test {
using namespace ir;

uint64_t Random::next() {
  uint64_t Z = (State += 0x9e3779b97f4a7c15ULL);
  Z = (Z ^ (Z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  Z = (Z ^ (Z >> 27)) * 0x94d049bb133111ebULL;
  return Z ^ (Z >> 31);
}

double Random::uniform(double Lo, double Hi) {
  return Lo + (Hi - Lo) * static_cast<double>(next() >> 11) * 0x1.0p-53;
}

namespace {

Tensor randomTensor(Random &R, const TensorType &T, Domain D) {
  Tensor X(T);
  for (double &V : X.Data)
    V = T.Elt == DType::I32 ? std::floor(R.uniform(D.Lo, D.Hi)) : R.uniform(D.Lo, D.Hi);
  return X;
}

/// Runs \p F and returns its first result's scalar (the loss).
double lossOf(const Module &M, const Function &F, const TensorMap &In, TensorMap State) {
  RunResult R = interpret(M, F, In, State);
  EXPECT_TRUE(R.Ok) << R.Error;
  return R.Ok ? R.Results[0].Data[0] : NAN;
}

/// Compares result 1 + I (the gradient of param \p Params[I]) with central
/// differences of result 0, on up to \p Samples elements of each param.
void compareWithDifferences(const Module &M, const Function &F, const TensorMap &In,
                            TensorMap &State, const std::vector<std::string> &Params,
                            size_t Samples, double Tol, const std::string &What) {
  TensorMap Copy = State;
  RunResult R = interpret(M, F, In, Copy);
  ASSERT_TRUE(R.Ok) << What << ": " << R.Error;
  for (size_t P = 0; P < Params.size(); ++P) {
    Tensor &X = State[Params[P]];
    const Tensor &G = R.Results[1 + P];
    size_t N = X.size(), Step = std::max<size_t>(1, N / Samples);
    for (size_t J = 0; J < N; J += Step) {
      double X0 = X.Data[J], H = 1e-6 * std::max(1.0, std::fabs(X0));
      X.Data[J] = X0 + H;
      double Lp = lossOf(M, F, In, State);
      X.Data[J] = X0 - H;
      double Lm = lossOf(M, F, In, State);
      X.Data[J] = X0;
      double Num = (Lp - Lm) / (2 * H), Ana = G.Data[J];
      EXPECT_NEAR(Ana, Num, Tol * std::max(1.0, std::fabs(Num)))
          << What << ": d/d" << Params[P] << "[" << J << "]";
    }
  }
}

std::string printed(const Module &M) {
  std::ostringstream OS;
  for (const std::string &P : verifyModule(M))
    OS << P << '\n';
  return OS.str();
}

} // namespace

void checkOpGradient(const OpCase &C) {
  std::string What(mnemonic(C.O));
  Module M;
  M.Name = "case";
  M.Functions.push_back({"f", {}, {}, {}});
  Function &F = M.Functions.back();
  Builder B(F);
  std::vector<ValueId> Reads, ParamReads;
  std::vector<std::string> Params;
  for (size_t I = 0; I < C.Operands.size(); ++I) {
    bool Float = isFloat(C.Operands[I].Elt);
    M.Symbols.push_back({Float ? SymbolKind::Param : SymbolKind::Input,
                         "p" + std::to_string(I), C.Operands[I], {"zeros", {}}, {}});
  }
  for (size_t I = 0; I < C.Operands.size(); ++I) {
    Reads.push_back(B.symbolRef(M.Symbols[I], {}));
    if (M.Symbols[I].Kind == SymbolKind::Param) {
      ParamReads.push_back(Reads.back());
      Params.push_back(M.Symbols[I].Name);
    }
  }
  AttrList Attrs;
  std::string Err;
  int ErrArg;
  ASSERT_TRUE(bindAttrs(What, getOpDef(C.O).Attrs, {}, C.Attrs, Attrs, Err, ErrArg)) << Err;
  BuildError BE;
  auto Out = B.create(C.O, Reads, Attrs, {}, BE);
  ASSERT_TRUE(Out) << What << ": " << BE.Message;
  What += " " + formatAttrs(F.node(*Out).Attrs);
  M.Symbols.push_back({SymbolKind::Input, "w", F.type(*Out), {}, {}});
  ValueId W = B.symbolRef(M.Symbols.back(), {});
  ValueId Loss = B.make(Op::Sum, {B.make(Op::Mul, {*Out, W})});
  passes::Gradients G = passes::differentiate(B, Loss, ParamReads);
  ASSERT_TRUE(G.Missing.empty()) << What << ": no gradient rule on the path";
  F.Results.push_back({ResultKind::Loss, "loss", Loss});
  for (size_t I = 0; I < Params.size(); ++I) {
    ASSERT_TRUE(G.Of[I]) << What << ": no gradient for " << Params[I];
    F.Results.push_back({ResultKind::Output, "g" + Params[I], *G.Of[I]});
  }
  ASSERT_EQ(printed(M), "") << What;

  Random R(42);
  TensorMap In, State;
  for (size_t I = 0; I < C.Operands.size(); ++I) {
    Domain D = I < C.Domains.size() ? C.Domains[I] : Domain();
    (M.Symbols[I].Kind == SymbolKind::Param ? State : In)[M.Symbols[I].Name] =
        randomTensor(R, C.Operands[I], D);
  }
  In["w"] = randomTensor(R, M.Symbols.back().Type, {-1, 1});
  compareWithDifferences(M, F, In, State, Params, 48, 1e-6, What);
}

void checkHessianVectorProduct() {
  Module M;
  M.Name = "hvp";
  auto Sym = [&](SymbolKind K, const char *N, TensorType T) {
    M.Symbols.push_back({K, N, std::move(T), {"zeros", {}}, {}});
  };
  Sym(SymbolKind::Input, "x", {DType::F64, {4, 3}});
  Sym(SymbolKind::Input, "y", {DType::I32, {4}});
  Sym(SymbolKind::Param, "W1", {DType::F64, {3, 5}});
  Sym(SymbolKind::Param, "b1", {DType::F64, {5}});
  Sym(SymbolKind::Param, "W2", {DType::F64, {5, 3}});
  Sym(SymbolKind::Input, "v1", {DType::F64, {3, 5}});
  Sym(SymbolKind::Input, "v2", {DType::F64, {5}});
  Sym(SymbolKind::Input, "v3", {DType::F64, {5, 3}});
  M.Functions.push_back({"hvp", {}, {}, {}});
  Function &F = M.Functions.back();
  Builder B(F);
  std::vector<ValueId> S;
  for (const Symbol &Sy : M.Symbols)
    S.push_back(B.symbolRef(Sy, {}));
  ValueId H = B.make(Op::Tanh, {B.make(Op::Add, {B.make(Op::Matmul, {S[0], S[2]}), S[3]})});
  ValueId Logits = B.make(Op::Matmul, {B.make(Op::Sigmoid, {H}), S[4]});
  ValueId Loss = B.make(Op::SoftmaxCrossEntropy, {Logits, S[1]});
  std::vector<ValueId> Wrt = {S[2], S[3], S[4]};
  passes::Gradients G = passes::differentiate(B, Loss, Wrt);
  ASSERT_TRUE(G.Missing.empty());
  // s = <g, v>; its gradient is the Hessian times v.
  ValueId Dot;
  for (size_t I = 0; I < 3; ++I) {
    ValueId Term = B.make(Op::Sum, {B.make(Op::Mul, {*G.Of[I], S[5 + I]})});
    Dot = I ? B.make(Op::Add, {Dot, Term}) : Term;
  }
  passes::Gradients HV = passes::differentiate(B, Dot, Wrt);
  ASSERT_TRUE(HV.Missing.empty()) << "an op of the backward graph has no rule";
  for (size_t I = 0; I < 3; ++I) {
    F.Results.push_back({ResultKind::Output, "g" + std::to_string(I), *G.Of[I]});
    ASSERT_TRUE(HV.Of[I]);
    F.Results.push_back({ResultKind::Output, "hv" + std::to_string(I), *HV.Of[I]});
  }
  ASSERT_EQ(printed(M), "");

  Random R(7);
  TensorMap In, State;
  for (size_t I = 0; I < M.Symbols.size(); ++I) {
    const Symbol &Sy = M.Symbols[I];
    Tensor T = randomTensor(R, Sy.Type, Sy.Type.Elt == DType::I32 ? Domain{0, 3} : Domain{-1, 1});
    (Sy.Kind == SymbolKind::Param ? State : In)[Sy.Name] = T;
  }
  TensorMap Copy = State;
  RunResult Base = interpret(M, F, In, Copy);
  ASSERT_TRUE(Base.Ok) << Base.Error;
  // Central differences of the gradient along v.
  const char *Params[] = {"W1", "b1", "W2"};
  const double H0 = 1e-5;
  auto Shifted = [&](double Sign) {
    TensorMap St = State;
    for (size_t I = 0; I < 3; ++I)
      for (size_t J = 0; J < St[Params[I]].size(); ++J)
        St[Params[I]].Data[J] += Sign * H0 * In["v" + std::to_string(I + 1)].Data[J];
    RunResult Res = interpret(M, F, In, St);
    EXPECT_TRUE(Res.Ok);
    return Res.Results;
  };
  std::vector<Tensor> Plus = Shifted(1), Minus = Shifted(-1);
  for (size_t I = 0; I < 3; ++I)
    for (size_t J = 0; J < Base.Results[2 * I + 1].size(); ++J) {
      double Num = (Plus[2 * I].Data[J] - Minus[2 * I].Data[J]) / (2 * H0);
      EXPECT_NEAR(Base.Results[2 * I + 1].Data[J], Num, 1e-6 * std::max(1.0, std::fabs(Num)))
          << "Hv for " << Params[I] << "[" << J << "]";
    }
}

void checkModelGradients(const std::string &Path) {
  std::ifstream In(Path);
  std::stringstream SS;
  SS << In.rdbuf();
  SourceFile Src(Path, SS.str());
  std::ostringstream Log;
  DiagnosticEngine Diags(Log);
  Diags.setSource(&Src);
  std::vector<Define> Defs = {{"B", "2"}};
  std::unique_ptr<Module> Parsed = loadModel(Src, Defs, Diags);
  ASSERT_TRUE(Parsed) << Log.str();
  ASSERT_TRUE(Parsed->Train) << Path << " has no train block";
  // Everything f32 becomes f64.
  auto Widen = [](TensorType &T) {
    if (T.Elt == DType::F32)
      T.Elt = DType::F64;
  };
  for (Symbol &S : Parsed->Symbols)
    Widen(S.Type);
  for (Node &N : Parsed->Functions[0].Nodes) {
    Widen(N.Type);
    for (Attr &A : N.Attrs)
      if (auto *D = std::get_if<DType>(&A.Value); D && *D == DType::F32)
        *D = DType::F64;
  }
  const Function Model = Parsed->Functions[0];
  Module &M = *Parsed;
  M.Functions.push_back({"grad", {}, {}, {}});
  Function &F = M.Functions.back();
  std::vector<ValueId> Map = passes::cloneForMode(M, Model, F, passes::Mode::Train);
  Builder B(F);
  ValueId Loss = Map[*Model.lookup(M.Train->Minimize)];
  std::vector<ValueId> Reads;
  std::vector<std::string> Params;
  for (ValueId V = 0; V < F.Nodes.size(); ++V)
    if (F.Nodes[V].Opcode == Op::Param && M.lookupSymbol(F.Nodes[V].Symbol)->Kind == SymbolKind::Param) {
      Reads.push_back(V);
      Params.push_back(F.Nodes[V].Symbol);
    }
  passes::Gradients G = passes::differentiate(B, Loss, Reads);
  ASSERT_TRUE(G.Missing.empty()) << Path << ": an op on the path has no gradient rule";
  F.Results.push_back({ResultKind::Loss, "loss", Loss});
  for (size_t I = 0; I < Params.size(); ++I) {
    ASSERT_TRUE(G.Of[I]) << Params[I];
    F.Results.push_back({ResultKind::Output, "g" + Params[I], *G.Of[I]});
  }
  M.Functions.erase(M.Functions.begin()); // @model
  ASSERT_EQ(printed(M), "");
  const Function &GF = M.Functions[0];

  // Class ids must be valid for whatever consumes them.
  auto IdRange = [&](const std::string &Sym) {
    for (const Node &N : GF.Nodes)
      for (size_t I = 0; I < N.Operands.size(); ++I) {
        const Node &O = GF.Nodes[N.Operands[I]];
        if (O.Opcode != Op::Input || O.Symbol != Sym)
          continue;
        if (N.Opcode == Op::SoftmaxCrossEntropy || N.Opcode == Op::Accuracy)
          return GF.type(N.Operands[0]).Dims[1];
        if (N.Opcode == Op::Embedding)
          return GF.type(N.Operands[1]).Dims[0];
      }
    return int64_t(2);
  };
  Random R(3);
  TensorMap Inputs, State;
  for (const Symbol &S : M.Symbols) {
    if (S.Kind == SymbolKind::Input)
      Inputs[S.Name] = randomTensor(
          R, S.Type, S.Type.Elt == DType::I32 ? Domain{0, double(IdRange(S.Name))} : Domain{0, 1});
    else if (S.Kind == SymbolKind::Param)
      State[S.Name] = randomTensor(R, S.Type, {-0.3, 0.3});
    else {
      Tensor T(S.Type);
      std::fill(T.Data.begin(), T.Data.end(), S.Init.Name == "ones" ? 1.0 : 0.0);
      State[S.Name] = T;
    }
  }
  compareWithDifferences(M, GF, Inputs, State, Params, 6, 1e-5, Path);
}

} // namespace gradc::test
