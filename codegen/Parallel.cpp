//===- codegen/Parallel.cpp - Parallel loops and the thread pool ----------===//
//
// KernelEmitter::parallelLoop splits a loop whose iterations write disjoint
// elements of a kernel's result across the module's threads:
//
//   kernel:   ctx = {result, operands..., captured values...} (an alloca)
//             gradc_rt_parallel_for(@k.par, ctx, N, Threads)
//   @k.par(ctx, lo, hi):       loads the buffer pointers from ctx and calls
//   @k.body(result, operands..., ctx, lo, hi):
//             for (i = lo; i < hi; ++i) Body(i)
//
// @k.body carries the kernel's parameter attributes (noalias, alignment,
// dereferenceable bytes), so its loops vectorize as the kernel's own would;
// the values of the kernel that Body uses (row offsets computed outside the
// loop, say) are found after Body is emitted and passed through ctx. The
// thread count is a constant of the module. Each iteration runs the same
// code whichever thread runs it, so results are bit-identical for every
// thread count; below ParallelConfig::MinWork, with one thread, or inside
// another parallel loop, the loop is emitted inline as K.loop would.
//
// The pool itself is rt/ThreadPool.c, compiled to bitcode when gradc is
// built and embedded here; linkThreadPool links it into a module that split
// a loop, with internal linkage, so generated code needs only libc and
// pthreads (and a module with no split loop references no pthread symbol).
//
//===----------------------------------------------------------------------===//
#include "codegen/Kernel.h"

#include <llvm/Bitcode/BitcodeReader.h>
#include <llvm/IR/Module.h>
#include <llvm/Linker/Linker.h>
#include <llvm/Support/ErrorHandling.h>
#include <llvm/Support/MemoryBuffer.h>

#include <algorithm>
#include <cassert>
#include <map>

