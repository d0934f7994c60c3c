//===- tools/gradc.cpp - The gradc command line -----------------------------===//
//
// Thin: parses the command line and calls the library. Every user error is a
// message on stderr and exit status 1; --help prints to stdout, status 0.
//
//===----------------------------------------------------------------------===//
#include "frontend/Frontend.h"
#include "gradc/Version.h"
#include "ir/IRParser.h"
#include "ir/Printer.h"
#include "passes/PassManager.h"

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>

using namespace gradc;

namespace {

struct Command {
  std::string_view Name;
  std::string_view Usage;
  std::string_view Help;
  int (*Run)(std::vector<std::string> &Args);
};

[[noreturn]] void fatal(const std::string &Msg) {
  std::cerr << "gradc: error: " << Msg << '\n';
  std::exit(1);
}

/// Reads a whole file ("-" is standard input).
std::string readInput(const std::string &Path) {
  std::ostringstream SS;
  if (Path == "-") {
    SS << std::cin.rdbuf();
    return SS.str();
  }
  std::ifstream In(Path, std::ios::binary);
  if (!In)
    fatal(fmt::format("cannot read '{}': {}", Path, std::strerror(errno)));
  SS << In.rdbuf();
  if (In.bad())
    fatal(fmt::format("cannot read '{}': {}", Path, std::strerror(errno)));
  return SS.str();
}

/// A small option scanner: `--name value`, `--name=value`, `-D N=V`, `-DN=V`.
class Options {
public:
  Options(std::vector<std::string> &Args, std::string_view Cmd)
      : Args(Args), Cmd(Cmd) {}

  bool done() const { return I >= Args.size(); }
  const std::string &peek() const { return Args[I]; }
  bool isOption() const { return Args[I].size() > 1 && Args[I][0] == '-'; }
  std::string take() { return Args[I++]; }

