//===- passes/Lowering.cpp - Training and inference forms --------------------===//
//
// Clones a function node by node through a value map; batch_norm and dropout
// are expanded into plain ops on the way (see Lowering.h), so that autodiff,
// the interpreter and codegen never see them.
//
//===----------------------------------------------------------------------===//
#include "passes/Lowering.h"

#include "ir/Builder.h"

namespace gradc::passes {
using namespace ir;

static const Symbol &stateSymbol(Module &M, const std::string &Name,
                                 const TensorType &T, std::string Init, Loc L) {
  if (const Symbol *S = M.lookupSymbol(Name))
    return *S;
  M.Symbols.push_back({SymbolKind::State, Name, T, {std::move(Init), {}}, L});
  return M.Symbols.back();
}

const Symbol &scalarState(Module &M, std::string_view Name) {
  return stateSymbol(M, std::string(Name), TensorType(DType::F64, {}), "zeros", {});
}

namespace {

class Cloner {
public:
  Cloner(Module &M, Function &Dst, Mode Md) : M(M), B(Dst), Md(Md) {}

  std::vector<ValueId> run(const Function &Src);

private:
  ValueId batchNorm(const Node &N, ValueId X, ValueId Gamma, ValueId Beta);
  ValueId dropout(const Node &N, ValueId X);
  ValueId read(const Symbol &S, Loc L) { return B.symbolRef(S, L); }

