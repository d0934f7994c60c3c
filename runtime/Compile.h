//===- runtime/Compile.h - From model text to executable --------*- C++ -*-===//
//
// The whole compiler in one readable function (Compile.cpp, buildModule):
//   parsed      the front end: model text -> @model
//   grad        autodiff (@train_step with the backward graph, clipping and
//               the optimizer update; @eval; @predict), then dce
//   optimized   fuse: fusion groups, one kernel each (ir/Fusion.h)
// and then an Executable on a backend: the interpreter, or the JIT, whose
// stages `llvm` (the optimized LLVM IR of every entry) and `asm` (the host
// assembly) `gradc dump` prints with printMachineStage.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "frontend/Frontend.h"
#include "passes/PassManager.h"
#include "runtime/Executable.h"

#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace gradc::runtime {

/// How far the pipeline runs.
enum class Stage : uint8_t { Parsed, Grad, Optimized, Llvm, Asm };
/// Every stage of SPEC §2 `gradc dump`, built or not.
inline constexpr std::string_view StageNames[] = {"parsed", "grad", "optimized",
                                                  "llvm", "asm"};
/// The stage called \p Name, or nullopt when this build has no such stage.
std::optional<Stage> parseStage(std::string_view Name);
/// The names of the stages this build has ("parsed, grad, llvm, asm").
std::string builtStageNames();

struct CompileOptions {
  std::vector<Define> Defines;
  /// "interp" (the reference interpreter) or "jit" (machine code).
  std::string Backend = "jit";
  /// Threads of the JIT's parallel loops, 0 for all cores (the interpreter
  /// runs on one).
  unsigned Threads = 0;
  passes::Instrumentation Instrumentation;
};

/// The backends this build has, for messages ("interp, jit").
std::string backendNames();
/// Checks \p Backend; on an unknown or unavailable one returns false with a
/// message.
bool checkBackend(std::string_view Backend, std::string &Err);

/// Runs the pipeline on \p Src up to \p Upto (for llvm and asm: the last IR
/// stage, which printMachineStage then compiles). Diagnostics go to \p Diags
/// (whose source should be \p Src), instrumentation output to \p Log.
/// Returns null when an error was reported.
std::unique_ptr<ir::Module> buildModule(const SourceFile &Src,
                                        const CompileOptions &Opts, Stage Upto,
                                        DiagnosticEngine &Diags,
                                        std::ostream &Log);

/// Prints the machine-level stage \p S (Llvm or Asm) of \p M, the module
/// buildModule made for it, to \p OS. False with \p Err on an internal error.
bool printMachineStage(const ir::Module &M, Stage S, std::ostream &OS,
                       std::string &Err);

/// buildModule up to the last IR stage: the module every backend (and the
/// AOT object) compiles. Null when an error was reported.
std::unique_ptr<ir::Module> buildFinalModule(const SourceFile &Src,
                                             const CompileOptions &Opts,
                                             DiagnosticEngine &Diags,
                                             std::ostream &Log);

/// buildModule up to the last stage, then an Executable on Opts.Backend
/// (which must pass checkBackend). Null when an error was reported.
std::unique_ptr<Executable> compileModel(const SourceFile &Src,
                                         const CompileOptions &Opts,
                                         DiagnosticEngine &Diags,
                                         std::ostream &Log);

} // namespace gradc::runtime
