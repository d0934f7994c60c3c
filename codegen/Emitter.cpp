//===- codegen/Emitter.cpp - One LLVM function per IR function ------------===//
//
// emitModule turns every function of a module into `gradc_<fn>` with the
// ABI of Codegen.h. The function body walks the nodes in order:
//   - constant: a private global (small) or a fill of its scratch region;
//   - input: a pointer loaded from Inputs; an arg: a pointer into Args (an
//     f64 scalar) or its value converted into scratch;
//   - param: a pointer into State;
//   - assign: nothing yet (or a copy of a param read to scratch);
//   - every other node: a call of its kernel, an internal function
//     `<fn>.<id>.<op>(ptr result, ptr operands..., ptr errinfo) -> i64`
//     whose pointers are noalias (operands never alias the result; read-only
//     operands may share a buffer), aligned and dereferenceable, built by the
//     node's family emitter through KernelEmitter (Kernel.h). A kernel that
//     can fail returns its error code; the caller then branches to the
//     function's one error exit. The O3 inliner folds kernels into the
//     function, turning noalias into scoped alias metadata;
//   - a fusion group (ir/Fusion.h): one kernel `<fn>.<first>.fused.<kind>`
//     (EmitFused.cpp) taking its outputs' buffers, then those of the values
//     it reads from outside; members that are no outputs have no buffer.
// An in-place update (the layout's InPlace, MemoryPlan.cpp) has its result
// in the State slot of the symbol it updates. The kernel's operands that
// read that slot (the old value, or the previous link of the chain) are not
// passed at all: inside the kernel they are the result pointer itself, so
// no noalias claim is false and LLVM sees each element read before it is
// written.
// Big loops of a kernel are split across threads (Parallel.cpp); the module
// then gets the thread pool, and `gradc_shutdown` stops it.
// At the end the results are copied to the caller's Results pointers, then
// the assigned values not updated in place to their State slots (every read
// saw the old state; on an error exit State is untouched: no kernel after an
// in-place update can fail).
//
//===----------------------------------------------------------------------===//
#include "codegen/Codegen.h"
#include "codegen/Kernel.h"
#include "ir/Fusion.h"

#include <algorithm>
#include <cassert>

#include <cmath>
#include <thread>
#include <fmt/format.h>
#include <llvm/IR/Module.h>
#include <llvm/Target/TargetMachine.h>

namespace gradc::codegen {
namespace {

using llvm::Value;

uint64_t bytesOf(const ir::TensorType &T) {
  return static_cast<uint64_t>(T.numElements()) * ir::dtypeSize(T.Elt);
}

/// Attributes every emitted function carries: the host CPU, 512-bit vectors.
void setFunctionAttrs(llvm::Function *F, const llvm::TargetMachine &TM) {
  F->addFnAttr("target-cpu", TM.getTargetCPU());
  F->addFnAttr("target-features", TM.getTargetFeatureString());
  F->addFnAttr("prefer-vector-width", "512");
  F->setDoesNotThrow();
}

/// A buffer pointer of a node: where it is and what may be assumed of it.
struct Buffer {
  Value *Ptr = nullptr;
  bool Aligned = false; // 64-byte aligned
};

/// One pointer parameter of a kernel: the buffer passed and its size.
/// SameAs >= 0: the buffer is that arg's (an operand of an in-place update
/// reading the slot its result is written to); it is not passed on its own,
/// the kernel uses that arg's pointer.
struct KernelArg {
  Buffer Buf;
  uint64_t Bytes;
  bool ReadOnly;
  int SameAs = -1;
};

class FunctionEmitter {
public:
  FunctionEmitter(const ir::Module &M, const ir::Function &F, const Layout &L,
                  llvm::Module &LM, const llvm::TargetMachine &TM,
                  ParallelConfig &Par)
      : M(M), F(F), L(L), FL(L.Functions.find(F.Name)->second), LM(LM),
        TM(TM), Ctx(LM.getContext()), B(Ctx), Par(Par),
        Info(ir::analyzeFusion(F)) {}