  Module &M;
  Builder B;
  Mode Md;
  unsigned UnnamedBatchNorms = 0;
  const Function *Src = nullptr;
  unsigned Dropouts = 0;
};

std::vector<ValueId> Cloner::run(const Function &Src) {
  this->Src = &Src;
  std::vector<ValueId> Map(Src.Nodes.size());
  for (ValueId V = 0; V < Src.Nodes.size(); ++V) {
    const Node &N = Src.Nodes[V];
    std::vector<ValueId> Ops;
    for (ValueId O : N.Operands)
      Ops.push_back(Map[O]);
    if (N.Opcode == Op::BatchNorm) {
      Map[V] = batchNorm(N, Ops[0], Ops[1], Ops[2]);
    } else if (N.Opcode == Op::Dropout) {
      Map[V] = dropout(N, Ops[0]);
    } else {
      Node Copy = N;
      Copy.Operands = std::move(Ops);
      B.function().Nodes.push_back(std::move(Copy));
      Map[V] = static_cast<ValueId>(B.function().Nodes.size() - 1);
    }
  }
  return Map;
}

// Train: y = (x - mean) * rsqrt(var + eps) * gamma + beta over the batch
// statistics (all axes but 1, biased variance); running = (1 - m) * running
// + m * batch, with the unbiased variance n/(n-1) * var. Infer: the running
// statistics in place of the batch's.
ValueId Cloner::batchNorm(const Node &N, ValueId X, ValueId Gamma, ValueId Beta) {
  Loc L = N.L;
  const TensorType XT = B.function().type(X);
  DType T = XT.Elt;
  int64_t C = XT.Dims[1];
  IntList Axes, BShape(XT.Dims.size(), 1);
  BShape[1] = C;
  int64_t Count = 1;
  for (size_t I = 0; I < XT.Dims.size(); ++I)
    if (I != 1) {
      Axes.push_back(static_cast<int64_t>(I));
      Count *= XT.Dims[I];
    }
  // An unnamed result takes the first batch_norm_K that no tensor or symbol
  // of the model uses, so two layers never share running statistics.
  std::string Base = N.Name;
  while (Base.empty() || (N.Name.empty() && (Src->lookup(Base) ||
                                             M.lookupSymbol(Base + ".running_mean")))) {
    Base = fmt::format("batch_norm_{}", UnnamedBatchNorms++);
  }
  TensorType Stat(T, {C});
  const Symbol &RMean = stateSymbol(M, Base + ".running_mean", Stat, "zeros", L);
  std::string RMeanName = RMean.Name;
  const Symbol &RVar = stateSymbol(M, Base + ".running_var", Stat, "ones", L);
  std::string RVarName = RVar.Name;
  auto Scalar = [&](double V) { return B.constant(V, T, L); };
  auto Shaped = [&](ValueId V) {
    return B.make(Op::Reshape, {V}, {{"shape", BShape}}, L);
  };
  double Eps = getFloat(N.Attrs, "eps"), Mom = getFloat(N.Attrs, "momentum");
  ValueId Centered, Inv;
  if (Md == Mode::Train) {
    AttrList Reduce = {{"axes", Axes}, {"keepdims", true}};
    ValueId Mean = B.make(Op::Mean, {X}, Reduce, L);
    Centered = B.make(Op::Sub, {X, Mean}, {}, L);
    ValueId Var = B.make(Op::Mean, {B.make(Op::Square, {Centered}, {}, L)}, Reduce, L);
    Inv = B.make(Op::Rsqrt, {B.make(Op::Add, {Var, Scalar(Eps)}, {}, L)}, {}, L);
    // Running statistics: read, blend, write back when the step returns.
    auto Update = [&](const std::string &Sym, ValueId Batch, double Factor) {
      const Symbol &S = *M.lookupSymbol(Sym);
      ValueId Old = read(S, L);
      ValueId Flat = B.make(Op::Reshape, {Batch}, {{"shape", IntList{C}}}, L);
      ValueId New = B.make(
          Op::Add,
          {B.make(Op::Mul, {Old, Scalar(1 - Mom)}, {}, L),
           B.make(Op::Mul, {Flat, Scalar(Mom * Factor)}, {}, L)},
          {}, L);
      B.assign(*M.lookupSymbol(Sym), New, L);
    };
    Update(RMeanName, Mean, 1.0);
    Update(RVarName, Var, Count > 1 ? double(Count) / double(Count - 1) : 1.0);
  } else {
    ValueId Mean = Shaped(read(*M.lookupSymbol(RMeanName), L));
    Centered = B.make(Op::Sub, {X, Mean}, {}, L);
    ValueId Var = read(*M.lookupSymbol(RVarName), L);
    Inv = Shaped(B.make(Op::Rsqrt, {B.make(Op::Add, {Var, Scalar(Eps)}, {}, L)}, {}, L));
  }
  ValueId Norm = B.make(Op::Mul, {Centered, Inv}, {}, L);
  ValueId Y = B.make(Op::Add, {B.make(Op::Mul, {Norm, Shaped(Gamma)}, {}, L), Shaped(Beta)},
                     {}, L);
  B.function().node(Y).Name = N.Name;
  return Y;
}

// Train: x * mask, mask = (u >= p) / (1 - p) from the step's random stream.
// Infer: x.
ValueId Cloner::dropout(const Node &N, ValueId X) {
  double P = getFloat(N.Attrs, "p");
  if (Md == Mode::Infer || P == 0)
    return X;
  Loc L = N.L;
  const TensorType T = B.function().type(X); // a copy: reads add nodes
  ValueId Seed = read(scalarState(M, ".seed"), L);
  ValueId Step = read(scalarState(M, ".step"), L);
  ValueId Mask = B.make(Op::DropoutMask, {Seed, Step},
                        {{"p", P},
                         {"salt", int64_t(Dropouts++)},
                         {"shape", IntList(T.Dims)},
                         {"dtype", T.Elt}},
                        L);
  ValueId Y = B.make(Op::Mul, {X, Mask}, {}, L);
  B.function().node(Y).Name = N.Name;
  return Y;
}

} // namespace

std::vector<ValueId> cloneForMode(Module &M, const Function &Src, Function &Dst,
                                  Mode Md) {
  return Cloner(M, Dst, Md).run(Src);
}

} // namespace gradc::passes