namespace gradc::codegen {
using namespace llvm;

namespace {

const unsigned char PoolBitcode[] = {
#include "ThreadPoolBitcode.inc"
};

constexpr const char *ParallelFor = "gradc_rt_parallel_for";
constexpr const char *Shutdown = "gradc_rt_shutdown";

/// The values of other functions that the instructions of \p F use.
std::vector<Value *> foreignValues(Function &F) {
  std::vector<Value *> Out;
  for (BasicBlock &BB : F)
    for (Instruction &I : BB)
      for (Value *Op : I.operands()) {
        bool Foreign = false;
        if (auto *OI = dyn_cast<Instruction>(Op))
          Foreign = OI->getFunction() != &F;
        else if (auto *A = dyn_cast<Argument>(Op))
          Foreign = A->getParent() != &F;
        if (Foreign && std::find(Out.begin(), Out.end(), Op) == Out.end())
          Out.push_back(Op);
      }
  return Out;
}

} // namespace

bool KernelEmitter::parallelWorthwhile(int64_t N,
                                       int64_t WorkPerIteration) const {
  double Work = static_cast<double>(N) *
                static_cast<double>(std::max<int64_t>(WorkPerIteration, 1));
  return Par && Par->Threads >= 2 && N >= 2 && !InParallelBody &&
         Work >= static_cast<double>(Par->MinWork);
}

void KernelEmitter::parallelLoop(int64_t N, int64_t WorkPerIteration,
                                 const std::function<void(Value *)> &Body) {
  if (!parallelWorthwhile(N, WorkPerIteration))
    return loop(N, Body);
  Par->Used = true;
  Function *KF = B.GetInsertBlock()->getParent();
  Module *M = KF->getParent();
  LLVMContext &Ctx = B.getContext();
  Type *PtrTy = B.getPtrTy(), *I64 = B.getInt64Ty();

  // The buffers: the result, then the operands.
  std::vector<Value *> Bufs{Result};
  Bufs.insert(Bufs.end(), Operands.begin(), Operands.end());
  unsigned NB = static_cast<unsigned>(Bufs.size());

  // @k.body(buffers..., ctx, lo, hi) with the kernel's buffer attributes.
  std::vector<Type *> Params(NB + 1, PtrTy);
  Params.push_back(I64);
  Params.push_back(I64);
  auto *BF = Function::Create(FunctionType::get(B.getVoidTy(), Params, false),
                              GlobalValue::InternalLinkage,
                              KF->getName() + ".body", M);
  BF->addFnAttrs(AttrBuilder(Ctx, KF->getAttributes().getFnAttrs()));
  // A buffer passed twice (an in-place update's operand is its result,
  // MemoryPlan.cpp) gets the attributes once: two noalias parameters must
  // not hold the same pointer.
  for (unsigned I = 0; I < NB; ++I)
    if (auto *A = dyn_cast<Argument>(Bufs[I]);
        A && A->getParent() == KF &&
        std::find(Bufs.begin(), Bufs.begin() + I, Bufs[I]) == Bufs.begin() + I)
      BF->addParamAttrs(I, AttrBuilder(Ctx, KF->getAttributes().getParamAttrs(
                                                A->getArgNo())));

  // Body, emitted into @k.body with the buffers rebound to its parameters.
  IRBuilderBase::InsertPoint Saved = B.saveIP();
  B.SetInsertPoint(BasicBlock::Create(Ctx, "entry", BF));
  Result = BF->getArg(0);
  for (unsigned I = 1; I < NB; ++I)
    Operands[I - 1] = BF->getArg(I);
  InParallelBody = true;
  loopRange(BF->getArg(NB + 1), BF->getArg(NB + 2), Body);
  B.CreateRetVoid();
  InParallelBody = false;
  Result = Bufs[0];
  for (unsigned I = 1; I < NB; ++I)
    Operands[I - 1] = Bufs[I];
  B.restoreIP(Saved);

  // Values of the kernel that Body used: a buffer becomes the matching
  // parameter, anything else a field of ctx loaded on entry.
  std::vector<Value *> Captures;
  IRBuilder<> EB(&BF->getEntryBlock(), BF->getEntryBlock().begin());
  std::vector<Type *> Fields(NB, PtrTy);
  for (Value *V : foreignValues(*BF)) {
    auto It = std::find(Bufs.begin(), Bufs.end(), V);
    if (It != Bufs.end()) {
      V->replaceUsesWithIf(BF->getArg(static_cast<unsigned>(It - Bufs.begin())),
                           [&](Use &U) {
                             return cast<Instruction>(U.getUser())->getFunction() == BF;
                           });
      continue;
    }
    assert(!isa<AllocaInst>(V) &&
           "a parallel loop body must make its own allocas");
    Captures.push_back(V);
    Fields.push_back(V->getType());
  }
  StructType *CtxTy = StructType::get(Ctx, Fields);
  for (size_t I = 0; I < Captures.size(); ++I) {
    Value *F = EB.CreateStructGEP(CtxTy, BF->getArg(NB), NB + I);
    Value *L = EB.CreateLoad(Captures[I]->getType(), F);
    Captures[I]->replaceUsesWithIf(L, [&](Use &U) {
      return cast<Instruction>(U.getUser())->getFunction() == BF;
    });
  }

  // @k.par(ctx, lo, hi): the pool's view of the loop.
  auto *WF = Function::Create(
      FunctionType::get(B.getVoidTy(), {PtrTy, I64, I64}, false),
      GlobalValue::InternalLinkage, KF->getName() + ".par", M);
  WF->addFnAttrs(AttrBuilder(Ctx, KF->getAttributes().getFnAttrs()));
  WF->removeFnAttr(Attribute::NoRecurse);
  {
    IRBuilder<> WB(BasicBlock::Create(Ctx, "entry", WF));
    std::vector<Value *> Args;
    for (unsigned I = 0; I < NB; ++I)
      Args.push_back(
          WB.CreateLoad(PtrTy, WB.CreateStructGEP(CtxTy, WF->getArg(0), I)));
    Args.push_back(WF->getArg(0));
    Args.push_back(WF->getArg(1));
    Args.push_back(WF->getArg(2));
    WB.CreateCall(BF, Args);
    WB.CreateRetVoid();
  }

  // The kernel: fill ctx, run the loop on the pool. Its buffer pointers now
  // escape (into ctx, for the duration of the call).
  AllocaInst *CtxSlot = entryAlloca(CtxTy, "par.ctx");
  for (unsigned I = 0; I < NB; ++I)
    B.CreateStore(Bufs[I], B.CreateStructGEP(CtxTy, CtxSlot, I));
  for (size_t I = 0; I < Captures.size(); ++I)
    B.CreateStore(Captures[I], B.CreateStructGEP(CtxTy, CtxSlot, NB + I));
  for (Value *V : Bufs)
    if (auto *A = dyn_cast<Argument>(V); A && A->getParent() == KF)
      KF->removeParamAttr(A->getArgNo(), Attribute::NoCapture);
  FunctionCallee PF = M->getOrInsertFunction(
      ParallelFor, FunctionType::get(B.getVoidTy(), {PtrTy, PtrTy, I64, I64},
                                     false));
  CallInst *Call =
      B.CreateCall(PF, {WF, CtxSlot, i64(N), i64(Par->Threads)});
  Call->setDoesNotThrow();
}

void emitThreadPoolShutdown(llvm::Module &M, bool HasPool,
                            const llvm::Twine &Name) {
  LLVMContext &Ctx = M.getContext();
  auto *FTy = FunctionType::get(Type::getVoidTy(Ctx), false);
  auto *F = Function::Create(FTy, GlobalValue::ExternalLinkage, Name, M);
  F->setDoesNotThrow();
  IRBuilder<> B(BasicBlock::Create(Ctx, "entry", F));
  if (HasPool)
    B.CreateCall(M.getOrInsertFunction(Shutdown, FTy));
  B.CreateRetVoid();
}

void linkThreadPool(llvm::Module &M) {
  StringRef Bytes(reinterpret_cast<const char *>(PoolBitcode),
                  sizeof(PoolBitcode));
  auto Pool = parseBitcodeFile(MemoryBufferRef(Bytes, "ThreadPool.bc"),
                               M.getContext());
  if (!Pool)
    report_fatal_error(Twine("cannot read the thread pool bitcode: ") +
                       toString(Pool.takeError()));
  // Our target, none of clang's module flags (they are about clang's
  // defaults, not this module).
  (*Pool)->setTargetTriple(M.getTargetTriple());
  (*Pool)->setDataLayout(M.getDataLayout());
  for (const char *MD : {"llvm.module.flags", "llvm.ident"})
    if (NamedMDNode *N = (*Pool)->getNamedMetadata(MD))
      (*Pool)->eraseNamedMetadata(N);
  if (Linker::linkModules(M, std::move(*Pool), Linker::Flags::LinkOnlyNeeded))
    report_fatal_error("cannot link the thread pool");
  for (const char *Name : {ParallelFor, Shutdown})
    if (Function *F = M.getFunction(Name); F && !F->isDeclaration())
      F->setLinkage(GlobalValue::InternalLinkage);
}

} // namespace gradc::codegen