  void emit();

private:
  llvm::Type *eltType(ir::DType T) {
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
  llvm::Constant *elt(ir::DType T, double V);
  Value *scratch(ir::ValueId V) {
    return B.CreateConstInBoundsGEP1_64(B.getInt8Ty(), Scratch,
                                        FL.Values[V]->Offset);
  }
  Value *stateSlot(std::string_view Symbol) {
    return B.CreateConstInBoundsGEP1_64(B.getInt8Ty(), State,
                                        L.State.find(Symbol)->second.Offset,
                                        Symbol);
  }
  /// Whether value \p O is in the State slot of \p Symbol when read: a
  /// param read of it, or an earlier link of its in-place update.
  bool readsSlot(ir::ValueId O, const std::string &Symbol) const {
    const ir::Node &N = F.node(O);
    return !Symbol.empty() &&
           ((N.Opcode == ir::Op::Param && N.Symbol == Symbol) ||
            FL.InPlace[O] == Symbol);
  }
  size_t indexOf(const std::vector<std::string> &Names, std::string_view N) {
    return static_cast<size_t>(
        std::find(Names.begin(), Names.end(), N) - Names.begin());
  }
  /// Stores \p Val to each of the \p Count elements of dtype \p T at \p Ptr.
  void fill(ir::ValueId V, Value *Ptr, ir::DType T, int64_t Count, Value *Val);
  Buffer emitConstant(ir::ValueId V);
  Buffer emitInput(ir::ValueId V);
  void callKernel(const std::string &Name, const std::vector<KernelArg> &Args,
                  const std::function<void(llvm::IRBuilder<> &,
                                           std::vector<Value *> &, Value *,
                                           llvm::BasicBlock *)> &Body);
  void emitKernel(ir::ValueId V);
  void emitGroup(const ir::FusionGroup &G);
  void copy(Value *Dst, bool DstAligned, const Buffer &Src, uint64_t Bytes) {
    if (Bytes)
      B.CreateMemCpy(Dst, llvm::Align(DstAligned ? kAlign : 1), Src.Ptr,
                     llvm::Align(Src.Aligned ? kAlign : 1), Bytes);
  }

  const ir::Module &M;
  const ir::Function &F;
  const Layout &L;
  const FunctionLayout &FL;
  llvm::Module &LM;
  const llvm::TargetMachine &TM;
  llvm::LLVMContext &Ctx;
  llvm::IRBuilder<> B;
  ParallelConfig &Par;
  llvm::Function *Fn = nullptr;
  Value *State = nullptr, *Scratch = nullptr, *Inputs = nullptr,
        *Args = nullptr, *Results = nullptr, *ErrorInfo = nullptr;
  llvm::BasicBlock *ErrorExit = nullptr;
  llvm::PHINode *ErrorCode = nullptr;
  std::vector<Buffer> Buf; // per node
  ir::FusionInfo Info;
  bool WroteState = false; // an in-place update has been emitted
};

llvm::Constant *FunctionEmitter::elt(ir::DType T, double V) {
  if (T == ir::DType::I32) {
    // As the interp backend converts i32 values: nearest, saturating.
    double R = std::nearbyint(V);
    int32_t I = std::isnan(R)       ? 0
                : R <= -2147483648.0 ? INT32_MIN
                : R >= 2147483647.0  ? INT32_MAX
                                     : static_cast<int32_t>(R);
    return B.getInt32(static_cast<uint32_t>(I));
  }
  return llvm::ConstantFP::get(eltType(T), V);
}

void FunctionEmitter::fill(ir::ValueId V, Value *Ptr, ir::DType T,
                           int64_t Count, Value *Val) {
  KernelEmitter K(B, F.node(V), V, {}, Ptr, {}, ErrorInfo, ErrorExit);
  K.loop(Count, [&](Value *I) { K.store(Val, T, Ptr, I); });
}

Buffer FunctionEmitter::emitConstant(ir::ValueId V) {
  const ir::Node &N = F.node(V);
  llvm::Constant *C = elt(N.Type.Elt, ir::getFloat(N.Attrs, "value"));
  if (FL.Values[V]) {
    Value *P = scratch(V);
    fill(V, P, N.Type.Elt, N.Type.numElements(), C);
    return {P, true};
  }
  uint64_t Count = static_cast<uint64_t>(std::max<int64_t>(N.Type.numElements(), 1));
  auto *Ty = llvm::ArrayType::get(C->getType(), Count);
  auto *G = new llvm::GlobalVariable(
      LM, Ty, /*isConstant=*/true, llvm::GlobalValue::PrivateLinkage,
      llvm::ConstantArray::get(Ty, std::vector<llvm::Constant *>(Count, C)),
      fmt::format("{}.{}.const", F.Name, V));
  G->setAlignment(llvm::Align(kAlign));
  G->setUnnamedAddr(llvm::GlobalValue::UnnamedAddr::Global);
  return {G, true};
}

Buffer FunctionEmitter::emitInput(ir::ValueId V) {
  const ir::Node &N = F.node(V);
  const ir::Symbol *S = M.lookupSymbol(N.Symbol);
  assert(S && "an input node of an unknown symbol");
  if (S->Kind != ir::SymbolKind::Arg) {
    size_t I = indexOf(L.Inputs, N.Symbol);
    Value *Slot = B.CreateConstInBoundsGEP1_64(B.getPtrTy(), Inputs, I);
    // The ABI: every input buffer is 64-byte aligned.
    return {B.CreateAlignedLoad(B.getPtrTy(), Slot, llvm::Align(8), N.Symbol),
            true};
  }
  size_t I = indexOf(L.Args, N.Symbol);
  Value *Arg = B.CreateConstInBoundsGEP1_64(B.getDoubleTy(), Args, I);
  if (!FL.Values[V])
    return {Arg, false};
  // Another dtype or shape: the value converted and splat into scratch.
  Value *D = B.CreateAlignedLoad(B.getDoubleTy(), Arg, llvm::Align(8));
  Value *C = N.Type.Elt == ir::DType::I32
                 ? B.CreateIntrinsic(llvm::Intrinsic::fptosi_sat,
                                     {B.getInt32Ty(), B.getDoubleTy()},
                                     {B.CreateUnaryIntrinsic(
                                         llvm::Intrinsic::nearbyint, D)})
                 : B.CreateFPCast(D, eltType(N.Type.Elt));
  Value *P = scratch(V);
  fill(V, P, N.Type.Elt, N.Type.numElements(), C);
  return {P, true};
}

void FunctionEmitter::callKernel(
    const std::string &Name, const std::vector<KernelArg> &Args,
    const std::function<void(llvm::IRBuilder<> &, std::vector<Value *> &,
                             Value *, llvm::BasicBlock *)> &Body) {
  // The parameters: the args that are passed, then the error info.
  std::vector<const KernelArg *> Passed;
  for (const KernelArg &A : Args)
    if (A.SameAs < 0)
      Passed.push_back(&A);
  llvm::Type *PtrTy = B.getPtrTy();
  std::vector<llvm::Type *> Params(Passed.size() + 1, PtrTy);
  auto *FTy = llvm::FunctionType::get(B.getInt64Ty(), Params, false);
  auto *KF = llvm::Function::Create(FTy, llvm::GlobalValue::InternalLinkage,
                                    Name, LM);
  setFunctionAttrs(KF, TM);
  KF->setDoesNotRecurse();

  // Parameter attributes: what the layout guarantees of each buffer.
  for (unsigned ArgNo = 0; ArgNo < Passed.size(); ++ArgNo) {
    const KernelArg &A = *Passed[ArgNo];
    KF->addParamAttr(ArgNo, llvm::Attribute::NoAlias);
    KF->addParamAttr(ArgNo, llvm::Attribute::NoCapture);
    KF->addParamAttr(ArgNo, llvm::Attribute::NoUndef);
    if (A.ReadOnly)
      KF->addParamAttr(ArgNo, llvm::Attribute::ReadOnly);
    if (A.Buf.Aligned)
      KF->addParamAttr(ArgNo, llvm::Attribute::getWithAlignment(
                                  Ctx, llvm::Align(kAlign)));
    if (A.Bytes)
      KF->addDereferenceableParamAttr(ArgNo, A.Bytes);
  }
  unsigned ErrArg = static_cast<unsigned>(Passed.size());
  KF->addParamAttr(ErrArg, llvm::Attribute::NoAlias);
  KF->addParamAttr(ErrArg, llvm::Attribute::NoCapture);

  // The body, with one pointer per arg: a shared one is its partner's.
  llvm::IRBuilder<> KB(Ctx);
  auto *Entry = llvm::BasicBlock::Create(Ctx, "entry", KF);
  auto *Exit = llvm::BasicBlock::Create(Ctx, "error", KF);
  KB.SetInsertPoint(Exit);
  llvm::PHINode *Code = KB.CreatePHI(KB.getInt64Ty(), 1, "code");
  KB.CreateRet(Code);
  KB.SetInsertPoint(Entry);
  std::vector<Value *> Ptrs(Args.size(), nullptr);
  for (unsigned I = 0, Next = 0; I < Args.size(); ++I)
    if (Args[I].SameAs < 0)
      Ptrs[I] = KF->getArg(Next++);
  for (size_t I = 0; I < Args.size(); ++I)
    if (Args[I].SameAs >= 0) {
      assert(Args[static_cast<size_t>(Args[I].SameAs)].SameAs < 0 &&
             "an arg shares the pointer of a passed one");
      Ptrs[I] = Ptrs[static_cast<size_t>(Args[I].SameAs)];
    }
  Body(KB, Ptrs, KF->getArg(ErrArg), Exit);
  KB.CreateRet(KB.getInt64(0));
  bool CanFail = Code->getNumIncomingValues() > 0;
  if (!CanFail)
    Exit->eraseFromParent();

  // The call, and the branch to the error exit when the kernel can fail.
  std::vector<Value *> CallArgs;
  for (const KernelArg *A : Passed)
    CallArgs.push_back(A->Buf.Ptr);
  CallArgs.push_back(ErrorInfo);
  Value *Rc = B.CreateCall(KF, CallArgs);
  if (!CanFail)
    return;
  assert(!WroteState && "a kernel that can fail after an in-place update");
  auto *Cont = llvm::BasicBlock::Create(Ctx, "cont", Fn);
  B.CreateCondBr(B.CreateICmpNE(Rc, B.getInt64(0)), ErrorExit, Cont);
  ErrorCode->addIncoming(Rc, B.GetInsertBlock());
  B.SetInsertPoint(Cont);
}

void FunctionEmitter::emitKernel(ir::ValueId V) {
  const ir::Node &N = F.node(V);
  const std::string &InPlace = FL.InPlace[V];
  Buffer Out{InPlace.empty() ? scratch(V) : stateSlot(InPlace), true};
  std::vector<KernelArg> Args{{Out, bytesOf(N.Type), false}};
  std::vector<ir::TensorType> OpTypes;
  for (ir::ValueId O : N.Operands) {
    OpTypes.push_back(F.type(O));
    Args.push_back({Buf[O], bytesOf(OpTypes.back()), true,
                    readsSlot(O, InPlace) ? 0 : -1});
  }
  WroteState |= !InPlace.empty();
  callKernel(fmt::format("{}.{}.{}", F.Name, V, ir::mnemonic(N.Opcode)), Args,
             [&](llvm::IRBuilder<> &KB, std::vector<Value *> &Ptrs,
                 Value *Err, llvm::BasicBlock *Exit) {
               std::vector<Value *> Ops(Ptrs.begin() + 1, Ptrs.end());
               KernelEmitter K(KB, N, V, Ops, Ptrs[0], OpTypes, Err, Exit);
               K.setParallel(&Par);
               switch (ir::getOpInfo(N.Opcode).Family) {
               case ir::OpFamily::Elementwise:
                 emitElementwise(K);
                 break;
               case ir::OpFamily::Reduce:
                 emitReduce(K);
                 break;
               case ir::OpFamily::Movement:
                 emitMovement(K);
                 break;
               case ir::OpFamily::Linalg:
                 emitLinalg(K);
                 break;
               case ir::OpFamily::NN:
                 emitNN(K);
                 break;
               case ir::OpFamily::Loss:
                 emitLoss(K);
                 break;
               case ir::OpFamily::Source:
                 assert(false && "sources have no kernel");
                 break;
               }
             });
  Buf[V] = Out;
}

void FunctionEmitter::emitGroup(const ir::FusionGroup &G) {
  // Outputs first, then the values the group reads from outside it, each
  // once, in order of first use.
  GroupIO IO;
  std::vector<KernelArg> Args;
  for (ir::ValueId V = G.Begin; V < G.End; ++V)
    if (Info.IsOutput[V]) {
      IO.Outs.push_back(V);
      const std::string &InPlace = FL.InPlace[V];
      Buf[V] = {InPlace.empty() ? scratch(V) : stateSlot(InPlace), true};
      Args.push_back({Buf[V], bytesOf(F.type(V)), false});
      WroteState |= !InPlace.empty();
    }
  for (ir::ValueId V = G.Begin; V < G.End; ++V)
    for (ir::ValueId O : F.node(V).Operands)
      if ((O < G.Begin || O >= G.End) &&
          std::find(IO.Ins.begin(), IO.Ins.end(), O) == IO.Ins.end())
        IO.Ins.push_back(O);
  for (ir::ValueId O : IO.Ins) {
    // An input in the State slot an output is written to in place.
    int SameAs = -1;
    for (size_t J = 0; J < IO.Outs.size(); ++J)
      if (readsSlot(O, FL.InPlace[IO.Outs[J]]))
        SameAs = static_cast<int>(J);
    Args.push_back({Buf[O], bytesOf(F.type(O)), true, SameAs});
  }
  callKernel(fmt::format("{}.{}.fused.{}", F.Name, G.Begin,
                         ir::fusionKindName(G.Kind)),
             Args,
             [&](llvm::IRBuilder<> &KB, std::vector<Value *> &Ptrs,
                 Value *Err, llvm::BasicBlock *Exit) {
               IO.OutPtrs.assign(Ptrs.begin(), Ptrs.begin() + IO.Outs.size());
               IO.InPtrs.assign(Ptrs.begin() + IO.Outs.size(), Ptrs.end());
               emitFusedGroup(KB, F, G, IO, Err, Exit, &Par);
             });
}

void FunctionEmitter::emit() {
  llvm::Type *PtrTy = B.getPtrTy();
  auto *FTy = llvm::FunctionType::get(B.getInt64Ty(),
                                      std::vector<llvm::Type *>(6, PtrTy), false);
  Fn = llvm::Function::Create(FTy, llvm::GlobalValue::ExternalLinkage,
                              "gradc_" + F.Name, LM);
  setFunctionAttrs(Fn, TM);
  const char *Names[] = {"state", "scratch", "inputs", "args", "results",
                         "errinfo"};
  for (unsigned I = 0; I < 6; ++I) {
    Fn->getArg(I)->setName(Names[I]);
    Fn->addParamAttr(I, llvm::Attribute::NoAlias);
    Fn->addParamAttr(I, llvm::Attribute::NoCapture);
  }
  for (unsigned I : {0u, 1u})
    Fn->addParamAttr(I, llvm::Attribute::getWithAlignment(Ctx, llvm::Align(kAlign)));
  for (unsigned I : {2u, 3u, 4u})
    Fn->addParamAttr(I, llvm::Attribute::ReadOnly);
  State = Fn->getArg(0);
  Scratch = Fn->getArg(1);
  Inputs = Fn->getArg(2);
  Args = Fn->getArg(3);
  Results = Fn->getArg(4);
  ErrorInfo = Fn->getArg(5);

  auto *Entry = llvm::BasicBlock::Create(Ctx, "entry", Fn);
  ErrorExit = llvm::BasicBlock::Create(Ctx, "error", Fn);
  B.SetInsertPoint(ErrorExit);
  ErrorCode = B.CreatePHI(B.getInt64Ty(), 0, "code");
  B.CreateRet(ErrorCode);
  B.SetInsertPoint(Entry);

  Buf.assign(F.Nodes.size(), {});
  size_t NextGroup = 0;
  for (ir::ValueId V = 0; V < F.Nodes.size(); ++V) {
    const ir::Node &N = F.node(V);
    if (NextGroup < F.Groups.size() && F.Groups[NextGroup].Begin == V) {
      emitGroup(F.Groups[NextGroup]);
      V = F.Groups[NextGroup++].End - 1;
      continue;
    }
    switch (N.Opcode) {
    case ir::Op::Constant:
      Buf[V] = emitConstant(V);
      break;
    case ir::Op::Input:
      Buf[V] = emitInput(V);
      break;
    case ir::Op::Param:
      Buf[V] = {stateSlot(N.Symbol), true};
      break;
    case ir::Op::Assign:
      if (FL.Values[V]) {
        Buf[V] = {scratch(V), true};
        copy(Buf[V].Ptr, true, Buf[N.Operands[0]], bytesOf(N.Type));
      } else {
        Buf[V] = Buf[N.Operands[0]];
      }
      break;
    default:
      emitKernel(V);
      break;
    }
  }

  // Results first (they may read state that an assign rewrites), then state.
  for (size_t I = 0; I < F.Results.size(); ++I) {
    ir::ValueId V = F.Results[I].Value;
    Value *Slot = B.CreateConstInBoundsGEP1_64(PtrTy, Results, I);
    Value *Dst = B.CreateAlignedLoad(PtrTy, Slot, llvm::Align(8));
    copy(Dst, false, Buf[V], bytesOf(F.type(V)));
  }
  for (ir::ValueId V = 0; V < F.Nodes.size(); ++V) {
    const ir::Node &N = F.node(V);
    if (N.Opcode != ir::Op::Assign)
      continue;
    if (FL.InPlace[N.Operands[0]] == N.Symbol)
      continue; // already there
    const Slot &S = L.State.find(N.Symbol)->second;
    Value *Dst = B.CreateConstInBoundsGEP1_64(B.getInt8Ty(), State, S.Offset);
    copy(Dst, true, Buf[V], S.Bytes);
  }
  B.CreateRet(B.getInt64(0));
  if (ErrorCode->getNumIncomingValues() == 0)
    ErrorExit->eraseFromParent();
}

} // namespace

unsigned resolveThreads(unsigned Threads) {
  if (Threads == 0)
    Threads = std::max(1u, std::thread::hardware_concurrency());
  return std::min(Threads, kMaxThreads);
}

std::unique_ptr<llvm::Module> emitModule(const ir::Module &M, const Layout &L,
                                         llvm::LLVMContext &Ctx,
                                         const llvm::TargetMachine &TM,
                                         const EmitOptions &Opts) {
  auto LM = std::make_unique<llvm::Module>("gradc_" + M.Name, Ctx);
  LM->setDataLayout(TM.createDataLayout());
  LM->setTargetTriple(TM.getTargetTriple().str());
  ParallelConfig Par{resolveThreads(Opts.Threads), Opts.MinParallelWork};
  for (const ir::Function &F : M.Functions)
    FunctionEmitter(M, F, L, *LM, TM, Par).emit();
  emitThreadPoolShutdown(*LM, Par.Used, "gradc_shutdown");
  if (Par.Used)
    linkThreadPool(*LM);
  return LM;
}

} // namespace gradc::codegen
