//===- passes/PassManager.cpp - Running passes ------------------------------===//
//
// Runs passes in order. With --print-before/after it prints the IR around the
// named passes as comment-headed dumps ("(unchanged)" when the pass reported
// no change), with --verify-each it runs the verifier after every pass, and
// with --time-passes it prints a table of wall times at the end.
//
//===----------------------------------------------------------------------===//
#include "passes/PassManager.h"

#include "ir/Printer.h"
#include "ir/Verifier.h"

#include <chrono>
#include <cstdlib>
#include <fmt/format.h>

namespace gradc::passes {

#define GRADC_PASS(Fn, Name, Desc) bool Fn(ir::Module &, PassContext &);
#include "passes/Passes.def"

static const PassInfo Passes[] = {
#define GRADC_PASS(Fn, Name, Desc) {Name, Desc, Fn},
#include "passes/Passes.def"
};

std::span<const PassInfo> allPasses() { return Passes; }

const PassInfo *lookupPass(std::string_view Name) {
  for (const PassInfo &P : Passes)
    if (P.Name == Name)
      return &P;
  return nullptr;
}

bool verifyEachByDefault() {
  const char *V = std::getenv("GRADC_VERIFY_EACH");
  return V && std::string_view(V) != "0";
}

bool PassManager::parsePipeline(std::string_view List, std::string &Err) {
  while (!List.empty()) {
    size_t Comma = List.find(',');
    std::string_view Name = List.substr(0, Comma);
    List = Comma == std::string_view::npos ? "" : List.substr(Comma + 1);
    if (Name.empty())
      continue;
    const PassInfo *P = lookupPass(Name);
    if (!P) {
      std::vector<std::string_view> Known;
      for (const PassInfo &K : Passes)
        Known.push_back(K.Name);
      Err = fmt::format("unknown pass '{}' (known passes: {})", Name,
                        fmt::join(Known, ", "));
      return false;
    }
    add(*P);
  }
  return true;
}

bool PassManager::run(ir::Module &M) {
  using Clock = std::chrono::steady_clock;
  std::vector<std::pair<std::string_view, double>> Times;
  for (const PassInfo *P : Pipeline) {
    if (Inst.PrintBefore.count(P->Name))
      Log << "# *** IR Dump Before " << P->Name << " ***\n" << ir::printModule(M);
    auto Start = Clock::now();
    PassContext Ctx{Diags};
    bool Changed = P->Run(M, Ctx);
    Times.push_back(
        {P->Name, std::chrono::duration<double, std::milli>(Clock::now() - Start)
                      .count()});
    if (Ctx.Failed)
      return false;
    if (Inst.PrintAfterAll || Inst.PrintAfter.count(P->Name)) {
      Log << "# *** IR Dump After " << P->Name << " ***";
      if (Changed)
        Log << '\n' << ir::printModule(M);
      else
        Log << " (unchanged)\n";
    }
    if (Inst.VerifyEach) {
      std::vector<std::string> Problems = ir::verifyModule(M);
      for (const std::string &Problem : Problems)
        Log << "gradc: internal error: after pass '" << P->Name
            << "': " << Problem << '\n';
      if (!Problems.empty())
        return false;
    }
  }
  if (Inst.TimePasses) {
    double Total = 0;
    for (auto &T : Times)
      Total += T.second;
    Log << "# === Pass execution timing report ===\n";
    for (auto &[Name, Ms] : Times)
      Log << fmt::format("#   {:>10.3f} ms  {}\n", Ms, Name);
    Log << fmt::format("#   {:>10.3f} ms  total\n", Total);
  }
  return true;
}

} // namespace gradc::passes
