//===- runtime/Commands.h - gradc train, eval and predict -------*- C++ -*-===//
//
// What `gradc train`, `gradc eval` and `gradc predict` do once their options
// are parsed (tools/gradc.cpp only parses): compile the model, bind the data,
// initialize or load the state, run, save, and report — human text on
// stderr, and with --json exactly one JSON object on stdout. Each returns
// the exit status: 0 on success, 1 on any user error (after a
// `gradc: error: ...` line on stderr).
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Compile.h"
#include "runtime/Dataset.h"
#include "runtime/Trainer.h"

#include <ostream>

namespace gradc::runtime {

/// The options every model command takes.
struct CommonOptions {
  CompileOptions Compile;
  uint64_t Seed = 0;
  bool Json = false;
};

struct TrainCommand {
  CommonOptions Common;
  std::vector<DataSpec> Data;
  std::vector<DataSpec> EvalData;
  TrainOptions Train; // its Seed is Common.Seed
  std::string InitPath;
  std::string SavePath;
};

struct EvalCommand {
  CommonOptions Common;
  std::vector<DataSpec> Data;
  std::string LoadPath;
};

struct PredictCommand {
  CommonOptions Common;
  std::vector<DataSpec> Data;
  std::string LoadPath;
  /// FILE.npy (one output) or a directory (DIR/NAME.npy per output).
  std::string OutPath;
};

/// `gradc compile`: an ahead-of-time object (docs/aot.md).
struct CompileCommand {
  CompileOptions Compile; // Threads 0 means 1 here
  std::string OutPath;
  std::string HeaderPath; // "" for none
  std::string Emit = "obj"; // obj, asm or llvm
  std::string Cpu;          // "" for the host
};

int runCompile(const SourceFile &Model, const CompileCommand &C,
               std::ostream &Log);

int runTrain(const SourceFile &Model, const TrainCommand &C, std::ostream &Out,
             std::ostream &Log);
int runEval(const SourceFile &Model, const EvalCommand &C, std::ostream &Out,
            std::ostream &Log);
int runPredict(const SourceFile &Model, const PredictCommand &C,
               std::ostream &Out, std::ostream &Log);

} // namespace gradc::runtime
