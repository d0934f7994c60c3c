//===- codegen/Kernel.h - What an op family's emitter sees ------*- C++ -*-===//
//
// The family emitters (EmitElementwise.cpp, EmitReduce.cpp, EmitMovement.cpp,
// EmitLinalg.cpp, EmitNN.cpp, EmitLoss.cpp) each lower one node into loops
// over static shapes that read operand buffers and write the result buffer.
// Buffers are row-major and 64-byte aligned; operands never alias the result
// (so loops can be marked noalias and vectorized), with one exception: an
// elementwise kernel or a fused loop (EmitFused.cpp) that the memory plan
// runs in place (MemoryPlan.cpp) gets the result pointer itself as each
// operand that reads the same State slot, of the result's shape, so element
// i is read before it is written (the slot is one kernel parameter).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Module.h"

#include <array>
#include <functional>
#include <llvm/IR/IRBuilder.h>
#include <span>

namespace gradc::codegen {

/// What a module's parallel loops may use (Parallel.cpp): the module's
/// thread count, a compile-time constant, and the least work worth
/// splitting. Used records that a loop was split (the module then needs the
/// thread pool).
struct ParallelConfig {
  unsigned Threads = 1;
  int64_t MinWork = 0;
  bool Used = false;
};

class KernelEmitter {
public:
  KernelEmitter(llvm::IRBuilder<> &B, const ir::Node &N, ir::ValueId Id,
                std::vector<llvm::Value *> Operands, llvm::Value *Result,
                std::vector<ir::TensorType> OperandTypes,
                llvm::Value *ErrorInfo, llvm::BasicBlock *ErrorExit)
      : B(B), N(N), Id(Id), Operands(std::move(Operands)), Result(Result),
        OperandTypes(std::move(OperandTypes)), ErrorInfo(ErrorInfo),
        ErrorExit(ErrorExit) {}

  llvm::IRBuilder<> &B;

  const ir::Node &node() const { return N; }
  ir::Op op() const { return N.Opcode; }
  size_t numOperands() const { return Operands.size(); }
  /// Pointer to operand \p I's buffer / the result buffer (opaque `ptr`).
  llvm::Value *operand(size_t I) const { return Operands[I]; }
  llvm::Value *result() const { return Result; }
  const ir::TensorType &operandType(size_t I) const { return OperandTypes[I]; }
  const ir::TensorType &resultType() const { return N.Type; }

  /// The LLVM type of one element of \p T (float, double or i32).
  llvm::Type *eltType(ir::DType T) const;
  llvm::Constant *constant(ir::DType T, double V) const;
  llvm::Value *i64(int64_t V) const { return B.getInt64(V); }

  /// Element \p Index (an i64) of the buffer \p Ptr of dtype \p T.
  llvm::Value *load(ir::DType T, llvm::Value *Ptr, llvm::Value *Index);
  /// Element \p Index (flat, row-major) of operand \p I: a load from its
  /// buffer, or, when the operand is computed in the kernel (a fused
  /// producer, see setOperandLoader), its value computed there.
  llvm::Value *loadOperand(size_t I, llvm::Value *Index) {
    if (OperandLoader)
      return OperandLoader(I, Index);
    return load(OperandTypes[I].Elt, Operands[I], Index);
  }
  /// Makes loadOperand call \p F (a fused group computing the operands of
  /// its last member element by element).
  void setOperandLoader(std::function<llvm::Value *(size_t, llvm::Value *)> F) {
    OperandLoader = std::move(F);
  }
  void store(llvm::Value *V, ir::DType T, llvm::Value *Ptr, llvm::Value *Index);

  /// Makes the matmul and conv2d emitters call \p F(Start, Count) when
  /// result elements [Start, Start + Count) (an i64 flat index; a row, an
  /// output plane) are final: a fused group's epilogue (EmitFused.cpp).
  void setFinishedHook(std::function<void(llvm::Value *, int64_t)> F) {
    Finished = std::move(F);
  }
  void finished(llvm::Value *Start, int64_t Count) {
    if (Finished)
      Finished(Start, Count);
  }

  /// Emits `for (I = 0; I < N; ++I) Body(I)` with an i64 induction variable.
  void loop(int64_t N, const std::function<void(llvm::Value *)> &Body);
  /// Emits `for (I = 0; I < N; ++I) Body(I)` whose iterations write
  /// disjoint elements of the result, split across the module's threads
  /// when N * WorkPerIteration (inner-loop steps) reaches the configured
  /// minimum: Body is then emitted into a worker function run by the thread
  /// pool (Parallel.cpp). Body reads the buffers through operand() and
  /// result(); values of the kernel it uses are passed to the worker, but
  /// it must not use allocas of the kernel (make them inside Body) nor
  /// failIf. Every element is computed by the same code in the same order
  /// whatever the thread count.
  void parallelLoop(int64_t N, int64_t WorkPerIteration,
                    const std::function<void(llvm::Value *)> &Body);
  /// Whether parallelLoop(N, WorkPerIteration, ...) would split the loop.
  bool parallelWorthwhile(int64_t N, int64_t WorkPerIteration) const;
  /// Uses \p Config for parallelLoop (null: every loop is serial).
  void setParallel(ParallelConfig *Config) { Par = Config; }

