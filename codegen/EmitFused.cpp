//===- codegen/EmitFused.cpp - One kernel per fusion group ----------------===//
//
// A fusion group (ir/Fusion.h) becomes one kernel:
//   loop    one loop nest over the group's shape (broadcastNest: size-1 axes
//           dropped, neighbours merged); per element, each member in order
//           computes its scalar (emitElementwiseScalar, the elementwise
//           emitter's own code) from values loaded once from the group's
//           inputs at their broadcast offsets or from earlier members'
//           registers, and each output is stored. Every member's value is
//           converted to its dtype exactly as a store and reload would, so
//           the results equal the unfused kernels' bit for bit.
//   reduce  the reduction's own emitter (emitReduce) with an operand loader:
//           where it reads element I of its operand, the producers are
//           computed at I from their inputs (an input broadcast to the
//           operand's shape is read at the offset of I's indices, found by
//           division by constants).
//
//===----------------------------------------------------------------------===//
#include "codegen/Kernel.h"

#include "ir/Fusion.h"
#include "ir/Interpreter.h"

#include <algorithm>
#include <cassert>
#include <map>

namespace gradc::codegen {
namespace {

/// Computes members [From, To) of \p G at one element: \p Val holds the
/// values computed so far, \p Load gives input I's element.
void evalMembers(KernelEmitter &K, const ir::Function &F, ir::ValueId From,
                 ir::ValueId To, const GroupIO &IO,
                 const std::function<llvm::Value *(size_t)> &Load,
                 std::map<ir::ValueId, llvm::Value *> &Val) {
  std::map<size_t, llvm::Value *> Loaded; // each input loaded once
  for (ir::ValueId V = From; V < To; ++V) {
    const ir::Node &N = F.node(V);
    std::vector<llvm::Value *> X;
    std::vector<ir::DType> Types;
    for (ir::ValueId O : N.Operands) {
      Types.push_back(F.type(O).Elt);
      if (auto It = Val.find(O); It != Val.end()) {
        X.push_back(It->second);
        continue;
      }
      size_t I = static_cast<size_t>(
          std::find(IO.Ins.begin(), IO.Ins.end(), O) - IO.Ins.begin());
      assert(I < IO.Ins.size() && "a group operand that is no input");
      auto [It, New] = Loaded.try_emplace(I, nullptr);
      if (New)
        It->second = Load(I);
      X.push_back(It->second);
    }
    Val[V] = emitElementwiseScalar(K, N, X, Types);
  }
}

/// The offset into a buffer of shape \p In broadcast to \p Dims of the
/// element at flat index \p Index of \p Dims: per axis that \p In does not
/// broadcast, (Index / stride) % size times \p In's stride.
llvm::Value *broadcastIndex(KernelEmitter &K, llvm::Value *Index,
                            const ir::Shape &Dims, const ir::Shape &In) {
  if (In == Dims)
    return Index;
  std::vector<int64_t> Row = ir::stridesOf(Dims);
  std::vector<int64_t> St = ir::broadcastStrides(In, Dims);
  llvm::Value *Off = K.i64(0);
  for (size_t A = 0; A < Dims.size(); ++A) {
    if (St[A] == 0)
      continue;
    llvm::Value *I = Row[A] == 1 ? Index : K.B.CreateUDiv(Index, K.i64(Row[A]));
    if (A > 0)
      I = K.B.CreateURem(I, K.i64(Dims[A]));
    Off = K.addScaled(Off, I, St[A]);
  }
  return Off;
}

void emitLoop(llvm::IRBuilder<> &B, const ir::Function &F,
              const ir::FusionGroup &G, const GroupIO &IO, llvm::Value *Err,
              llvm::BasicBlock *Exit) {
  KernelEmitter K(B, F.node(G.Begin), G.Begin, {}, nullptr, {}, Err, Exit);
  const ir::Shape &Dims = F.type(G.Begin).Dims;
  std::vector<ir::Shape> Ins;
  for (ir::ValueId V : IO.Ins)
    Ins.push_back(F.type(V).Dims);
  size_t NIn = Ins.size();
  broadcastNest(K, Dims, Ins, [&](const std::vector<llvm::Value *> &Offs) {
    std::map<ir::ValueId, llvm::Value *> Val;
    evalMembers(
        K, F, G.Begin, G.End, IO,
        [&](size_t I) {
          return K.load(F.type(IO.Ins[I]).Elt, IO.InPtrs[I], Offs[I]);
        },
        Val);
    for (size_t O = 0; O < IO.Outs.size(); ++O)
      K.store(Val[IO.Outs[O]], F.type(IO.Outs[O]).Elt, IO.OutPtrs[O],
              Offs[NIn]);
  });
}

void emitReduceGroup(llvm::IRBuilder<> &B, const ir::Function &F,
                     const ir::FusionGroup &G, const GroupIO &IO,
                     llvm::Value *Err, llvm::BasicBlock *Exit) {
  ir::ValueId Last = G.End - 1;
  const ir::Node &R = F.node(Last);
  assert(IO.Outs.size() == 1 && IO.Outs[0] == Last &&
         "a reduce group's only output is its reduction");
  KernelEmitter K(B, R, Last, {nullptr}, IO.OutPtrs[0],
                  {F.type(R.Operands[0])}, Err, Exit);
  const ir::Shape &Dims = F.type(R.Operands[0]).Dims;
  K.setOperandLoader([&](size_t, llvm::Value *Index) {
    std::map<ir::ValueId, llvm::Value *> Val;
    evalMembers(
        K, F, G.Begin, Last, IO,
        [&](size_t I) {
          const ir::TensorType &T = F.type(IO.Ins[I]);
          return K.load(T.Elt, IO.InPtrs[I], broadcastIndex(K, Index, Dims, T.Dims));
        },
        Val);
    return Val[R.Operands[0]];
  });
  emitReduce(K);
}

} // namespace

void emitFusedGroup(llvm::IRBuilder<> &B, const ir::Function &F,
                    const ir::FusionGroup &G, const GroupIO &IO,
                    llvm::Value *ErrorInfo, llvm::BasicBlock *ErrorExit) {
  switch (G.Kind) {
  case ir::FusionKind::Loop:
    return emitLoop(B, F, G, IO, ErrorInfo, ErrorExit);
  case ir::FusionKind::Reduce:
    return emitReduceGroup(B, F, G, IO, ErrorInfo, ErrorExit);
  }
}

} // namespace gradc::codegen
