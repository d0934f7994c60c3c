//===- codegen/Aot.cpp - The AOT object, put together ----------------------===//
//
// buildAotModule:
//   1. emitModule + optimizeModule: the gradc_<fn> functions, exactly as the
//      JIT compiles them (same emitter, same pipeline, same target machine
//      options);
//   2. a second module with the C entry points, PREFIX_init and the tensor
//      table (AotEntry.cpp, AotInit.cpp), optimized on its own, so nothing
//      of it is inlined into or changes the step functions;
//   3. the two linked, and every symbol that is not a PREFIX_ entry point
//      made internal (a program may link several models' objects).
// compileAot then prints the LLVM IR or runs the target machine's code
// generator to assembly or an object file.
//
//===----------------------------------------------------------------------===//
#include "codegen/Aot.h"
#include "codegen/JIT.h"

#include <cctype>
#include <llvm/ADT/SmallString.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Module.h>
#include <llvm/Linker/Linker.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>

namespace gradc::codegen {

static uint64_t alignUp(uint64_t X) { return (X + kAlign - 1) / kAlign * kAlign; }

AotLayout computeAotLayout(const ir::Module &M, const Layout &L) {
  AotLayout A;
  A.ScratchOffset = alignUp(A.StateOffset + L.StateBytes);
  uint64_t Scratch = 0;
  for (const auto &[Name, FL] : L.Functions)
    Scratch = std::max(Scratch, FL.ScratchBytes);
  A.StagingOffset = alignUp(A.ScratchOffset + Scratch);
  uint64_t Staging = 0;
  for (const std::string &Name : L.Inputs) {
    A.Staging.push_back(Staging);
    const ir::TensorType &T = M.lookupSymbol(Name)->Type;
    Staging += alignUp(static_cast<uint64_t>(T.numElements()) *
                       ir::dtypeSize(T.Elt));
  }
  A.TotalBytes = A.StagingOffset + Staging;
  return A;
}

std::string aotPrefix(const ir::Module &M) {
  std::string P = M.Name.empty() ? "model" : M.Name;
  for (char &C : P)
    if (!std::isalnum(static_cast<unsigned char>(C)) && C != '_')
      C = '_';
  if (std::isdigit(static_cast<unsigned char>(P[0])))
    P = "_" + P;
  return P;
}

ir::DType aotFloatType(const ir::Module &M) {
  if (const ir::Function *F = M.lookupFunction("train_step"))
    return F->type(F->Results.front().Value).Elt;
  if (const ir::Function *F = M.lookupFunction("eval"))
    for (const ir::Result &R : F->Results)
      if (F->type(R.Value).Elt != ir::DType::I32)
        return F->type(R.Value).Elt;
  return ir::DType::F32;
}

llvm::Expected<std::unique_ptr<llvm::Module>>
buildAotModule(const ir::Module &M, const AotOptions &O, llvm::LLVMContext &Ctx,
               llvm::TargetMachine &TM) {
  auto Fail = [](std::string Msg) {
    return llvm::createStringError(llvm::inconvertibleErrorCode(), Msg);
  };
  Layout L = computeLayout(M);
  AotLayout AL = computeAotLayout(M, L);

  // 1. The step functions, as the JIT has them.
  EmitOptions EO;
  EO.Threads = O.Threads;
  std::unique_ptr<llvm::Module> LM = emitModule(M, L, Ctx, TM, EO);
  if (std::string V = verifyModuleText(*LM); !V.empty())
    return Fail("internal error: invalid LLVM IR: " + V);
  optimizeModule(*LM, TM);

  // 2. The C interface.
  auto Api = std::make_unique<llvm::Module>(LM->getName().str() + ".api", Ctx);
  Api->setDataLayout(LM->getDataLayout());
  Api->setTargetTriple(LM->getTargetTriple());
  emitAotEntries(M, L, AL, O, *Api, TM);
  emitAotInit(M, L, AL, *Api, TM);
  if (std::string V = verifyModuleText(*Api); !V.empty())
    return Fail("internal error: invalid LLVM IR of the C interface: " + V);
  optimizeModule(*Api, TM);

  // 3. One module; only PREFIX_ symbols stay visible.
  if (llvm::Linker::linkModules(*LM, std::move(Api)))
    return Fail("internal error: cannot link the C interface");
  std::string Prefix = aotPrefix(M) + "_";
  auto Hide = [&](llvm::GlobalValue &G) {
    if (!G.isDeclaration() && !G.getName().starts_with(Prefix))
      G.setLinkage(llvm::GlobalValue::InternalLinkage);
  };
  for (llvm::Function &F : *LM)
    Hide(F);
  for (llvm::GlobalVariable &G : LM->globals())
    Hide(G);
  if (std::string V = verifyModuleText(*LM); !V.empty())
    return Fail("internal error: invalid LLVM IR after linking: " + V);
  return LM;
}

bool compileAot(const ir::Module &M, const AotOptions &O, std::string &Out,
                std::string &Err) {
  auto TM = createTargetMachine(O.Cpu);
  if (!TM) {
    Err = llvm::toString(TM.takeError());
    return false;
  }
  llvm::LLVMContext Ctx;
  auto LM = buildAotModule(M, O, Ctx, **TM);
  if (!LM) {
    Err = llvm::toString(LM.takeError());
    return false;
  }
  Out.clear();
  if (O.Emit == AotEmit::LLVM) {
    llvm::raw_string_ostream OS(Out);
    (*LM)->print(OS, nullptr);
    return true;
  }
  llvm::SmallString<0> Buf;
  llvm::raw_svector_ostream OS(Buf);
  llvm::legacy::PassManager PM;
  auto Kind = O.Emit == AotEmit::Assembly ? llvm::CodeGenFileType::AssemblyFile
                                          : llvm::CodeGenFileType::ObjectFile;
  if ((*TM)->addPassesToEmitFile(PM, OS, nullptr, Kind)) {
    Err = "the target cannot emit this kind of file";
    return false;
  }
  PM.run(**LM);
  Out.assign(Buf.begin(), Buf.end());
  return true;
}

} // namespace gradc::codegen
