//===- codegen/AotInit.cpp - PREFIX_init: the initializers in LLVM IR ------===//
//
// `void PREFIX_init(void *state, uint64_t seed)` sets every param and state
// symbol exactly as the runtime's Executable::initialize does: the draw of
// ir/InitSpec.h, with runtime/Init.h's counter-based generator written out
// in IR (splitmix64 of the stream key and the element counter, u in (0, 1),
// Box-Muller with libm's log and cos, an IEEE sqrt), the value rounded to
// the tensor's dtype; `.seed` holds the seed and `.step` 0; the call header
// is cleared. The stream key's name hash is a compile-time constant. libm
// calls are `nobuiltin` and no fast-math flag is set, so every double is
// the one runtime/Init.cpp computes (tests/unit/AotTest.cpp checks it).
//
//===----------------------------------------------------------------------===//
#include "codegen/Aot.h"
#include "ir/InitSpec.h"

#include <functional>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/Module.h>
#include <llvm/Target/TargetMachine.h>

namespace gradc::codegen {
namespace {

using llvm::Value;

constexpr uint64_t Golden = 0x9E3779B97F4A7C15ULL;

uint64_t fnv1a(std::string_view S) {
  uint64_t H = 0xCBF29CE484222325ULL;
  for (char C : S)
    H = (H ^ static_cast<uint8_t>(C)) * 0x100000001B3ULL;
  return H;
}

class InitEmitter {
public:
  InitEmitter(llvm::Module &LM) : LM(LM), Ctx(LM.getContext()), B(Ctx) {}

  /// splitmix(x) = mix(x + golden).
  Value *splitmix(Value *X) {
    Value *Z = B.CreateAdd(X, B.getInt64(Golden));
    Z = B.CreateMul(B.CreateXor(Z, B.CreateLShr(Z, 30)),
                    B.getInt64(0xBF58476D1CE4E5B9ULL));
    Z = B.CreateMul(B.CreateXor(Z, B.CreateLShr(Z, 27)),
                    B.getInt64(0x94D049BB133111EBULL));
    return B.CreateXor(Z, B.CreateLShr(Z, 31));
  }
  /// u(j) = ((splitmix(key + j * golden) >> 11) + 0.5) * 2^-53.
  Value *uniformAt(Value *Key, Value *J) {
    Value *Bits = splitmix(B.CreateAdd(Key, B.CreateMul(J, B.getInt64(Golden))));
    Value *D = B.CreateUIToFP(B.CreateLShr(Bits, 11), B.getDoubleTy());
    return B.CreateFMul(B.CreateFAdd(D, c(0.5)), c(0x1p-53));
  }
  llvm::Constant *c(double V) { return llvm::ConstantFP::get(B.getDoubleTy(), V); }
  Value *libm(const char *Name, Value *X) {
    llvm::FunctionCallee Fn = LM.getOrInsertFunction(
        Name, llvm::FunctionType::get(B.getDoubleTy(), {B.getDoubleTy()}, false));
    llvm::CallInst *C = B.CreateCall(Fn, {X});
    C->addFnAttr(llvm::Attribute::NoBuiltin);
    return C;
  }
  /// Stores double \p V rounded to \p T at element \p I of \p Ptr.
  void store(Value *V, ir::DType T, Value *Ptr, Value *I) {
    llvm::Type *Ty = T == ir::DType::F32   ? B.getFloatTy()
                     : T == ir::DType::F64 ? B.getDoubleTy()
                                           : B.getInt32Ty();
    if (T == ir::DType::F32)
      V = B.CreateFPTrunc(V, Ty);
    else if (T == ir::DType::I32)
      V = B.CreateIntrinsic(llvm::Intrinsic::fptosi_sat, {Ty, B.getDoubleTy()},
                            {B.CreateUnaryIntrinsic(llvm::Intrinsic::nearbyint, V)});
    B.CreateStore(V, B.CreateInBoundsGEP(Ty, Ptr, I));
  }
  /// for (I = 0; I < N; ++I) Body(I)
  void loop(int64_t N, const std::function<void(Value *)> &Body) {
    if (N <= 0)
      return;
    llvm::Function *F = B.GetInsertBlock()->getParent();
    llvm::BasicBlock *Pre = B.GetInsertBlock();
    auto *Head = llvm::BasicBlock::Create(Ctx, "loop", F);
    auto *Exit = llvm::BasicBlock::Create(Ctx, "done", F);
    B.CreateBr(Head);
    B.SetInsertPoint(Head);
    llvm::PHINode *I = B.CreatePHI(B.getInt64Ty(), 2, "i");
    I->addIncoming(B.getInt64(0), Pre);
    Body(I);
    Value *Next = B.CreateAdd(I, B.getInt64(1), "", true, true);
    I->addIncoming(Next, B.GetInsertBlock());
    B.CreateCondBr(B.CreateICmpSLT(Next, B.getInt64(N)), Head, Exit);
    B.SetInsertPoint(Exit);
  }

