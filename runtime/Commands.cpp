//===- runtime/Commands.cpp - gradc train, eval and predict ---------------===//
//
// Each command is a straight line: compile, bind data, set up the state,
// run, write results. The JSON objects are built with JsonObject
// (runtime/Json.h); non-finite numbers become null.
//
//===----------------------------------------------------------------------===//
#include "runtime/Commands.h"

#include "runtime/Json.h"
#include "runtime/StateIO.h"

#include <cmath>
#include <filesystem>
#include <fmt/format.h>

namespace gradc::runtime {

namespace {

namespace fs = std::filesystem;

int fail(std::ostream &Log, std::string_view Msg) {
  Log << "gradc: error: " << Msg << '\n';
  return 1;
}

std::string evalJson(const EvalFigures &F) {
  JsonObject O;
  if (F.HasLoss)
    O.num("loss", F.Loss);
  for (const auto &[Name, V] : F.Metrics)
    O.num(Name, V);
  O.integer("examples", F.Examples);
  return O.done();
}

/// Compiles \p Model; null after reporting an error.
std::unique_ptr<Executable> compile(const SourceFile &Model,
                                    const CommonOptions &C, std::ostream &Log) {
  std::string Err;
  if (!checkBackend(C.Compile.Backend, Err)) {
    fail(Log, Err);
    return nullptr;
  }
  DiagnosticEngine Diags(Log);
  Diags.setSource(&Model);
  return compileModel(Model, C.Compile, Diags, Log);
}

/// Initializes \p X from the seed and loads \p Path (if any) over it.
bool setUpState(Executable &X, const CommonOptions &C, const std::string &Path,
                LoadMode Mode, std::ostream &Log, std::string &Err) {
  X.initialize(C.Seed);
  if (Path.empty())
    return true;
  std::vector<std::string> Warnings;
  bool Ok = loadState(X, Path, Mode, Warnings, Err);
  for (const std::string &W : Warnings)
    Log << "gradc: warning: " << W << '\n';
  return Ok;
}

/// Fails early when \p Path cannot be written to at all (its directory is
/// missing or it names a directory), so a long run is not wasted.
bool checkWritable(const std::string &Path, std::string_view Option,
                   std::string &Err) {
  std::error_code Ec;
  fs::path P(Path);
  fs::path Dir = P.has_parent_path() ? P.parent_path() : fs::path(".");
  if (!fs::is_directory(Dir, Ec)) {
    Err = fmt::format("{} {}: the directory '{}' does not exist", Option, Path,
                      Dir.string());
    return false;
  }
  if (fs::is_directory(P, Ec)) {
    Err = fmt::format("{} {}: is a directory", Option, Path);
    return false;
  }
  return true;
}

} // namespace

int runTrain(const SourceFile &Model, const TrainCommand &C, std::ostream &Out,
             std::ostream &Log) {
  std::unique_ptr<Executable> X = compile(Model, C.Common, Log);
  if (!X)
    return 1;
  if (!X->hasEntry(Entry::TrainStep))
    return fail(Log, fmt::format("{}: the model has no train block, so it "
                                 "cannot be trained",
                                 Model.name()));
  std::string Err;
  if (!C.SavePath.empty() && !checkWritable(C.SavePath, "--save", Err))
    return fail(Log, Err);
  Dataset Data, EvalData;
  const Entry TrainEntries[] = {Entry::TrainStep, Entry::Eval};
  const Entry EvalEntries[] = {Entry::Eval};
  if (!Data.bind(*X, TrainEntries, C.Data, "--data", Err))
    return fail(Log, Err);
  if (!C.EvalData.empty() &&
      !EvalData.bind(*X, EvalEntries, C.EvalData, "--eval-data", Err))
    return fail(Log, Err);
  if (!setUpState(*X, C.Common, C.InitPath, LoadMode::Init, Log, Err))
    return fail(Log, Err);

  TrainOptions Opts = C.Train;
  Opts.Seed = C.Common.Seed;
  TrainReport R;
  if (!train(*X, Data, C.EvalData.empty() ? nullptr : &EvalData, Opts, R, Log,
             Err))
    return fail(Log, Err);
  Log << fmt::format("trained {} step{} ({} examples) in {:.3f} s, {:.0f} "
                     "examples/s; final loss {:.6g}\n",
                     R.Steps, R.Steps == 1 ? "" : "s", R.Examples, R.Seconds,
                     R.ExamplesPerSecond, R.FinalLoss);
  if (!C.SavePath.empty()) {
    if (!saveState(*X, C.SavePath, Err))
      return fail(Log, Err);
    Log << fmt::format("saved {} (step {})\n", C.SavePath, X->step());
  }
  if (C.Common.Json) {
    std::string Losses = "[";
    for (size_t I = 0; I < R.Losses.size(); ++I) {
      double L = R.Losses[I].second;
      Losses += fmt::format("{}[{}, {}]", I ? ", " : "", R.Losses[I].first,
                            std::isfinite(L) ? fmt::format("{}", L) : "null");
    }
    Losses += "]";
    JsonObject O;
    O.integer("steps", R.Steps)
        .integer("total_steps", X->step())
        .integer("examples", R.Examples)
        .num("seconds", R.Seconds)
        .num("examples_per_second", R.ExamplesPerSecond)
        .num("final_loss", R.FinalLoss)
        .raw("losses", Losses);
    if (R.Eval)
      O.raw("eval", evalJson(*R.Eval));
    Out << O.done() << '\n';
  }
  return 0;
}

int runEval(const SourceFile &Model, const EvalCommand &C, std::ostream &Out,
            std::ostream &Log) {
  std::unique_ptr<Executable> X = compile(Model, C.Common, Log);
  if (!X)
    return 1;
  std::string Err;
  Dataset Data;
  const Entry Entries[] = {Entry::Eval};
  if (!Data.bind(*X, Entries, C.Data, "--data", Err) ||
      !setUpState(*X, C.Common, C.LoadPath, LoadMode::Load, Log, Err))
    return fail(Log, Err);
  EvalFigures F;
  if (!evaluateAll(*X, Data, F, Err))
    return fail(Log, Err);
  if (C.Common.Json) {
    Out << evalJson(F) << '\n';
    return 0;
  }
  if (F.HasLoss)
    Out << fmt::format("loss {:.6g}\n", F.Loss);
  for (const auto &[Name, V] : F.Metrics)
    Out << fmt::format("{} {:.6g}\n", Name, V);
  Out << fmt::format("examples {}\n", F.Examples);
  return 0;
}

int runPredict(const SourceFile &Model, const PredictCommand &C,
               std::ostream &Out, std::ostream &Log) {
  std::unique_ptr<Executable> X = compile(Model, C.Common, Log);
  if (!X)
    return 1;
  std::span<const TensorInfo> Outputs = X->outputs();
  if (Outputs.empty())
    return fail(Log, fmt::format("{}: the model has no outputs to predict "
                                 "(declare one with 'output NAME')",
                                 Model.name()));
  // Where each output goes: FILE.npy for a single output, else DIR/NAME.npy.
  std::string Err;
  std::vector<std::string> Paths;
  bool ToFile = fs::path(C.OutPath).extension() == ".npy";
  if (ToFile && Outputs.size() > 1) {
    std::vector<std::string_view> Names;
    for (const TensorInfo &O : Outputs)
      Names.push_back(O.Name);
    return fail(Log,
                fmt::format("--out {}: the model has {} outputs ({}); "
                            "give a directory to write NAME.npy for each",
                            C.OutPath, Outputs.size(), fmt::join(Names, ", ")));
  }
  if (ToFile) {
    if (!checkWritable(C.OutPath, "--out", Err))
      return fail(Log, Err);
    Paths.push_back(C.OutPath);
  } else {
    std::error_code Ec;
    if (fs::exists(C.OutPath, Ec) && !fs::is_directory(C.OutPath, Ec))
      return fail(Log, fmt::format("--out {}: exists and is not a directory "
                                   "(name a FILE.npy or a directory)",
                                   C.OutPath));
    for (const TensorInfo &O : Outputs)
      Paths.push_back((fs::path(C.OutPath) / (O.Name + ".npy")).string());
  }

  Dataset Data;
  const Entry Entries[] = {Entry::Predict};
  if (!Data.bind(*X, Entries, C.Data, "--data", Err) ||
      !setUpState(*X, C.Common, C.LoadPath, LoadMode::Load, Log, Err))
    return fail(Log, Err);
  std::vector<HostTensor> Results;
  if (!predictAll(*X, Data, Results, Err))
    return fail(Log, Err);
  if (!ToFile) {
    std::error_code Ec;
    fs::create_directories(C.OutPath, Ec);
    if (Ec)
      return fail(Log, fmt::format("--out {}: cannot create the directory: {}",
                                   C.OutPath, Ec.message()));
  }
  JsonObject Files;
  for (size_t I = 0; I < Results.size(); ++I) {
    if (!writeNpy(Paths[I], Results[I].Type.Elt, Results[I].Type.Dims,
                  Results[I].Bytes.data(), Err))
      return fail(Log, Err);
    Log << fmt::format("wrote {} ({}) to {}\n", Outputs[I].Name,
                       ir::formatType(Results[I].Type), Paths[I]);
    Files.str(Outputs[I].Name, Paths[I]);
  }
  if (C.Common.Json)
    Out << JsonObject()
               .integer("examples", Data.numExamples())
               .raw("outputs", Files.done())
               .done()
        << '\n';
  return 0;
}

} // namespace gradc::runtime
