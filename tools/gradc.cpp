//===- tools/gradc.cpp - The gradc command line
//-----------------------------===//
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
#include "runtime/Bench.h"
#include "runtime/Commands.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <unistd.h>

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

/// The contents of \p Path, or "" when it cannot be read.
std::string readIfPresent(const std::string &Path) {
  std::ifstream In(Path, std::ios::binary);
  std::ostringstream SS;
  if (In)
    SS << In.rdbuf();
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

/// The model file's text; exits with status 1 when there is none.
SourceFile readModel(const ModelArgs &A, std::string_view Cmd) {
  if (A.Path.empty())
    fatal(fmt::format("{}: no model file given", Cmd));
  return SourceFile(A.Path == "-" ? "<stdin>" : A.Path, readInput(A.Path));
}

/// Parses and checks a model; exits with status 1 on errors.
std::unique_ptr<ir::Module> loadOrExit(const ModelArgs &A,
                                       std::string_view Cmd) {
  SourceFile Src = readModel(A, Cmd);
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

int runDump(std::vector<std::string> &Args) {
  Options O(Args, "dump");
  ModelArgs A;
  std::string StageName = "parsed";
  runtime::CompileOptions CO;
  while (!O.done())
    if (!O.value("--stage", StageName) && !passOption(O, CO.Instrumentation) &&
        !modelOption(O, A))
      O.unknown();
  const auto &Stages = runtime::StageNames;
  if (std::find(std::begin(Stages), std::end(Stages), StageName) ==
      std::end(Stages))
    fatal(fmt::format("dump: unknown stage '{}' (stages: {})", StageName,
                      fmt::join(Stages, ", ")));
  std::optional<runtime::Stage> Stage = runtime::parseStage(StageName);
  if (!Stage)
    fatal(fmt::format("dump: stage '{}' is not available in this version of "
                      "gradc (available: {})",
                      StageName, runtime::builtStageNames()));
  SourceFile Src = readModel(A, "dump");
  DiagnosticEngine Diags(std::cerr);
  Diags.setSource(&Src);
  CO.Defines = A.Defines;
  std::unique_ptr<ir::Module> M =
      runtime::buildModule(Src, CO, *Stage, Diags, std::cerr);
  if (!M)
    return 1;
  if (*Stage == runtime::Stage::Llvm || *Stage == runtime::Stage::Asm) {
    std::string Err;
    if (!runtime::printMachineStage(*M, *Stage, std::cout, Err))
      fatal("dump: " + Err);
    return 0;
  }
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
  DiagnosticEngine Diags(std::cerr);
  passes::PassManager PM(Inst, std::cerr, Diags);
  std::string Err;
  if (!PM.parsePipeline(List, Err))
    fatal("opt: " + Err);
  SourceFile Src(Path == "-" ? "<stdin>" : Path, readInput(Path));
  Diags.setSource(&Src);
  std::unique_ptr<ir::Module> M = ir::parseModule(Src, Diags);
  if (!M)
    return 1;
  // Passes report errors at the model's source locations: show that file's
  // lines when it is at hand, else just its name.
  SourceFile ModelSrc(M->SourceName, readIfPresent(M->SourceName));
  Diags.setSource(&ModelSrc);
  if (!PM.run(*M))
    return 1;
  ir::printModule(*M, std::cout);
  return 0;
}

/// An integer option value >= \p Min.
int64_t parseInt(std::string_view Cmd, std::string_view Opt,
                 const std::string &V, int64_t Min) {
  int64_t N = 0;
  auto [P, Ec] = std::from_chars(V.data(), V.data() + V.size(), N);
  if (Ec != std::errc() || P != V.data() + V.size() || N < Min)
    fatal(fmt::format("{}: {}: expected an integer >= {}, got '{}'", Cmd, Opt,
                      Min, V));
  return N;
}

uint64_t parseSeed(std::string_view Cmd, const std::string &V) {
  uint64_t N = 0;
  auto [P, Ec] = std::from_chars(V.data(), V.data() + V.size(), N);
  if (V.empty() || Ec != std::errc() || P != V.data() + V.size())
    fatal(fmt::format("{}: --seed: expected an integer in [0, 2^64), got '{}'",
                      Cmd, V));
  return N;
}

/// The state of every model command that runs the model.
struct RunArgs {
  ModelArgs Model;
  runtime::CommonOptions Common;
  std::vector<runtime::DataSpec> Data;
};

/// Handles the options common to train, eval and predict; false if not one.
bool runOption(Options &O, std::string_view Cmd, RunArgs &R) {
  std::string V;
  if (O.value("--data", V)) {
    runtime::DataSpec D;
    std::string Err;
    if (!runtime::parseDataSpec(V, "--data", D, Err))
      fatal(fmt::format("{}: {}", Cmd, Err));
    R.Data.push_back(std::move(D));
  } else if (O.value("--threads", V)) {
    R.Common.Compile.Threads =
        static_cast<unsigned>(parseInt(Cmd, "--threads", V, 1));
  } else if (O.value("--seed", V)) {
    R.Common.Seed = parseSeed(Cmd, V);
  } else if (O.value("--backend", V)) {
    R.Common.Compile.Backend = V;
  } else if (O.flag("--json")) {
    R.Common.Json = true;
  } else {
    return modelOption(O, R.Model);
  }
  return true;
}

/// Reads the model and finishes the common options.
SourceFile finish(RunArgs &R, std::string_view Cmd) {
  R.Common.Compile.Defines = R.Model.Defines;
  return readModel(R.Model, Cmd);
}

int runTrain(std::vector<std::string> &Args) {
  Options O(Args, "train");
  RunArgs R;
  runtime::TrainCommand C;
  std::string V;
  while (!O.done()) {
    if (O.value("--eval-data", V)) {
      runtime::DataSpec D;
      std::string Err;
      if (!runtime::parseDataSpec(V, "--eval-data", D, Err))
        fatal("train: " + Err);
      C.EvalData.push_back(std::move(D));
    } else if (O.value("--epochs", V)) {
      C.Train.Epochs = parseInt("train", "--epochs", V, 1);
    } else if (O.value("--steps", V)) {
      C.Train.Steps = parseInt("train", "--steps", V, 1);
    } else if (O.value("--lr", V)) {
      double Lr = 0;
      auto [P, Ec] = std::from_chars(V.data(), V.data() + V.size(), Lr);
      if (Ec != std::errc() || P != V.data() + V.size() || !std::isfinite(Lr) ||
          Lr < 0)
        fatal(fmt::format(
            "train: --lr: expected a finite number >= 0, got '{}'", V));
      C.Train.Lr = Lr;
    } else if (O.value("--log-every", V)) {
      C.Train.LogEvery = parseInt("train", "--log-every", V, 1);
    } else if (O.flag("--no-shuffle")) {
      C.Train.Shuffle = false;
    } else if (!O.value("--init", C.InitPath) &&
               !O.value("--save", C.SavePath) && !runOption(O, "train", R)) {
      O.unknown();
    }
  }
  if (C.Train.Epochs && C.Train.Steps)
    fatal("train: give --epochs or --steps, not both");
  SourceFile Src = finish(R, "train");
  C.Common = R.Common;
  C.Data = R.Data;
  C.Train.Progress = ::isatty(STDERR_FILENO);
  return runtime::runTrain(Src, C, std::cout, std::cerr);
}

int runEval(std::vector<std::string> &Args) {
  Options O(Args, "eval");
  RunArgs R;
  runtime::EvalCommand C;
  while (!O.done())
    if (!O.value("--load", C.LoadPath) && !runOption(O, "eval", R))
      O.unknown();
  if (C.LoadPath.empty())
    fatal("eval: no checkpoint given (--load CKPT)");
  SourceFile Src = finish(R, "eval");
  C.Common = R.Common;
  C.Data = R.Data;
  return runtime::runEval(Src, C, std::cout, std::cerr);
}

int runPredict(std::vector<std::string> &Args) {
  Options O(Args, "predict");
  RunArgs R;
  runtime::PredictCommand C;
  while (!O.done())
    if (!O.value("--load", C.LoadPath) && !O.value("--out", C.OutPath) &&
        !runOption(O, "predict", R))
      O.unknown();
  if (C.LoadPath.empty())
    fatal("predict: no checkpoint given (--load CKPT)");
  if (C.OutPath.empty())
    fatal("predict: no output given (--out FILE.npy or --out DIR)");
  SourceFile Src = finish(R, "predict");
  C.Common = R.Common;
  C.Data = R.Data;
  return runtime::runPredict(Src, C, std::cout, std::cerr);
}

int runCompile(std::vector<std::string> &Args) {
  Options O(Args, "compile");
  ModelArgs A;
  runtime::CompileCommand C;
  std::string V;
  while (!O.done()) {
    if (O.value("--threads", V))
      C.Compile.Threads =
          static_cast<unsigned>(parseInt("compile", "--threads", V, 1));
    else if (!O.value("-o", C.OutPath) && !O.value("--header", C.HeaderPath) &&
             !O.value("--emit", C.Emit) && !O.value("--cpu", C.Cpu) &&
             !modelOption(O, A))
      O.unknown();
  }
  C.Compile.Defines = A.Defines;
  SourceFile Src = readModel(A, "compile");
  return runtime::runCompile(Src, C, std::cerr);
}

int runBench(std::vector<std::string> &Args) {
  Options O(Args, "bench");
  RunArgs R;
  runtime::BenchCommand C;
  std::string V;
  while (!O.done()) {
    if (O.value("--steps", V))
      C.Steps = parseInt("bench", "--steps", V, 1);
    else if (O.value("--warmup", V))
      C.Warmup = parseInt("bench", "--warmup", V, 0);
    else if (O.peek() == "--data" || O.peek().starts_with("--data=") ||
             !runOption(O, "bench", R)) // bench makes its own data
      O.unknown();
  }
  SourceFile Src = finish(R, "bench");
  C.Common = R.Common;
  return runtime::runBench(Src, C, std::cout, std::cerr);
}

const Command Commands[] = {
    {"check", "check MODEL [-D NAME=VALUE]...",
     "Parse and verify a model file; prints diagnostics only.", runCheck},
    {"dump",
     "dump MODEL [--stage STAGE] [--print-after-all] [-D NAME=VALUE]...",
     "Print the model's IR at a stage (default: parsed) as re-parseable text.\n"
     "Stages: parsed, grad, optimized (with fused regions), llvm, asm.\n"
     "llvm and asm print the JIT's optimized LLVM IR and\n"
     "host assembly. Pass instrumentation: --print-after-all,\n"
     "--print-after=NAME, --print-before=NAME, --verify-each, --time-passes\n"
     "(on stderr).",
     runDump},
    {"opt", "opt FILE.ir|- [--passes P1,P2,...] [instrumentation]",
     "Parse textual IR, run the named passes in order and print the result.\n"
     "Instrumentation (on stderr): --print-after-all, --print-after=NAME,\n"
     "--print-before=NAME, --verify-each, --time-passes.",
     runOpt},
    {"train", "train MODEL --data NAME=PATH... [options]",
     "Train a model: --data NAME=PATH for each input (repeat the option).\n"
     "  --epochs N | --steps N   how long (default: one epoch)\n"
     "  --eval-data NAME=PATH    evaluate on it after each epoch and at the "
     "end\n"
     "  --init CKPT              start from a checkpoint (resumes its step)\n"
     "  --save CKPT              write a checkpoint at the end\n"
     "  --lr X                   base learning rate (replaces the "
     "optimizer's)\n"
     "  --no-shuffle             batches in file order\n"
     "  --log-every N            log the loss every N steps (default 100)\n"
     "Common: -D NAME=VALUE, --seed S (default 0), --json, --threads N,\n"
     "--backend jit|interp (default jit).",
     runTrain},
    {"eval", "eval MODEL --load CKPT --data NAME=PATH... [--json]",
     "The mean loss and metrics of a checkpoint over all examples.\n"
     "Common: -D NAME=VALUE, --seed S, --json, --threads N,\n"
     "--backend jit|interp (default jit).",
     runEval},
    {"predict",
     "predict MODEL --load CKPT --data NAME=PATH... --out FILE.npy|DIR",
     "Run the model's outputs over all examples and write them as .npy: one\n"
     "output to FILE.npy, or each output to DIR/NAME.npy.\n"
     "Common: -D NAME=VALUE, --seed S, --json, --threads N,\n"
     "--backend jit|interp (default jit).",
     runPredict},
    {"compile",
     "compile MODEL -o OUT.o [--header OUT.h] [--emit obj|asm|llvm] [options]",
     "Compile a model ahead of time into a self-contained object that links\n"
     "into a C program with `cc prog.c OUT.o -lm` (docs/aot.md).\n"
     "  -o OUT                   the object (or assembly, or LLVM IR)\n"
     "  --header OUT.h           write the C header declaring its interface\n"
     "  --emit obj|asm|llvm      what to write to OUT (default obj)\n"
     "  --cpu NAME               the CPU to compile for (default: this host;\n"
     "                           x86-64-v3 for portable AVX2 code)\n"
     "  --threads N              worker threads of the compiled code (default 1)\n"
     "  -D NAME=VALUE            override a const",
     runCompile},
    {"bench", "bench MODEL [--steps N] [--warmup N] [options]",
     "Compile the model and time its training step (@eval, else @predict,\n"
     "without a train block) on synthetic data drawn from the seed; report\n"
     "compile_ms, step_ms (median; also min and mean), examples_per_second\n"
     "and peak_bytes (state + scratch + inputs + results of the step).\n"
     "  --steps N    timed steps (default 100)\n"
     "  --warmup N   untimed steps before them (default 10)\n"
     "Common: -D NAME=VALUE, --seed S (default 0), --json, --threads N,\n"
     "--backend jit|interp (default jit).",
     runBench},
};

void printUsage(std::ostream &OS) {
  OS << "gradc " GRADC_VERSION " - a compiler for neural-network training\n\n"
     << "usage:\n";
  for (const Command &C : Commands)
    OS << "  gradc " << C.Usage << '\n';
  OS << "\n'gradc COMMAND --help' describes a command; 'gradc --version' "
        "prints "
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
    return C.Run(Args);
  }
  fatal(fmt::format("unknown command '{}' (see 'gradc --help')", Cmd));
}
