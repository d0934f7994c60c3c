//===- codegen/AotEntry.cpp - The C entry points of an AOT object ---------===//
//
// Each C entry point of the header (AotHeader.cpp) is a small LLVM function
// that translates its C arguments into the gradc_<fn> ABI of Codegen.h and
// calls the compiled function, whose body is exactly the JIT's:
//   PREFIX_train_step(state, inputs..., lr)      -> the loss (NaN on error)
//       the base rate is lr, or the model's own when lr <= 0 (or NaN); the
//       schedule of the train block is applied to it at the step counter,
//       with the trainer's formulas (runtime/Trainer.cpp learningRate), in
//       double precision and the same libm calls
//   PREFIX_eval(state, inputs..., loss, metrics)
//   PREFIX_predict(state, inputs predict reads..., outputs...)
//   PREFIX_tensor(state, name)   a pointer into the State arena, or NULL
//   PREFIX_last_error(state, index)   NULL, or the message of the last
//       call's runtime error (the failing node's source location and op),
//       with the element index in *index
//   PREFIX_step / PREFIX_set_step   the completed-steps counter
// and the table PREFIX_tensors of the checkpoint tensors (name, dtype,
// rank, shape, bytes). Inputs that are not 64-byte aligned are copied to
// the staging area of the state block first. Calls into libm made here are
// `nobuiltin`, so no optimization rewrites them: pow and cos give the bits
// the trainer's calls give.
//
//===----------------------------------------------------------------------===//
#include "codegen/Aot.h"

#include <algorithm>
#include <fmt/format.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Module.h>
#include <llvm/Target/TargetMachine.h>

namespace gradc::codegen {
namespace {

using llvm::Value;

uint64_t bytesOf(const ir::TensorType &T) {
  return static_cast<uint64_t>(T.numElements()) * ir::dtypeSize(T.Elt);
}

class EntryEmitter {
public:
  EntryEmitter(const ir::Module &M, const Layout &L, const AotLayout &AL,
               const AotOptions &O, llvm::Module &LM,
               const llvm::TargetMachine &TM)
      : M(M), L(L), AL(AL), O(O), LM(LM), TM(TM), Ctx(LM.getContext()),
        B(Ctx), P(aotPrefix(M)), FloatTy(aotFloatType(M)) {}

  void emit();

private:
  llvm::Type *eltType(ir::DType T) {
    return T == ir::DType::F64   ? B.getDoubleTy()
           : T == ir::DType::F32 ? B.getFloatTy()
                                 : B.getInt32Ty();
  }
  llvm::Function *define(const std::string &Name, llvm::Type *Ret,
                         std::vector<llvm::Type *> Params);
  Value *at(Value *Base, uint64_t Offset) {
    return B.CreateConstInBoundsGEP1_64(B.getInt8Ty(), Base, Offset);
  }
  Value *header(Value *State, unsigned Field) { return at(State, 8 * Field); }
  Value *callLibm(const char *Name, std::vector<Value *> Args);
  /// Calls gradc_<Fn> (entry index \p Index) with \p Inputs (one per input
  /// symbol, null where not passed), \p Lr for every arg and \p Results;
  /// returns whether it succeeded.
  Value *callEntry(const ir::Function &F, unsigned Index, Value *State,
                   const std::vector<Value *> &Inputs, Value *Lr,
                   const std::vector<Value *> &Results);
  Value *learningRate(Value *State, Value *Base);
  Value *stepPtr(Value *State) {
    return at(State, AL.StateOffset + L.State.find(".step")->second.Offset);
  }
  void emitTrainStep(const ir::Function &F);
  void emitEval(const ir::Function &F);
  void emitPredict(const ir::Function &F);
  void emitTensors();
  void emitLastError();
  void emitStep();