  /// If the current argument is option \p Name, consumes it (and its value)
  /// and returns true.
  bool flag(std::string_view Name) {
    if (Args[I] != Name)
      return false;
    ++I;
    return true;
  }
  bool value(std::string_view Name, std::string &Out) {
    const std::string &A = Args[I];
    if (A == Name) {
      if (I + 1 >= Args.size())
        fatal(fmt::format("{}: option '{}' needs a value", Cmd, Name));
      Out = Args[I + 1];
      I += 2;
      return true;
    }
    if (A.size() > Name.size() && A.compare(0, Name.size(), Name) == 0 &&
        (A[Name.size()] == '=' || Name == "-D")) {
      Out = A.substr(Name.size() + (Name == "-D" ? 0 : 1));
      ++I;
      return true;
    }
    return false;
  }
  [[noreturn]] void unknown() {
    fatal(fmt::format("{}: unknown option '{}' (see 'gradc {} --help')", Cmd,
                      Args[I], Cmd));
  }

private:
  std::vector<std::string> &Args;
  std::string_view Cmd;
  size_t I = 0;
};

Define parseDefine(const std::string &S) {
  size_t Eq = S.find('=');
  if (Eq == std::string::npos || Eq == 0)
    fatal(fmt::format("-D {}: expected NAME=VALUE", S));
  return {S.substr(0, Eq), S.substr(Eq + 1)};
}

struct ModelArgs {
  std::string Path;
  std::vector<Define> Defines;
};

/// Handles the options every model command takes; false if not one of them.
bool modelOption(Options &O, ModelArgs &A) {
  std::string V;
  if (O.value("-D", V)) {
    A.Defines.push_back(parseDefine(V));
    return true;
  }
  if (!O.isOption()) {
    if (!A.Path.empty())
      fatal(fmt::format("unexpected argument '{}'", O.peek()));
    A.Path = O.take();
    return true;
  }
  return false;
}

/// Parses and checks a model; exits with status 1 on errors.
std::unique_ptr<ir::Module> loadOrExit(const ModelArgs &A, std::string_view Cmd) {
  if (A.Path.empty())
    fatal(fmt::format("{}: no model file given", Cmd));
  SourceFile Src(A.Path == "-" ? "<stdin>" : A.Path, readInput(A.Path));
  DiagnosticEngine Diags(std::cerr);
  Diags.setSource(&Src);
  std::unique_ptr<ir::Module> M = loadModel(Src, A.Defines, Diags);
  if (!M)
    std::exit(1);
  return M;
}

bool passOption(Options &O, passes::Instrumentation &I) {
  std::string V;
  if (O.flag("--print-after-all"))
    I.PrintAfterAll = true;
  else if (O.value("--print-after", V))
    I.PrintAfter.insert(V);
  else if (O.value("--print-before", V))
    I.PrintBefore.insert(V);
  else if (O.flag("--verify-each"))
    I.VerifyEach = true;
  else if (O.flag("--time-passes"))
    I.TimePasses = true;
  else
    return false;
  return true;
}

int runCheck(std::vector<std::string> &Args) {
  Options O(Args, "check");
  ModelArgs A;
  while (!O.done())
    if (!modelOption(O, A))
      O.unknown();
  loadOrExit(A, "check");
  return 0;
}

constexpr std::string_view Stages[] = {"parsed", "grad", "optimized", "llvm",
                                       "asm"};
constexpr std::string_view BuiltStages[] = {"parsed"};

int runDump(std::vector<std::string> &Args) {
  Options O(Args, "dump");
  ModelArgs A;
  std::string Stage = "parsed";
  passes::Instrumentation Inst;
  while (!O.done())
    if (!O.value("--stage", Stage) && !passOption(O, Inst) && !modelOption(O, A))
      O.unknown();
  if (std::find(std::begin(Stages), std::end(Stages), Stage) == std::end(Stages))
    fatal(fmt::format("dump: unknown stage '{}' (stages: {})", Stage,
                      fmt::join(Stages, ", ")));
  if (std::find(std::begin(BuiltStages), std::end(BuiltStages), Stage) ==
      std::end(BuiltStages))
    fatal(fmt::format("dump: stage '{}' is not available in this version of "
                      "gradc (available: {})",
                      Stage, fmt::join(BuiltStages, ", ")));
  std::unique_ptr<ir::Module> M = loadOrExit(A, "dump");
  ir::printModule(*M, std::cout);
  return 0;
}

int runOpt(std::vector<std::string> &Args) {
  Options O(Args, "opt");
  std::string Path, List;
  passes::Instrumentation Inst;
  while (!O.done()) {
    if (O.value("--passes", List) || passOption(O, Inst))
      continue;
    if (O.isOption() && O.peek() != "-")
      O.unknown();
    if (!Path.empty())
      fatal(fmt::format("opt: unexpected argument '{}'", O.peek()));
    Path = O.take();
  }
  if (Path.empty())
    fatal("opt: no IR file given (use - for standard input)");
  passes::PassManager PM(Inst, std::cerr);
  std::string Err;
  if (!PM.parsePipeline(List, Err))
    fatal("opt: " + Err);
  SourceFile Src(Path == "-" ? "<stdin>" : Path, readInput(Path));
  DiagnosticEngine Diags(std::cerr);
  Diags.setSource(&Src);
  std::unique_ptr<ir::Module> M = ir::parseModule(Src, Diags);
  if (!M)
    return 1;
  if (!PM.run(*M))
    return 1;
  ir::printModule(*M, std::cout);
  return 0;
}

int notYet(std::vector<std::string> &) { return -1; }

const Command Commands[] = {
    {"check", "check MODEL [-D NAME=VALUE]...",
     "Parse and verify a model file; prints diagnostics only.", runCheck},
    {"dump", "dump MODEL [--stage STAGE] [--print-after-all] [-D NAME=VALUE]...",
     "Print the model's IR at a stage (default: parsed) as re-parseable text.\n"
     "Stages: parsed, grad, optimized, llvm, asm (this version builds: parsed).\n"
     "Pass instrumentation: --print-after-all, --print-after=NAME,\n"
     "--print-before=NAME, --verify-each, --time-passes (on stderr).",
     runDump},
    {"opt", "opt FILE.ir|- [--passes P1,P2,...] [instrumentation]",
     "Parse textual IR, run the named passes in order and print the result.\n"
     "Instrumentation (on stderr): --print-after-all, --print-after=NAME,\n"
     "--print-before=NAME, --verify-each, --time-passes.",
     runOpt},
    {"train", "train MODEL --data NAME=PATH... [options]",
     "Train a model (not available in this version).", notYet},
    {"eval", "eval MODEL --load CKPT --data NAME=PATH...",
     "Evaluate a checkpoint (not available in this version).", notYet},
    {"predict", "predict MODEL --load CKPT --data NAME=PATH... --out FILE",
     "Run predict (not available in this version).", notYet},
    {"compile", "compile MODEL -o OUT.o [--header OUT.h] [--emit obj|asm|llvm]",
     "Compile ahead of time (not available in this version).", notYet},
    {"bench", "bench MODEL [--steps N]",
     "Benchmark a model (not available in this version).", notYet},
};

void printUsage(std::ostream &OS) {
  OS << "gradc " GRADC_VERSION " - a compiler for neural-network training\n\n"
     << "usage:\n";
  for (const Command &C : Commands)
    OS << "  gradc " << C.Usage << '\n';
  OS << "\n'gradc COMMAND --help' describes a command; 'gradc --version' prints "
        "the version.\n";
  OS << "\npasses (for 'gradc opt --passes'):\n";
  for (const passes::PassInfo &P : passes::allPasses())
    OS << fmt::format("  {:<12}{}\n", P.Name, P.Description);
}

} // namespace

int main(int Argc, char **Argv) {
  std::vector<std::string> Args(Argv + 1, Argv + Argc);
  if (Args.empty()) {
    printUsage(std::cerr);
    return 1;
  }
  std::string Cmd = Args[0];
  if (Cmd == "--help" || Cmd == "-h" || Cmd == "help") {
    printUsage(std::cout);
    return 0;
  }
  if (Cmd == "--version") {
    std::cout << "gradc " GRADC_VERSION "\n";
    return 0;
  }
  for (const Command &C : Commands) {
    if (C.Name != Cmd)
      continue;
    Args.erase(Args.begin());
    for (const std::string &A : Args)
      if (A == "--help" || A == "-h") {
        std::cout << "usage: gradc " << C.Usage << "\n\n" << C.Help << '\n';
        return 0;
      }
    int Status = C.Run(Args);
    if (Status < 0)
      fatal(fmt::format("'{}' is not available in this version of gradc", Cmd));
    return Status;
  }
  fatal(fmt::format("unknown command '{}' (see 'gradc --help')", Cmd));
}
