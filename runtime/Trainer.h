//===- runtime/Trainer.h - The training loop --------------------*- C++ -*-===//
//
// Trains an Executable on a Dataset (SPEC §2, §3):
//   - full batches of the training data, in a seeded shuffled order drawn
//     anew every epoch from (seed, epoch) (file order with Shuffle off); a
//     last partial batch is dropped;
//   - steps are counted globally: a run that starts from a checkpoint at
//     step t0 continues at epoch t0 / E, batch t0 % E (E = steps per epoch)
//     in the same order, so 2 steps, save, --init, 2 more steps is exactly 4
//     steps; `--epochs N` runs N * E steps, `--steps N` N steps (spanning
//     epochs as needed), and the default is one epoch;
//   - the learning rate of the step after t completed steps (the restored
//     ones included) is the base rate (`--lr`, else the optimizer's lr)
//     through the train block's schedule;
//   - the loss of step t (t counting from 1, globally) is logged when
//     t % LogEvery == 0 and for the last step;
//   - with eval data, every example of it is evaluated after each epoch
//     (whenever t % E == 0) and at the end;
//   - a non-finite loss stops training with an error naming the step.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Dataset.h"

#include <optional>
#include <ostream>

namespace gradc::runtime {

struct TrainOptions {
  std::optional<int64_t> Epochs;
  std::optional<int64_t> Steps;
  /// Replaces the optimizer's lr as the base learning rate.
  std::optional<double> Lr;
  /// Seeds the shuffled order (the executable is initialized separately).
  uint64_t Seed = 0;
  bool Shuffle = true;
  int64_t LogEvery = 100;
  /// Draw a progress bar on the log (when it is a terminal).
  bool Progress = false;
};

struct TrainReport {
  int64_t FirstStep = 0; // completed steps before this run
  int64_t Steps = 0;     // steps this run took
  int64_t Examples = 0;  // examples those steps trained on
  double Seconds = 0;    // wall time of the steps (eval excluded)
  double ExamplesPerSecond = 0;
  double FinalLoss = 0;
  /// (t, loss) for every logged step, t counting globally from 1.
  std::vector<std::pair<int64_t, double>> Losses;
  /// The figures of the final evaluation, with eval data.
  std::optional<EvalFigures> Eval;
};

/// The learning rate of the step taken after \p T completed steps.
double learningRate(const ir::TrainConfig &Config, std::optional<double> BaseLr,
                    int64_t T);

/// Trains \p X on \p Data, evaluating on \p EvalData (may be null). Human
/// text (logged losses, eval figures, the progress bar) goes to \p Log.
bool train(Executable &X, Dataset &Data, Dataset *EvalData,
           const TrainOptions &Opts, TrainReport &Report, std::ostream &Log,
           std::string &Err);

} // namespace gradc::runtime
