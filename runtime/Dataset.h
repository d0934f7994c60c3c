//===- runtime/Dataset.h - Data bound to a model's inputs -------*- C++ -*-===//
//
// `--data NAME=PATH` binds a data file to input NAME. A Dataset loads and
// checks the files of one run against an Executable's inputs (every input
// the run's entry points read needs a file; unknown names, an input given
// twice, files that do not fit the input or hold different numbers of
// examples are errors) and assembles batches from them.
//
// Whole-dataset runs (eval, predict) cover every example: full batches in
// file order, then each leftover example alone in a batch filled with
// copies of it. Eval figures are combined weighting each batch by the
// examples it stands for (B for a full batch, 1 for a leftover), which is
// exact for per-example means: every built-in loss and `accuracy` are. A
// metric that is not a per-example mean (a max, say) is then the mean over
// batches of the batch's value.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Data.h"
#include "runtime/Executable.h"

#include <optional>

namespace gradc::runtime {

/// One `--data NAME=PATH`.
struct DataSpec {
  std::string Input;
  std::string Path;
};

/// Parses "NAME=PATH"; \p Option ("--data") is named in the error.
bool parseDataSpec(std::string_view Arg, std::string_view Option, DataSpec &Out,
                   std::string &Err);

class Dataset {
public:
  /// Loads \p Specs for \p X: every input that one of \p Entries reads must
  /// have a file. \p Option ("--data", "--eval-data") is named in errors.
  bool bind(const Executable &X, std::span<const Entry> Entries,
            std::span<const DataSpec> Specs, std::string_view Option,
            std::string &Err);

  /// The examples of every file (the batch size when no file is bound: a
  /// model without inputs has one batch).
  int64_t numExamples() const { return Examples; }
  int64_t batchSize() const { return Batch; }

  /// Fills the batch with examples \p Rows (batchSize() of them).
  void gather(std::span<const int64_t> Rows);
  /// One pointer per input of the executable, for its entry points.
  std::span<const void *const> batch() const { return Pointers; }

private:
  std::vector<std::optional<DataArray>> Arrays; // per input
  std::vector<ir::TensorType> Types;            // per input
  std::vector<std::vector<uint8_t>> Buffers;    // per input
  std::vector<const void *> Pointers;           // per input, null if unbound
  int64_t Examples = 0;
  int64_t Batch = 1;
};

/// The mean loss and metrics over a whole dataset.
struct EvalFigures {
  bool HasLoss = false;
  double Loss = 0;
  std::vector<std::pair<std::string, double>> Metrics;
  int64_t Examples = 0;
};

/// Runs @eval over every example of \p D.
bool evaluateAll(Executable &X, Dataset &D, EvalFigures &Out, std::string &Err);

/// Runs @predict over every example of \p D; each output comes back with
/// numExamples() rows. Every output must have the batch axis.
bool predictAll(Executable &X, Dataset &D, std::vector<HostTensor> &Out,
                std::string &Err);

/// After \p E failed on the batch \p Rows of \p D with \p Err, finds the
/// first example that fails alone (in a batch of copies, through @eval or
/// @predict, which leave the state alone) and returns Err naming it:
/// "... (input 'ids'; data example 17)", examples counting from 0 in file
/// order. \p Err unchanged when none does.
std::string locateFailure(Executable &X, Dataset &D, Entry E,
                          std::span<const int64_t> Rows, std::string Err);

/// "loss 0.0123, acc 0.98 (10000 examples)".
std::string formatEvalFigures(const EvalFigures &F);

} // namespace gradc::runtime
