//===- runtime/Compile.cpp - The pipeline, from model text to executable --===//
//
// Read top to bottom: front end, autodiff, cleanup, backend. Each pass runs
// through the PassManager so that --print-after-all, --verify-each and
// --time-passes see it.
//
//===----------------------------------------------------------------------===//
#include "runtime/Compile.h"

#include "codegen/JIT.h"
#include "runtime/Interp.h"
#include "runtime/JitExecutable.h"

#include <cassert>
#include <fmt/format.h>

namespace gradc::runtime {

std::optional<Stage> parseStage(std::string_view Name) {
  if (Name == "parsed")
    return Stage::Parsed;
  if (Name == "grad")
    return Stage::Grad;
  if (Name == "optimized")
    return Stage::Optimized;
  if (Name == "llvm")
    return Stage::Llvm;
  if (Name == "asm")
    return Stage::Asm;
  return std::nullopt;
}

std::string builtStageNames() { return "parsed, grad, optimized, llvm, asm"; }

std::string backendNames() { return "interp, jit"; }

bool checkBackend(std::string_view Backend, std::string &Err) {
  if (Backend == "interp" || Backend == "jit")
    return true;
  Err = fmt::format("unknown backend '{}' (backends: {})", Backend,
                    backendNames());
  return false;
}

/// Runs the passes \p List (comma-separated) on \p M.
static bool runPasses(ir::Module &M, std::string_view List,
                      const CompileOptions &Opts, DiagnosticEngine &Diags,
                      std::ostream &Log) {
  passes::PassManager PM(Opts.Instrumentation, Log, Diags);
  std::string Err;
  [[maybe_unused]] bool Known = PM.parsePipeline(List, Err);
  assert(Known && "the pipeline names a pass that does not exist");
  return PM.run(M);
}

std::unique_ptr<ir::Module> buildModule(const SourceFile &Src,
                                        const CompileOptions &Opts, Stage Upto,
                                        DiagnosticEngine &Diags,
                                        std::ostream &Log) {
  // parsed: model text -> @model, every name, shape and dtype checked.
  std::unique_ptr<ir::Module> M = loadModel(Src, Opts.Defines, Diags);
  if (!M || Upto == Stage::Parsed)
    return M;

  // grad: @train_step (forward, backward, clipping, optimizer update),
  // @eval and @predict; then the nodes nothing needs go.
  if (!runPasses(*M, "autodiff,dce", Opts, Diags, Log))
    return nullptr;
  if (Upto == Stage::Grad)
    return M;

  // optimized: fusion groups, each compiled as one kernel.
  if (!runPasses(*M, "fuse", Opts, Diags, Log))
    return nullptr;
  return M;
}

std::unique_ptr<ir::Module> buildFinalModule(const SourceFile &Src,
                                             const CompileOptions &Opts,
                                             DiagnosticEngine &Diags,
                                             std::ostream &Log) {
  return buildModule(Src, Opts, Stage::Optimized, Diags, Log);
}

std::unique_ptr<Executable> compileModel(const SourceFile &Src,
                                         const CompileOptions &Opts,
                                         DiagnosticEngine &Diags,
                                         std::ostream &Log) {
  std::string Err;
  if (!checkBackend(Opts.Backend, Err)) {
    Diags.error({}, "{}", Err);
    return nullptr;
  }
  std::unique_ptr<ir::Module> M = buildFinalModule(Src, Opts, Diags, Log);
  if (!M)
    return nullptr;
  if (Opts.Backend == "interp")
    return makeInterpreterExecutable(std::move(M));
  // jit: LLVM IR per entry, the O3 pipeline, machine code for this host.
  codegen::EmitOptions EO;
  EO.Threads = Opts.Threads;
  std::unique_ptr<Executable> X = makeJitExecutable(std::move(M), Err, EO);
  if (!X)
    Diags.error({}, "{}", Err);
  return X;
}

bool printMachineStage(const ir::Module &M, Stage S, std::ostream &OS,
                       std::string &Err) {
  assert((S == Stage::Llvm || S == Stage::Asm) && "not a machine stage");
  std::optional<std::string> Text =
      codegen::printMachineCode(M, S == Stage::Asm, Err);
  if (!Text)
    return false;
  OS << *Text;
  return true;
}

} // namespace gradc::runtime
