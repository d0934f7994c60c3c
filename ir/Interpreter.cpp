//===- ir/Interpreter.cpp - The reference interpreter ------------------------===//
//
// Walks a function's nodes in order. Sources read symbols (or splat a
// constant), `assign` records a write applied when the function returns, and
// every other node runs its op's Eval on f64 values; f32 results are then
// rounded to f32.
//
//===----------------------------------------------------------------------===//
#include "ir/Interpreter.h"

#include "ir/OpDefs.h"

#include <cmath>

namespace gradc::ir {

std::vector<int64_t> stridesOf(const Shape &S) {
  std::vector<int64_t> St(S.size());
  int64_t Acc = 1;
  for (size_t I = S.size(); I-- > 0;) {
    St[I] = Acc;
    Acc *= S[I];
  }
  return St;
}

std::vector<int64_t> broadcastStrides(const Shape &In, const Shape &Out) {
  std::vector<int64_t> InSt = stridesOf(In), St(Out.size(), 0);
  size_t Off = Out.size() - In.size();
  for (size_t I = 0; I < In.size(); ++I)
    St[Off + I] = In[I] == 1 ? 0 : InSt[I];
  return St;
}

static void roundTo(Tensor &T) {
  if (T.Type.Elt == DType::F32)
    for (double &D : T.Data)
      D = static_cast<double>(static_cast<float>(D));
}

bool evalNode(const Node &N, std::span<const Tensor *const> Ins, Tensor &Out,
              std::string &Err) {
  Out = Tensor(N.Type);
  EvalFn Eval = getOpDef(N.Opcode).Eval;
  if (!Eval) {
    Err = fmt::format("the interpreter cannot run '{}'", mnemonic(N.Opcode));
    return false;
  }
  EvalCtx C(N, Ins, Out);
  if (!Eval(C)) {
    Err = std::move(C.Error);
    return false;
  }
  roundTo(Out);
  return true;
}

RunResult interpret(const Module &M, const Function &F, const TensorMap &Inputs,
                    TensorMap &State) {
  RunResult R;
  std::vector<Tensor> Values(F.Nodes.size());
  std::vector<std::pair<std::string, ValueId>> Writes;
  auto Fail = [&](const Node &N, std::string Msg) {
    R.Ok = false;
    R.FailedNode = static_cast<ValueId>(&N - F.Nodes.data());
    R.Error = N.L.isValid() ? fmt::format("{}:{}:{}: {}", M.SourceName, N.L.Line,
                                          N.L.Col, Msg)
                            : Msg;
    return R;
  };
  for (ValueId V = 0; V < F.Nodes.size(); ++V) {
    const Node &N = F.Nodes[V];
    switch (N.Opcode) {
    case Op::Constant:
      Values[V] = Tensor(N.Type);
      std::fill(Values[V].Data.begin(), Values[V].Data.end(),
                getFloat(N.Attrs, "value"));
      roundTo(Values[V]);
      continue;
    case Op::Input:
    case Op::Param: {
      const TensorMap &From = N.Opcode == Op::Input ? Inputs : State;
      auto It = From.find(N.Symbol);
      if (It == From.end())
        return Fail(N, fmt::format("no value for @{}", N.Symbol));
      if (It->second.Type != N.Type)
        return Fail(N, fmt::format("@{} is {}, expected {}", N.Symbol,
                                   formatType(It->second.Type),
                                   formatType(N.Type)));
      Values[V] = It->second;
      continue;
    }
    case Op::Assign:
      Writes.push_back({N.Symbol, N.Operands[0]});
      continue;
    default:
      break;
    }
    std::vector<const Tensor *> Ins;
    for (ValueId O : N.Operands)
      Ins.push_back(&Values[O]);
    std::string Err;
    if (!evalNode(N, Ins, Values[V], Err))
      return Fail(N, fmt::format("'{}': {}", mnemonic(N.Opcode), Err));
  }
  for (const Result &Res : F.Results)
    R.Results.push_back(Values[Res.Value]);
  for (auto &[Sym, V] : Writes)
    State[Sym] = Values[V];
  return R;
}

} // namespace gradc::ir