  /// Nested loops over \p Dims (outermost first); Body gets the indices.
  void loopNest(const ir::Shape &Dims,
                const std::function<void(const std::vector<llvm::Value *> &)> &Body);
  /// The flat row-major index of \p Idx in \p Dims (i64).
  llvm::Value *flatIndex(const ir::Shape &Dims, const std::vector<llvm::Value *> &Idx);

  /// Emits `for (I = Lo; I < Hi; ++I) Body(I)` for i64 bounds computed at
  /// run time.
  void loopRange(llvm::Value *Lo, llvm::Value *Hi,
                 const std::function<void(llvm::Value *)> &Body);
  /// Sets the result buffer to zero (kernels that accumulate call it first).
  void zeroResult();
  /// Base + I * St as an i64 (no wrap: indices are below MaxElements).
  llvm::Value *addScaled(llvm::Value *Base, llvm::Value *I, int64_t St);
  /// A slot in the function's entry block (SROA promotes scalars to
  /// registers).
  llvm::AllocaInst *entryAlloca(llvm::Type *Ty, const llvm::Twine &Name = "");

  /// Leaves the function with error \p Code when \p Cond (i1) holds,
  /// recording this node and \p Index (i64) in ErrorInfo.
  void failIf(llvm::Value *Cond, int64_t Code, llvm::Value *Index);

  /// Calls a libm function (e.g. "erf", "erff") of one or two arguments.
  llvm::Value *callMath(std::string_view Name, std::vector<llvm::Value *> Args);

private:
  const ir::Node &N;
  ir::ValueId Id;
  std::vector<llvm::Value *> Operands;
  llvm::Value *Result;
  std::vector<ir::TensorType> OperandTypes;
  llvm::Value *ErrorInfo;
  llvm::BasicBlock *ErrorExit;
  ParallelConfig *Par = nullptr;
  bool InParallelBody = false;
  std::function<llvm::Value *(size_t, llvm::Value *)> OperandLoader;
  std::function<void(llvm::Value *, int64_t)> Finished;
};

/// One axis of a loop nest that walks two buffers: its size and the
/// element stride in each (0 where that buffer is broadcast or reduced).
struct StridedDim {
  int64_t Size;
  std::array<int64_t, 2> St;
};

/// Drops size-1 axes and merges neighbours that walk both buffers as one.
std::vector<StridedDim> simplifyStrided(const std::vector<StridedDim> &Dims);

/// Loops over \p Dims (outermost first) from indices \p A and \p B into the
/// two buffers; \p Body gets both indices.
void stridedNest(KernelEmitter &K, std::span<const StridedDim> Dims,
                 llvm::Value *A, llvm::Value *B,
                 const std::function<void(llvm::Value *, llvm::Value *)> &Body);

/// Defines `void Name()`, which stops the module's worker threads
/// (\p HasPool) or does nothing.
void emitThreadPoolShutdown(llvm::Module &M, bool HasPool,
                            const llvm::Twine &Name);
/// Links the thread pool (rt/ThreadPool.c) into \p M, which split a loop.
void linkThreadPool(llvm::Module &M);
/// Loops over \p Dims (size-1 axes dropped, neighbours walked alike
/// merged) with a flat offset into each buffer of shape \p Ins broadcast to
/// \p Dims, then one into a buffer of shape \p Dims; Body gets them.
void broadcastNest(
    KernelEmitter &K, const ir::Shape &Dims, const std::vector<ir::Shape> &Ins,
    const std::function<void(const std::vector<llvm::Value *> &)> &Body);

/// The value of elementwise node \p N (of its dtype) given its operands'
/// values \p Ops (of dtypes \p OpTypes): ir/ops/Elementwise.h in LLVM IR.
llvm::Value *emitElementwiseScalar(KernelEmitter &K, const ir::Node &N,
                                   std::span<llvm::Value *const> Ops,
                                   std::span<const ir::DType> OpTypes);

/// A fusion group's kernel (EmitFused.cpp): it reads the values \p Ins
/// from outside the group (buffers \p InPtrs) and writes its outputs
/// \p Outs (buffers \p OutPtrs).
struct GroupIO {
  std::vector<ir::ValueId> Ins, Outs;
  std::vector<llvm::Value *> InPtrs, OutPtrs;
};
void emitFusedGroup(llvm::IRBuilder<> &B, const ir::Function &F,
                    const ir::FusionGroup &G, const GroupIO &IO,
                    llvm::Value *ErrorInfo, llvm::BasicBlock *ErrorExit,
                    ParallelConfig *Par = nullptr);

/// One emitter per op family; each switches on the ops of its family.
void emitElementwise(KernelEmitter &K);
void emitReduce(KernelEmitter &K);
void emitMovement(KernelEmitter &K);
void emitLinalg(KernelEmitter &K);
void emitNN(KernelEmitter &K);
void emitLoss(KernelEmitter &K);

} // namespace gradc::codegen