  const ir::Module &M;
  const Layout &L;
  const AotLayout &AL;
  const AotOptions &O;
  llvm::Module &LM;
  const llvm::TargetMachine &TM;
  llvm::LLVMContext &Ctx;
  llvm::IRBuilder<> B;
  std::string P;
  ir::DType FloatTy;
};

llvm::Function *EntryEmitter::define(const std::string &Name, llvm::Type *Ret,
                                     std::vector<llvm::Type *> Params) {
  auto *FTy = llvm::FunctionType::get(Ret, Params, false);
  auto *F = llvm::Function::Create(FTy, llvm::GlobalValue::ExternalLinkage,
                                   P + "_" + Name, LM);
  F->addFnAttr("target-cpu", TM.getTargetCPU());
  F->addFnAttr("target-features", TM.getTargetFeatureString());
  F->setDoesNotThrow();
  B.SetInsertPoint(llvm::BasicBlock::Create(Ctx, "entry", F));
  return F;
}

Value *EntryEmitter::callLibm(const char *Name, std::vector<Value *> Args) {
  std::vector<llvm::Type *> Params(Args.size(), B.getDoubleTy());
  llvm::FunctionCallee Fn = LM.getOrInsertFunction(
      Name, llvm::FunctionType::get(B.getDoubleTy(), Params, false));
  llvm::CallInst *C = B.CreateCall(Fn, Args);
  C->addFnAttr(llvm::Attribute::NoBuiltin);
  return C;
}

Value *EntryEmitter::callEntry(const ir::Function &F, unsigned Index,
                               Value *State, const std::vector<Value *> &Inputs,
                               Value *Lr, const std::vector<Value *> &Results) {
  llvm::Type *PtrTy = B.getPtrTy();
  llvm::FunctionCallee Fn = LM.getOrInsertFunction(
      "gradc_" + F.Name,
      llvm::FunctionType::get(B.getInt64Ty(),
                              std::vector<llvm::Type *>(6, PtrTy), false));
  llvm::Function *Self = B.GetInsertBlock()->getParent();
  auto ArrayOf = [&](llvm::Type *T, size_t N) {
    return B.CreateAlloca(llvm::ArrayType::get(T, std::max<size_t>(N, 1)));
  };
  // Inputs: staged when not 64-byte aligned, as the ABI requires.
  Value *In = ArrayOf(PtrTy, Inputs.size());
  for (size_t I = 0; I < Inputs.size(); ++I) {
    Value *Ptr = Inputs[I] ? Inputs[I] : llvm::ConstantPointerNull::get(
                                             llvm::PointerType::get(Ctx, 0));
    if (Inputs[I]) {
      const ir::Symbol *S = M.lookupSymbol(L.Inputs[I]);
      Value *Stage = at(State, AL.StagingOffset + AL.Staging[I]);
      Value *Mis = B.CreateICmpNE(
          B.CreateAnd(B.CreatePtrToInt(Ptr, B.getInt64Ty()), kAlign - 1),
          B.getInt64(0));
      auto *Copy = llvm::BasicBlock::Create(Ctx, "stage", Self);
      auto *Join = llvm::BasicBlock::Create(Ctx, "staged", Self);
      B.CreateCondBr(Mis, Copy, Join);
      B.SetInsertPoint(Copy);
      B.CreateMemCpy(Stage, llvm::Align(kAlign), Ptr, llvm::Align(1),
                     bytesOf(S->Type));
      B.CreateBr(Join);
      B.SetInsertPoint(Join);
      Ptr = B.CreateSelect(Mis, Stage, Ptr);
    }
    B.CreateStore(Ptr, B.CreateConstInBoundsGEP1_64(PtrTy, In, I));
  }
  Value *Args = ArrayOf(B.getDoubleTy(), L.Args.size());
  for (size_t I = 0; I < L.Args.size(); ++I)
    B.CreateStore(Lr ? Lr : llvm::ConstantFP::get(B.getDoubleTy(), 0.0),
                  B.CreateConstInBoundsGEP1_64(B.getDoubleTy(), Args, I));
  Value *Res = ArrayOf(PtrTy, Results.size());
  for (size_t I = 0; I < Results.size(); ++I)
    B.CreateStore(Results[I], B.CreateConstInBoundsGEP1_64(PtrTy, Res, I));
  for (unsigned I = 0; I < 4; ++I)
    B.CreateStore(B.getInt64(0), header(State, I));
  Value *Rc = B.CreateCall(Fn, {at(State, AL.StateOffset),
                                at(State, AL.ScratchOffset), In, Args, Res,
                                header(State, 1)});
  B.CreateStore(Rc, header(State, 0));
  B.CreateStore(B.getInt64(Index), header(State, 3));
  return B.CreateICmpEQ(Rc, B.getInt64(0));
}

/// The trainer's learningRate(Config, Base, T) with T the step counter.
Value *EntryEmitter::learningRate(Value *State, Value *Base) {
  const ir::TrainConfig &T = *M.Train;
  if (!T.Schedule)
    return Base;
  auto C = [&](double V) { return llvm::ConstantFP::get(B.getDoubleTy(), V); };
  Value *Step = B.CreateFPToSI(
      B.CreateLoad(B.getDoubleTy(), stepPtr(State)), B.getInt64Ty());
  Value *Td = B.CreateSIToFP(Step, B.getDoubleTy());
  const ir::Call &S = *T.Schedule;
  if (S.Name == "step") {
    int64_t Every = ir::getInt(S.Args, "every");
    Value *Periods = Every > 0 ? B.CreateSIToFP(B.CreateSDiv(Step, B.getInt64(Every)),
                                                B.getDoubleTy())
                               : C(0.0);
    return B.CreateFMul(
        Base, callLibm("pow", {C(ir::getFloat(S.Args, "gamma")), Periods}));
  }
  if (S.Name == "exponential")
    return B.CreateFMul(
        Base, callLibm("pow", {C(ir::getFloat(S.Args, "gamma")), Td}));
  if (S.Name == "cosine") {
    const double Pi = 3.141592653589793;
    double N = static_cast<double>(ir::getInt(S.Args, "steps"));
    double MinLr = ir::getFloat(S.Args, "min_lr");
    Value *Frac = C(1.0);
    if (N > 0) // std::min(Td, N) / N
      Frac = B.CreateFDiv(B.CreateSelect(B.CreateFCmpOLT(C(N), Td), C(N), Td),
                          C(N));
    Value *Cos = callLibm("cos", {B.CreateFMul(C(Pi), Frac)});
    Value *Scaled = B.CreateFMul(B.CreateFSub(Base, C(MinLr)),
                                 B.CreateFAdd(C(1.0), Cos));
    return B.CreateFAdd(C(MinLr), B.CreateFDiv(Scaled, C(2.0)));
  }
  return Base;
}

void EntryEmitter::emitTrainStep(const ir::Function &F) {
  llvm::Type *PtrTy = B.getPtrTy(), *T = eltType(FloatTy);
  std::vector<llvm::Type *> Params(L.Inputs.size() + 1, PtrTy);
  Params.push_back(T);
  llvm::Function *Fn = define("train_step", T, Params);
  Value *State = Fn->getArg(0);
  std::vector<Value *> Inputs;
  for (size_t I = 0; I < L.Inputs.size(); ++I)
    Inputs.push_back(Fn->getArg(static_cast<unsigned>(I + 1)));
  Value *Lr = Fn->getArg(static_cast<unsigned>(L.Inputs.size() + 1));
  if (!T->isDoubleTy())
    Lr = B.CreateFPExt(Lr, B.getDoubleTy());
  double ModelLr = ir::getFloat(M.Train->Optimizer.Args, "lr");
  Value *Base = B.CreateSelect(
      B.CreateFCmpOGT(Lr, llvm::ConstantFP::get(B.getDoubleTy(), 0.0)), Lr,
      llvm::ConstantFP::get(B.getDoubleTy(), ModelLr));
  Value *Rate = learningRate(State, Base);
  llvm::Type *LossTy = eltType(F.type(F.Results[0].Value).Elt);
  Value *Loss = B.CreateAlloca(LossTy);
  Value *Ok = callEntry(F, 0, State, Inputs, Rate, {Loss});
  Value *V = B.CreateLoad(LossTy, Loss);
  V = LossTy == T ? V : B.CreateFPCast(V, T);
  B.CreateRet(B.CreateSelect(Ok, V, llvm::ConstantFP::getNaN(T)));
}

void EntryEmitter::emitEval(const ir::Function &F) {
  llvm::Type *PtrTy = B.getPtrTy(), *T = eltType(FloatTy);
  std::vector<llvm::Type *> Params(L.Inputs.size() + 3, PtrTy);
  llvm::Function *Fn = define("eval", B.getVoidTy(), Params);
  Value *State = Fn->getArg(0);
  std::vector<Value *> Inputs;
  for (size_t I = 0; I < L.Inputs.size(); ++I)
    Inputs.push_back(Fn->getArg(static_cast<unsigned>(I + 1)));
  Value *LossOut = Fn->getArg(static_cast<unsigned>(L.Inputs.size() + 1));
  Value *MetricsOut = Fn->getArg(static_cast<unsigned>(L.Inputs.size() + 2));
  std::vector<Value *> Results;
  std::vector<llvm::Type *> Types;
  bool HasLoss = false;
  for (const ir::Result &R : F.Results) {
    Types.push_back(eltType(F.type(R.Value).Elt));
    Results.push_back(B.CreateAlloca(Types.back()));
    HasLoss |= R.Kind == ir::ResultKind::Loss;
  }
  Value *Ok = callEntry(F, 1, State, Inputs, nullptr, Results);
  llvm::Function *Self = B.GetInsertBlock()->getParent();
  // Stores \p V to \p Ptr unless Ptr is null.
  auto StoreIf = [&](Value *V, Value *Ptr) {
    auto *Do = llvm::BasicBlock::Create(Ctx, "store", Self);
    auto *Next = llvm::BasicBlock::Create(Ctx, "next", Self);
    B.CreateCondBr(B.CreateIsNotNull(Ptr), Do, Next);
    B.SetInsertPoint(Do);
    B.CreateStore(V, Ptr);
    B.CreateBr(Next);
    B.SetInsertPoint(Next);
  };
  Value *NaN = llvm::ConstantFP::getNaN(T);
  auto Get = [&](size_t I) {
    Value *V = B.CreateLoad(Types[I], Results[I]);
    V = Types[I] == T ? V : B.CreateFPCast(V, T);
    return B.CreateSelect(Ok, V, NaN);
  };
  size_t First = 0;
  if (HasLoss)
    StoreIf(Get(First++), LossOut);
  else
    StoreIf(NaN, LossOut);
  for (size_t I = First; I < Results.size(); ++I)
    StoreIf(Get(I), B.CreateConstInBoundsGEP1_64(T, MetricsOut, I - First));
  B.CreateRetVoid();
}

void EntryEmitter::emitPredict(const ir::Function &F) {
  std::vector<bool> Reads(L.Inputs.size(), false);
  for (const ir::Node &N : F.Nodes)
    for (size_t I = 0; I < L.Inputs.size(); ++I)
      Reads[I] = Reads[I] || (N.Opcode == ir::Op::Input && N.Symbol == L.Inputs[I]);
  size_t NumIn = static_cast<size_t>(std::count(Reads.begin(), Reads.end(), true));
  std::vector<llvm::Type *> Params(1 + NumIn + F.Results.size(), B.getPtrTy());
  llvm::Function *Fn = define("predict", B.getVoidTy(), Params);
  Value *State = Fn->getArg(0);
  unsigned Arg = 1;
  std::vector<Value *> Inputs;
  for (size_t I = 0; I < L.Inputs.size(); ++I)
    Inputs.push_back(Reads[I] ? Fn->getArg(Arg++) : nullptr);
  std::vector<Value *> Results;
  for (size_t I = 0; I < F.Results.size(); ++I)
    Results.push_back(Fn->getArg(Arg++));
  callEntry(F, 2, State, Inputs, nullptr, Results);
  B.CreateRetVoid();
}

void EntryEmitter::emitTensors() {
  // The table: {const char *name; int32_t dtype; int32_t rank;
  // const int64_t *shape; uint64_t bytes;} per checkpoint tensor.
  llvm::Type *PtrTy = B.getPtrTy();
  auto *EntryTy = llvm::StructType::create(
      Ctx, {PtrTy, B.getInt32Ty(), B.getInt32Ty(), PtrTy, B.getInt64Ty()},
      P + ".tensor_info");
  std::vector<llvm::Constant *> Rows;
  std::vector<std::pair<llvm::Constant *, uint64_t>> Names; // name, offset
  for (const ir::Symbol &S : M.Symbols) {
    if ((S.Kind != ir::SymbolKind::Param && S.Kind != ir::SymbolKind::State) ||
        S.Name.starts_with("."))
      continue;
    llvm::Constant *Name = B.CreateGlobalStringPtr(S.Name, P + ".name", 0, &LM);
    std::vector<uint64_t> Dims(S.Type.Dims.begin(), S.Type.Dims.end());
    auto *ShapeTy = llvm::ArrayType::get(B.getInt64Ty(), Dims.size());
    llvm::Constant *Shape = llvm::ConstantPointerNull::get(
        llvm::PointerType::get(Ctx, 0));
    if (!Dims.empty()) {
      auto *G = new llvm::GlobalVariable(
          LM, ShapeTy, true, llvm::GlobalValue::PrivateLinkage,
          llvm::ConstantDataArray::get(Ctx, Dims), P + ".shape");
      Shape = G;
    }
    int32_t DType = S.Type.Elt == ir::DType::F32   ? 0
                    : S.Type.Elt == ir::DType::F64 ? 1
                                                   : 2;
    Rows.push_back(llvm::ConstantStruct::get(
        EntryTy, {Name, B.getInt32(static_cast<uint32_t>(DType)),
                  B.getInt32(static_cast<uint32_t>(Dims.size())), Shape,
                  B.getInt64(bytesOf(S.Type))}));
    Names.push_back({Name, L.State.find(S.Name)->second.Offset});
  }
  auto *TableTy = llvm::ArrayType::get(EntryTy, Rows.size());
  auto *Table = new llvm::GlobalVariable(
      LM, TableTy, true, llvm::GlobalValue::ExternalLinkage,
      llvm::ConstantArray::get(TableTy, Rows), P + "_tensors");
  Table->setAlignment(llvm::Align(8));

  // PREFIX_tensor: one strcmp per name.
  llvm::Function *Fn = define("tensor", PtrTy, {PtrTy, PtrTy});
  llvm::FunctionCallee Strcmp = LM.getOrInsertFunction(
      "strcmp", llvm::FunctionType::get(B.getInt32Ty(), {PtrTy, PtrTy}, false));
  Value *State = Fn->getArg(0), *Name = Fn->getArg(1);
  llvm::Value *Null = llvm::ConstantPointerNull::get(llvm::PointerType::get(Ctx, 0));
  auto *Miss = llvm::BasicBlock::Create(Ctx, "none", Fn);
  auto *Next = llvm::BasicBlock::Create(Ctx, "lookup", Fn);
  B.CreateCondBr(B.CreateIsNull(Name), Miss, Next);
  for (const auto &[Str, Offset] : Names) {
    B.SetInsertPoint(Next);
    auto *Hit = llvm::BasicBlock::Create(Ctx, "hit", Fn);
    Next = llvm::BasicBlock::Create(Ctx, "lookup", Fn);
    Value *Eq = B.CreateICmpEQ(B.CreateCall(Strcmp, {Name, Str}), B.getInt32(0));
    B.CreateCondBr(Eq, Hit, Next);
    B.SetInsertPoint(Hit);
    B.CreateRet(at(State, AL.StateOffset + Offset));
  }
  B.SetInsertPoint(Next);
  B.CreateBr(Miss);
  B.SetInsertPoint(Miss);
  B.CreateRet(Null);
}

void EntryEmitter::emitLastError() {
  llvm::Type *PtrTy = B.getPtrTy();
  llvm::Function *Fn = define("last_error", PtrTy, {PtrTy, PtrTy});
  Value *State = Fn->getArg(0), *Index = Fn->getArg(1);
  auto *None = llvm::BasicBlock::Create(Ctx, "none", Fn);
  auto *Some = llvm::BasicBlock::Create(Ctx, "error", Fn);
  auto *Which = llvm::BasicBlock::Create(Ctx, "which", Fn);
  Value *Code = B.CreateLoad(B.getInt64Ty(), header(State, 0));
  B.CreateCondBr(B.CreateICmpEQ(Code, B.getInt64(0)), None, Some);
  B.SetInsertPoint(None);
  B.CreateRet(llvm::ConstantPointerNull::get(llvm::PointerType::get(Ctx, 0)));
  B.SetInsertPoint(Some);
  auto *SetIndex = llvm::BasicBlock::Create(Ctx, "index", Fn);
  B.CreateCondBr(B.CreateIsNull(Index), Which, SetIndex);
  B.SetInsertPoint(SetIndex);
  B.CreateStore(B.CreateLoad(B.getInt64Ty(), header(State, 2)), Index);
  B.CreateBr(Which);
  B.SetInsertPoint(Which);
  // Key: entry << 32 | node.
  Value *Key = B.CreateOr(
      B.CreateShl(B.CreateLoad(B.getInt64Ty(), header(State, 3)), 32),
      B.CreateLoad(B.getInt64Ty(), header(State, 1)));
  auto *Generic = llvm::BasicBlock::Create(Ctx, "generic", Fn);
  llvm::SwitchInst *Sw = B.CreateSwitch(Key, Generic);
  const char *Entries[] = {"train_step", "eval", "predict"};
  for (uint64_t E = 0; E < 3; ++E)
    for (const auto &[Where, Msg] : O.ErrorMessages) {
      if (Where.first != Entries[E])
        continue;
      auto *BB = llvm::BasicBlock::Create(Ctx, "msg", Fn);
      Sw->addCase(B.getInt64((E << 32) | Where.second), BB);
      B.SetInsertPoint(BB);
      B.CreateRet(B.CreateGlobalStringPtr(Msg, P + ".msg", 0, &LM));
    }
  B.SetInsertPoint(Generic);
  B.CreateRet(B.CreateGlobalStringPtr(
      fmt::format("{}: runtime error (an id out of range)", M.SourceName),
      P + ".msg", 0, &LM));
}

void EntryEmitter::emitStep() {
  llvm::Type *PtrTy = B.getPtrTy();
  bool Has = L.State.count(".step") > 0;
  llvm::Function *Get = define("step", B.getInt64Ty(), {PtrTy});
  if (Has)
    B.CreateRet(B.CreateFPToSI(
        B.CreateLoad(B.getDoubleTy(), stepPtr(Get->getArg(0))), B.getInt64Ty()));
  else
    B.CreateRet(B.getInt64(0));
  llvm::Function *Set = define("set_step", B.getVoidTy(), {PtrTy, B.getInt64Ty()});
  if (Has)
    B.CreateStore(B.CreateSIToFP(Set->getArg(1), B.getDoubleTy()),
                  stepPtr(Set->getArg(0)));
  B.CreateRetVoid();
}

void EntryEmitter::emit() {
  if (const ir::Function *F = M.lookupFunction("train_step"))
    emitTrainStep(*F);
  if (const ir::Function *F = M.lookupFunction("eval"))
    emitEval(*F);
  if (const ir::Function *F = M.lookupFunction("predict"))
    emitPredict(*F);
  emitTensors();
  emitLastError();
  emitStep();
}

} // namespace

void emitAotEntries(const ir::Module &M, const Layout &L, const AotLayout &AL,
                    const AotOptions &O, llvm::Module &LM,
                    const llvm::TargetMachine &TM) {
  EntryEmitter(M, L, AL, O, LM, TM).emit();
}

} // namespace gradc::codegen
