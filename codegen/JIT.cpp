//===- codegen/JIT.cpp - The host JIT and the llvm/asm dumps ---------------===//
//
// See JIT.h. The O3 pipeline runs in the IR transform layer, so it sees each
// module exactly once, just before instruction selection.
//
//===----------------------------------------------------------------------===//
#include "codegen/JIT.h"

#include "codegen/Codegen.h"

#include <llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h>
#include <llvm/ExecutionEngine/Orc/LLJIT.h>
#include <llvm/ExecutionEngine/Orc/ThreadSafeModule.h>
#include <llvm/IR/LegacyPassManager.h>
#include <llvm/IR/Module.h>
#include <llvm/IR/Verifier.h>
#include <llvm/Passes/PassBuilder.h>
#include <llvm/MC/MCSubtargetInfo.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/raw_ostream.h>
#include <llvm/Target/TargetMachine.h>

#include <mutex>

namespace gradc::codegen {

static void initializeTargets() {
  static std::once_flag Once;
  std::call_once(Once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
  });
}

/// The host, aggressive optimization, position-independent code.
static llvm::Expected<llvm::orc::JITTargetMachineBuilder> hostBuilder() {
  initializeTargets();
  auto JTMB = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!JTMB)
    return JTMB.takeError();
  JTMB->setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
  JTMB->setRelocationModel(llvm::Reloc::PIC_);
  return JTMB;
}

llvm::Expected<std::unique_ptr<llvm::TargetMachine>> createHostTargetMachine() {
  auto JTMB = hostBuilder();
  if (!JTMB)
    return JTMB.takeError();
  return JTMB->createTargetMachine();
}

llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
createTargetMachine(std::string_view Cpu) {
  if (Cpu.empty())
    return createHostTargetMachine();
  // Checked on the host's subtarget first: LLVM warns on stderr about an
  // unknown CPU when it builds a target machine for one.
  auto Host = createHostTargetMachine();
  if (!Host)
    return Host.takeError();
  if (!(*Host)->getMCSubtargetInfo()->isCPUStringValid(Cpu))
    return llvm::createStringError(
        llvm::inconvertibleErrorCode(),
        "unknown CPU '" + std::string(Cpu) + "' for " +
            (*Host)->getTargetTriple().str() +
            " (e.g. x86-64, x86-64-v2, x86-64-v3, x86-64-v4, znver4)");
  llvm::orc::JITTargetMachineBuilder JTMB((*Host)->getTargetTriple());
  JTMB.setCPU(std::string(Cpu));
  JTMB.setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
  JTMB.setRelocationModel(llvm::Reloc::PIC_);
  auto TM = JTMB.createTargetMachine();
  if (!TM)
    return TM.takeError();
  return TM;
}

void optimizeModule(llvm::Module &M, llvm::TargetMachine &TM) {
  llvm::LoopAnalysisManager LAM;
  llvm::FunctionAnalysisManager FAM;
  llvm::CGSCCAnalysisManager CGAM;
  llvm::ModuleAnalysisManager MAM;
  llvm::PipelineTuningOptions PTO;
  PTO.LoopVectorization = true;
  PTO.SLPVectorization = true;
  PTO.LoopInterleaving = true;
  PTO.LoopUnrolling = true;
  llvm::PassBuilder PB(&TM, PTO);
  PB.registerModuleAnalyses(MAM);
  PB.registerCGSCCAnalyses(CGAM);
  PB.registerFunctionAnalyses(FAM);
  PB.registerLoopAnalyses(LAM);
  PB.crossRegisterProxies(LAM, FAM, CGAM, MAM);
  llvm::ModulePassManager MPM =
      PB.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3);
  MPM.run(M, MAM);
}

std::string verifyModuleText(const llvm::Module &M) {
  std::string S;
  llvm::raw_string_ostream OS(S);
  if (!llvm::verifyModule(M, &OS))
    return "";
  OS.flush();
  return S.empty() ? "the LLVM module is malformed" : S;
}

std::optional<std::string> printMachineCode(const ir::Module &M, bool Asm,
                                            std::string &Err,
                                            unsigned Threads) {
  auto TM = createHostTargetMachine();
  if (!TM) {
    Err = llvm::toString(TM.takeError());
    return std::nullopt;
  }
  llvm::LLVMContext Ctx;
  Layout L = computeLayout(M);
  EmitOptions Opts;
  Opts.Threads = Threads;
  std::unique_ptr<llvm::Module> LM = emitModule(M, L, Ctx, **TM, Opts);
  if (std::string V = verifyModuleText(*LM); !V.empty()) {
    Err = "internal error: invalid LLVM IR: " + V;
    return std::nullopt;
  }
  optimizeModule(*LM, **TM);
  std::string Out;
  llvm::raw_string_ostream OS(Out);
  if (!Asm) {
    LM->print(OS, nullptr);
    return OS.str();
  }
  llvm::SmallString<0> Buf;
  llvm::raw_svector_ostream AsmOS(Buf);
  llvm::legacy::PassManager PM;
  if ((*TM)->addPassesToEmitFile(PM, AsmOS, nullptr,
                                 llvm::CodeGenFileType::AssemblyFile)) {
    Err = "the host target cannot emit assembly";
    return std::nullopt;
  }
  PM.run(*LM);
  return std::string(Buf.str());
}

llvm::Expected<std::unique_ptr<Jit>> Jit::create() {
  auto JTMB = hostBuilder();
  if (!JTMB)
    return JTMB.takeError();
  std::unique_ptr<Jit> Self(new Jit());
  auto TM = JTMB->createTargetMachine();
  if (!TM)
    return TM.takeError();
  Self->TM = std::move(*TM);
  auto J = llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(*JTMB).create();
  if (!J)
    return J.takeError();
  Self->J = std::move(*J);
  Self->TSCtx = std::make_unique<llvm::orc::ThreadSafeContext>(
      std::make_unique<llvm::LLVMContext>());
  llvm::TargetMachine *OptTM = Self->TM.get();
  Self->J->getIRTransformLayer().setTransform(
      [OptTM](llvm::orc::ThreadSafeModule TSM,
              const llvm::orc::MaterializationResponsibility &)
          -> llvm::Expected<llvm::orc::ThreadSafeModule> {
        TSM.withModuleDo([&](llvm::Module &M) { optimizeModule(M, *OptTM); });
        return TSM;
      });
  return Self;
}

Jit::~Jit() = default;

llvm::LLVMContext &Jit::context() { return *TSCtx->getContext(); }

llvm::Expected<std::map<std::string, void *>>
Jit::compile(std::unique_ptr<llvm::Module> M) {
  if (std::string V = verifyModuleText(*M); !V.empty())
    return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                   "invalid LLVM IR: " + V);
  std::vector<std::string> Names;
  for (const llvm::Function &F : M->functions())
    if (!F.isDeclaration() && F.hasExternalLinkage())
      Names.push_back(F.getName().str());
  auto JD = J->createJITDylib("gradc." + std::to_string(NumDylibs++));
  if (!JD)
    return JD.takeError();
  if (llvm::Error E =
          J->addIRModule(*JD, llvm::orc::ThreadSafeModule(std::move(M), *TSCtx)))
    return E;
  std::map<std::string, void *> Out;
  for (const std::string &N : Names) {
    auto Addr = J->lookup(*JD, N);
    if (!Addr)
      return Addr.takeError();
    Out[N] = Addr->toPtr<void *>();
  }
  return Out;
}

} // namespace gradc::codegen
