//===- codegen/Kernel.cpp - The helpers every family emitter uses ---------===//
//
// KernelEmitter's building blocks: element types and constants, element
// loads and stores, counted loops and loop nests, flat indices, runtime
// error exits and libm calls. The emitter (Emitter.cpp) gives each node its
// own function whose operand and result pointers are noalias, so a kernel's
// loops are plain loops over distinct buffers.
//
//===----------------------------------------------------------------------===//
#include "codegen/Kernel.h"

#include "codegen/Codegen.h"

#include <cassert>
#include <llvm/IR/MDBuilder.h>
#include <llvm/IR/Module.h>

namespace gradc::codegen {

llvm::Type *KernelEmitter::eltType(ir::DType T) const {
  switch (T) {
  case ir::DType::F32:
    return B.getFloatTy();
  case ir::DType::F64:
    return B.getDoubleTy();
  case ir::DType::I32:
    return B.getInt32Ty();
  }
  return nullptr;
}

llvm::Constant *KernelEmitter::constant(ir::DType T, double V) const {
  if (T == ir::DType::I32)
    return B.getInt32(static_cast<uint32_t>(static_cast<int32_t>(V)));
  return llvm::ConstantFP::get(eltType(T), V);
}

llvm::Value *KernelEmitter::load(ir::DType T, llvm::Value *Ptr,
                                 llvm::Value *Index) {
  llvm::Type *Ty = eltType(T);
  llvm::Value *P = B.CreateInBoundsGEP(Ty, Ptr, Index);
  return B.CreateAlignedLoad(Ty, P, llvm::Align(ir::dtypeSize(T)));
}

void KernelEmitter::store(llvm::Value *V, ir::DType T, llvm::Value *Ptr,
                          llvm::Value *Index) {
  llvm::Type *Ty = eltType(T);
  llvm::Value *P = B.CreateInBoundsGEP(Ty, Ptr, Index);
  B.CreateAlignedStore(V, P, llvm::Align(ir::dtypeSize(T)));
}

void KernelEmitter::loop(int64_t N,
                         const std::function<void(llvm::Value *)> &Body) {
  if (N <= 0)
    return;
  if (N == 1) {
    Body(i64(0));
    return;
  }
  // A bottom-tested loop: N >= 2 is known, so no guard is needed.
  llvm::Function *F = B.GetInsertBlock()->getParent();
  llvm::BasicBlock *Pre = B.GetInsertBlock();
  llvm::BasicBlock *Head = llvm::BasicBlock::Create(B.getContext(), "loop", F);
  llvm::BasicBlock *Exit =
      llvm::BasicBlock::Create(B.getContext(), "loop.end", F);
  B.CreateBr(Head);
  B.SetInsertPoint(Head);
  llvm::PHINode *I = B.CreatePHI(B.getInt64Ty(), 2, "i");
  I->addIncoming(i64(0), Pre);
  Body(I);
  llvm::Value *Next = B.CreateAdd(I, i64(1), "i.next", /*HasNUW=*/true,
                                  /*HasNSW=*/true);
  I->addIncoming(Next, B.GetInsertBlock());
  B.CreateCondBr(B.CreateICmpSLT(Next, i64(N)), Head, Exit);
  B.SetInsertPoint(Exit);
}

void KernelEmitter::loopNest(
    const ir::Shape &Dims,
    const std::function<void(const std::vector<llvm::Value *> &)> &Body) {
  std::vector<llvm::Value *> Idx;
  std::function<void(size_t)> Level = [&](size_t A) {
    if (A == Dims.size()) {
      Body(Idx);
      return;
    }
    loop(Dims[A], [&](llvm::Value *I) {
      Idx.push_back(I);
      Level(A + 1);
      Idx.pop_back();
    });
  };
  Level(0);
}

llvm::Value *KernelEmitter::flatIndex(const ir::Shape &Dims,
                                      const std::vector<llvm::Value *> &Idx) {
  llvm::Value *Flat = i64(0);
  int64_t Stride = 1;
  for (size_t A = Dims.size(); A-- > 0;) {
    if (Dims[A] != 1) {
      llvm::Value *Term =
          Stride == 1 ? Idx[A]
                      : B.CreateMul(Idx[A], i64(Stride), "", true, true);
      Flat = llvm::isa<llvm::ConstantInt>(Flat) &&
                     llvm::cast<llvm::ConstantInt>(Flat)->isZero()
                 ? Term
                 : B.CreateAdd(Flat, Term, "", true, true);
    }
    Stride *= Dims[A];
  }
  return Flat;
}

void KernelEmitter::failIf(llvm::Value *Cond, int64_t Code,
                           llvm::Value *Index) {
  assert(!InParallelBody && "a parallel loop body cannot fail");
  // The error exit starts with a phi of the error code (Emitter.cpp makes
  // it): record [node, index] in ErrorInfo and go there.
  llvm::Function *F = B.GetInsertBlock()->getParent();
  llvm::BasicBlock *Fail = llvm::BasicBlock::Create(B.getContext(), "fail", F);
  llvm::BasicBlock *Cont = llvm::BasicBlock::Create(B.getContext(), "ok", F);
  llvm::MDBuilder MDB(B.getContext());
  B.CreateCondBr(Cond, Fail, Cont, MDB.createUnlikelyBranchWeights());
  B.SetInsertPoint(Fail);
  B.CreateAlignedStore(i64(Id), ErrorInfo, llvm::Align(8));
  B.CreateAlignedStore(B.CreateSExtOrTrunc(Index, B.getInt64Ty()),
                       B.CreateConstInBoundsGEP1_64(B.getInt64Ty(), ErrorInfo, 1),
                       llvm::Align(8));
  B.CreateBr(ErrorExit);
  llvm::cast<llvm::PHINode>(&ErrorExit->front())->addIncoming(i64(Code), Fail);
  B.SetInsertPoint(Cont);
}

llvm::Value *KernelEmitter::callMath(std::string_view Name,
                                     std::vector<llvm::Value *> Args) {
  llvm::Module *M = B.GetInsertBlock()->getModule();
  std::vector<llvm::Type *> Params;
  for (llvm::Value *A : Args)
    Params.push_back(A->getType());
  auto *FTy = llvm::FunctionType::get(Args.front()->getType(), Params, false);
  llvm::FunctionCallee Callee = M->getOrInsertFunction(
      llvm::StringRef(Name.data(), Name.size()), FTy);
  if (auto *Fn = llvm::dyn_cast<llvm::Function>(Callee.getCallee())) {
    // As with -fno-math-errno: a pure function of its arguments.
    Fn->setDoesNotThrow();
    Fn->setWillReturn();
    Fn->setDoesNotAccessMemory();
  }
  llvm::CallInst *Call = B.CreateCall(Callee, Args);
  Call->setDoesNotThrow();
  Call->setDoesNotAccessMemory();
  return Call;
}

using namespace llvm;

void KernelEmitter::loopRange(Value *Lo, Value *Hi,
                             const std::function<void(Value *)> &Body) {
  Function *F = B.GetInsertBlock()->getParent();
  LLVMContext &Ctx = B.getContext();
  BasicBlock *Pre = B.GetInsertBlock();
  BasicBlock *Head = BasicBlock::Create(Ctx, "range.head", F);
  BasicBlock *Loop = BasicBlock::Create(Ctx, "range.body", F);
  BasicBlock *Exit = BasicBlock::Create(Ctx, "range.exit", F);
  B.CreateBr(Head);
  B.SetInsertPoint(Head);
  PHINode *I = B.CreatePHI(B.getInt64Ty(), 2, "r");
  I->addIncoming(Lo, Pre);
  B.CreateCondBr(B.CreateICmpSLT(I, Hi), Loop, Exit);
  B.SetInsertPoint(Loop);
  Body(I);
  I->addIncoming(B.CreateAdd(I, B.getInt64(1), "", true, true),
                 B.GetInsertBlock());
  B.CreateBr(Head);
  B.SetInsertPoint(Exit);
}

void KernelEmitter::zeroResult() {
  const ir::TensorType &T = resultType();
  uint64_t Bytes = static_cast<uint64_t>(T.numElements()) * ir::dtypeSize(T.Elt);
  B.CreateMemSet(Result, B.getInt8(0), Bytes, MaybeAlign(kAlign));
}

Value *KernelEmitter::addScaled(Value *Base, Value *I, int64_t St) {
  if (St == 0)
    return Base;
  Value *T = St == 1 ? I : B.CreateMul(I, i64(St), "", true, true);
  if (auto *C = dyn_cast<ConstantInt>(Base); C && C->isZero())
    return T;
  return B.CreateAdd(Base, T, "", true, true);
}

AllocaInst *KernelEmitter::entryAlloca(Type *Ty, const Twine &Name) {
  BasicBlock &Entry = B.GetInsertBlock()->getParent()->getEntryBlock();
  IRBuilder<> E(&Entry, Entry.getFirstInsertionPt());
  return E.CreateAlloca(Ty, nullptr, Name);
}

std::vector<StridedDim> simplifyStrided(const std::vector<StridedDim> &Dims) {
  std::vector<StridedDim> Out;
  for (const StridedDim &D : Dims) {
    if (D.Size == 1)
      continue;
    if (!Out.empty() && Out.back().St[0] == D.St[0] * D.Size &&
        Out.back().St[1] == D.St[1] * D.Size) {
      Out.back().Size *= D.Size;
      Out.back().St = D.St;
      continue;
    }
    Out.push_back(D);
  }
  return Out;
}

void stridedNest(KernelEmitter &K, std::span<const StridedDim> Dims, Value *A,
                 Value *B, const std::function<void(Value *, Value *)> &Body) {
  if (Dims.empty())
    return Body(A, B);
  K.loop(Dims[0].Size, [&](Value *I) {
    stridedNest(K, Dims.subspan(1), K.addScaled(A, I, Dims[0].St[0]),
                K.addScaled(B, I, Dims[0].St[1]), Body);
  });
}

} // namespace gradc::codegen
