//===- codegen/JIT.h - Compiling LLVM modules for the host ------*- C++ -*-===//
//
// An ORC LLJIT for this machine: the host CPU and its features
// (JITTargetMachineBuilder::detectHost), CodeGenOptLevel::Aggressive,
// Reloc::PIC_, and an IR transform that runs the new pass manager's O3
// pipeline built with the target machine (loop and SLP vectorization on) on
// every module before it is compiled; LLJIT would not optimize otherwise.
// libm, pthreads (the thread pool of parallel loops) and the rest of the
// process resolve from the process itself.
//
// Also what `gradc dump --stage llvm|asm` prints: a module's optimized LLVM
// IR and the host assembly made from it.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Module.h"

#include <map>
#include <memory>
#include <optional>
#include <string>

#include <llvm/Support/Error.h>

namespace llvm {
class LLVMContext;
class Module;
class TargetMachine;
namespace orc {
class LLJIT;
class ThreadSafeContext;
} // namespace orc
} // namespace llvm

namespace gradc::codegen {

/// A target machine for this host (as the JIT uses).
llvm::Expected<std::unique_ptr<llvm::TargetMachine>> createHostTargetMachine();
/// The same for CPU \p Cpu of the host's architecture ("" = the host's CPU
/// and features), for ahead-of-time code; an error names an unknown CPU.
llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
createTargetMachine(std::string_view Cpu);

/// Runs the O3 pipeline built with \p TM on \p M.
void optimizeModule(llvm::Module &M, llvm::TargetMachine &TM);

/// "" when \p M is well formed, else what the verifier says.
std::string verifyModuleText(const llvm::Module &M);

/// The LLVM IR (\p Asm false) or host assembly (\p Asm true) of every
/// function of \p M after the O3 pipeline, its loops split across
/// \p Threads threads (0: every core). nullopt with \p Err on failure.
std::optional<std::string> printMachineCode(const ir::Module &M, bool Asm,
                                            std::string &Err,
                                            unsigned Threads = 0);

class Jit {
public:
  static llvm::Expected<std::unique_ptr<Jit>> create();
  ~Jit();
  Jit(const Jit &) = delete;
  Jit &operator=(const Jit &) = delete;

  /// The context modules given to compile() must be created in.
  llvm::LLVMContext &context();
  /// The machine code is generated for (pass it to emitModule).
  const llvm::TargetMachine &targetMachine() const { return *TM; }

  /// Verifies, optimizes and compiles \p M into a fresh JITDylib, and
  /// returns the address of each function it defines with external linkage,
  /// by name. The code stays valid as long as this Jit.
  llvm::Expected<std::map<std::string, void *>>
  compile(std::unique_ptr<llvm::Module> M);

private:
  Jit() = default;
  std::unique_ptr<llvm::orc::LLJIT> J;
  std::unique_ptr<llvm::orc::ThreadSafeContext> TSCtx;
  std::unique_ptr<llvm::TargetMachine> TM; // for the O3 pipeline
  unsigned NumDylibs = 0;
};

} // namespace gradc::codegen
