//===- passes/PassManager.h - Running named passes with instrumentation -*- C++ -*-===//
#pragma once

#include "ir/Diagnostics.h"
#include "ir/Module.h"

#include <ostream>
#include <set>
#include <span>
#include <string>
#include <vector>

namespace gradc::passes {

/// What a pass may use besides the module: the diagnostic engine for user
/// errors it finds (autodiff: an op without a gradient rule). A pass that
/// reports an error sets Failed; the pipeline stops after it.
struct PassContext {
  DiagnosticEngine &Diags;
  bool Failed = false;
};

/// Runs the pass; returns whether it changed the module.
using PassFn = bool (*)(ir::Module &, PassContext &);

struct PassInfo {
  std::string_view Name;
  std::string_view Description;
  PassFn Run;
};

std::span<const PassInfo> allPasses();

/// The default optimization pipeline, run after autodiff (the `optimized`
/// stage; docs/passes.md): fold constants, simplify, merge common
/// subexpressions, fold transposes into matmuls, then drop what nothing
/// uses.
inline constexpr std::string_view OptimizationPipeline =
    "constfold,simplify,cse,layout,dce,fuse";
const PassInfo *lookupPass(std::string_view Name);

/// Whether the environment asks for --verify-each everywhere:
/// GRADC_VERIFY_EACH set and not "0" (the test suites set it).
bool verifyEachByDefault();

struct Instrumentation {
  bool PrintAfterAll = false;
  std::set<std::string, std::less<>> PrintAfter;
  std::set<std::string, std::less<>> PrintBefore;
  bool VerifyEach = verifyEachByDefault();
  bool TimePasses = false;
};

/// Runs a sequence of passes over a module. Instrumentation output (IR dumps,
/// timings, verifier failures) goes to the stream given at construction.
class PassManager {
public:
  PassManager(Instrumentation Inst, std::ostream &Log, DiagnosticEngine &Diags)
      : Inst(std::move(Inst)), Log(Log), Diags(Diags) {}

  void add(const PassInfo &P) { Pipeline.push_back(&P); }
  /// Adds the passes of a comma-separated list; on an unknown name returns
  /// false with a message naming it and the known passes.
  bool parsePipeline(std::string_view List, std::string &Err);
  /// Returns false when a pass reported an error, or --verify-each found a
  /// broken module (an internal error, reported on the log).
  bool run(ir::Module &M);

private:
  Instrumentation Inst;
  std::ostream &Log;
  DiagnosticEngine &Diags;
  std::vector<const PassInfo *> Pipeline;
};

} // namespace gradc::passes
