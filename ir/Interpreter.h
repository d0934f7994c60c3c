//===- ir/Interpreter.h - The reference interpreter -------------*- C++ -*-===//
//
// Executes any IR function, op by op, with each op's OpDef::Eval: the living
// definition of what every op means. Values are held in f64; an f32 result is
// rounded to f32 after each op, so f32 models see f32 rounding at op
// boundaries (within an op, e.g. a matmul's sum, arithmetic is f64). This is
// the reference that gradient checks, the JIT's differential tests and the
// interp backend use.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Module.h"

#include <fmt/format.h>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace gradc::ir {

struct Tensor {
  TensorType Type;
  std::vector<double> Data;

  Tensor() = default;
  explicit Tensor(TensorType T)
      : Type(std::move(T)), Data(static_cast<size_t>(Type.numElements()), 0.0) {}
  size_t size() const { return Data.size(); }
};

/// Row-major strides of \p S.
std::vector<int64_t> stridesOf(const Shape &S);
/// The strides with which to read a tensor of shape \p In broadcast to
/// \p Out (NumPy rules): one per axis of Out, 0 where In is broadcast.
std::vector<int64_t> broadcastStrides(const Shape &In, const Shape &Out);
/// Calls \p Fn(OutIndex, InIndex...) for every element of \p Out, with the
/// flat index of each input broadcast to it.
template <typename Fn>
void forEachBroadcast(const Shape &Out, std::span<const Shape> Ins, Fn &&F) {
  size_t R = Out.size(), N = Ins.size();
  std::vector<std::vector<int64_t>> St;
  for (const Shape &S : Ins)
    St.push_back(broadcastStrides(S, Out));
  std::vector<int64_t> Idx(R, 0), Flat(N, 0);
  int64_t Total = 1;
  for (int64_t D : Out)
    Total *= D;
  for (int64_t O = 0; O < Total; ++O) {
    F(O, std::span<const int64_t>(Flat));
    for (size_t A = R; A-- > 0;) {
      ++Idx[A];
      for (size_t I = 0; I < N; ++I)
        Flat[I] += St[I][A];
      if (Idx[A] < Out[A])
        break;
      for (size_t I = 0; I < N; ++I)
        Flat[I] -= St[I][A] * Out[A];
      Idx[A] = 0;
    }
  }
}

/// What an op's Eval sees: its operands, attributes and preallocated
/// (zeroed) result.
class EvalCtx {
public:
  EvalCtx(const Node &N, std::span<const Tensor *const> Ins, Tensor &Out)
      : N(N), Ins(Ins), Out(Out) {}

  const Node &node() const { return N; }
  Op op() const { return N.Opcode; }
  size_t numOperands() const { return Ins.size(); }
  const Tensor &in(size_t I) const { return *Ins[I]; }
  Tensor &out() { return Out; }

  int64_t getInt(std::string_view A) const { return ir::getInt(N.Attrs, A); }
  double getFloat(std::string_view A) const { return ir::getFloat(N.Attrs, A); }
  bool getBool(std::string_view A) const { return ir::getBool(N.Attrs, A); }
  const IntList &getInts(std::string_view A) const { return ir::getInts(N.Attrs, A); }
  DType getDType(std::string_view A) const { return ir::getDType(N.Attrs, A); }

  /// A runtime error (an id out of range); returns false.
  template <typename... Args>
  bool error(fmt::format_string<Args...> F, Args &&...A) {
    Error = fmt::format(F, std::forward<Args>(A)...);
    return false;
  }
  std::string Error;

private:
  const Node &N;
  std::span<const Tensor *const> Ins;
  Tensor &Out;
};

/// Symbol values that persist across calls: params, state, and the inputs
/// and args of the next call.
using TensorMap = std::map<std::string, Tensor, std::less<>>;

struct RunResult {
  bool Ok = true;
  std::string Error;       // a runtime error, naming the op and its location
  ValueId FailedNode = 0;  // on an error, the node that failed
  std::vector<Tensor> Results; // in the order of Function::Results
};

/// Runs \p F of \p M. Input and arg symbols are read from \p Inputs, params
/// and state from \p State; `assign` nodes update \p State when the function
/// returns (every read sees the values from before the call).
RunResult interpret(const Module &M, const Function &F, const TensorMap &Inputs,
                    TensorMap &State);

/// Evaluates a single node given its operand values (used by tests).
bool evalNode(const Node &N, std::span<const Tensor *const> Ins, Tensor &Out,
              std::string &Err);

} // namespace gradc::ir