  void symbol(const ir::Symbol &S, Value *Ptr, Value *Seed) {
    int64_t N = S.Type.numElements();
    ir::DType T = S.Type.Elt;
    if (S.Name == ".seed") {
      Value *V = B.CreateUIToFP(Seed, B.getDoubleTy());
      loop(N, [&](Value *I) { store(V, T, Ptr, I); });
      return;
    }
    ir::InitSpec Spec = ir::resolveInit(S.Init, S.Type);
    if (Spec.K == ir::InitSpec::Fill) {
      loop(N, [&](Value *I) { store(c(Spec.A), T, Ptr, I); });
      return;
    }
    Value *Key = splitmix(B.CreateXor(splitmix(Seed), B.getInt64(fnv1a(S.Name))));
    if (Spec.K == ir::InitSpec::Uniform) {
      // lo + (hi - lo) * u(i)
      loop(N, [&](Value *I) {
        Value *V = B.CreateFAdd(
            c(Spec.A), B.CreateFMul(c(Spec.B - Spec.A), uniformAt(Key, I)));
        store(V, T, Ptr, I);
      });
      return;
    }
    // mean + std * sqrt(-2 log u(2i)) * cos(2 pi u(2i + 1))
    const double Pi = 3.141592653589793;
    loop(N, [&](Value *I) {
      Value *J = B.CreateMul(I, B.getInt64(2));
      Value *U1 = uniformAt(Key, J);
      Value *U2 = uniformAt(Key, B.CreateAdd(J, B.getInt64(1)));
      Value *R = B.CreateUnaryIntrinsic(llvm::Intrinsic::sqrt,
                                        B.CreateFMul(c(-2.0), libm("log", U1)));
      Value *Z = B.CreateFMul(R, libm("cos", B.CreateFMul(c(2.0 * Pi), U2)));
      store(B.CreateFAdd(c(Spec.A), B.CreateFMul(c(Spec.B), Z)), T, Ptr, I);
    });
  }

  llvm::Module &LM;
  llvm::LLVMContext &Ctx;
  llvm::IRBuilder<> B;
};

} // namespace

void emitAotInit(const ir::Module &M, const Layout &L, const AotLayout &AL,
                 llvm::Module &LM, const llvm::TargetMachine &TM) {
  InitEmitter E(LM);
  llvm::IRBuilder<> &B = E.B;
  auto *FTy = llvm::FunctionType::get(B.getVoidTy(),
                                      {B.getPtrTy(), B.getInt64Ty()}, false);
  auto *F = llvm::Function::Create(FTy, llvm::GlobalValue::ExternalLinkage,
                                   aotPrefix(M) + "_init", LM);
  F->addFnAttr("target-cpu", TM.getTargetCPU());
  F->addFnAttr("target-features", TM.getTargetFeatureString());
  F->setDoesNotThrow();
  B.SetInsertPoint(llvm::BasicBlock::Create(E.Ctx, "entry", F));
  Value *State = F->getArg(0), *Seed = F->getArg(1);
  B.CreateMemSet(State, B.getInt8(0), AotLayout::HeaderBytes, llvm::Align(kAlign));
  for (const ir::Symbol &S : M.Symbols) {
    if (S.Kind != ir::SymbolKind::Param && S.Kind != ir::SymbolKind::State)
      continue;
    Value *Ptr = B.CreateConstInBoundsGEP1_64(
        B.getInt8Ty(), State, AL.StateOffset + L.State.find(S.Name)->second.Offset);
    E.symbol(S, Ptr, Seed);
  }
  B.CreateRetVoid();
}

} // namespace gradc::codegen
