//===- passes/PassManager.h - Running named passes with instrumentation -*- C++ -*-===//
#pragma once

#include "ir/Module.h"

#include <ostream>
#include <set>
#include <span>
#include <string>
#include <vector>

namespace gradc::passes {

using PassFn = bool (*)(ir::Module &);

struct PassInfo {
  std::string_view Name;
  std::string_view Description;
  PassFn Run;
};

std::span<const PassInfo> allPasses();
const PassInfo *lookupPass(std::string_view Name);

struct Instrumentation {
  bool PrintAfterAll = false;
  std::set<std::string, std::less<>> PrintAfter;
  std::set<std::string, std::less<>> PrintBefore;
  bool VerifyEach = false;
  bool TimePasses = false;
};

/// Runs a sequence of passes over a module. Instrumentation output (IR dumps,
/// timings, verifier failures) goes to the stream given at construction.
class PassManager {
public:
  PassManager(Instrumentation Inst, std::ostream &Log)
      : Inst(std::move(Inst)), Log(Log) {}

  void add(const PassInfo &P) { Pipeline.push_back(&P); }
  /// Adds the passes of a comma-separated list; on an unknown name returns
  /// false with a message naming it and the known passes.
  bool parsePipeline(std::string_view List, std::string &Err);
  /// Returns false when --verify-each found a broken module (an internal
  /// error, reported on the log).
  bool run(ir::Module &M);

private:
  Instrumentation Inst;
  std::ostream &Log;
  std::vector<const PassInfo *> Pipeline;
};

} // namespace gradc::passes
