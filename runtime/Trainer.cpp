//===- runtime/Trainer.cpp - The training loop ----------------------------===//
//
// The loop of Trainer.h: batches, learning rate, logging, periodic
// evaluation, and a progress bar redrawn at most ten times a second.
//
//===----------------------------------------------------------------------===//
#include "runtime/Trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <fmt/format.h>

namespace gradc::runtime {

double learningRate(const ir::TrainConfig &Config, std::optional<double> BaseLr,
                    int64_t T) {
  double Lr = BaseLr ? *BaseLr : ir::getFloat(Config.Optimizer.Args, "lr");
  if (!Config.Schedule)
    return Lr;
  const ir::Call &S = *Config.Schedule;
  double Td = static_cast<double>(T);
  if (S.Name == "step") {
    int64_t Every = ir::getInt(S.Args, "every");
    double Periods = Every > 0 ? static_cast<double>(T / Every) : 0.0;
    return Lr * std::pow(ir::getFloat(S.Args, "gamma"), Periods);
  }
  if (S.Name == "exponential")
    return Lr * std::pow(ir::getFloat(S.Args, "gamma"), Td);
  if (S.Name == "cosine") {
    const double Pi = 3.141592653589793;
    double N = static_cast<double>(ir::getInt(S.Args, "steps"));
    double MinLr = ir::getFloat(S.Args, "min_lr");
    double Frac = N > 0 ? std::min(Td, N) / N : 1.0;
    return MinLr + (Lr - MinLr) * (1 + std::cos(Pi * Frac)) / 2;
  }
  return Lr;
}

namespace {

using Clock = std::chrono::steady_clock;

double secondsSince(Clock::time_point T) {
  return std::chrono::duration<double>(Clock::now() - T).count();
}

/// The progress line on a terminal; log lines are written above it.
class Progress {
public:
  Progress(std::ostream &Log, bool On, int64_t First, int64_t Last)
      : Log(Log), On(On), First(First), Last(Last) {}

  void line(const std::string &S) {
    if (On && Shown)
      Log << "\r\033[K";
    Log << S << '\n';
    Shown = false;
    Log.flush();
  }
  void update(int64_t T, double Loss, double ExamplesPerSecond) {
    if (!On || (Shown && secondsSince(LastDraw) < 0.1 && T != Last))
      return;
    const int Width = 30;
    double Frac = Last > First ? double(T - First) / double(Last - First) : 1.0;
    int Filled = static_cast<int>(Frac * Width);
    Log << fmt::format(
        "\r[{:<{}}] step {}/{}  loss {:.6g}  {:.0f} examples/s\033[K",
        std::string(static_cast<size_t>(Filled), '#'), Width, T, Last, Loss,
        ExamplesPerSecond);
    Log.flush();
    Shown = true;
    LastDraw = Clock::now();
  }
  void finish() {
    if (On && Shown)
      Log << "\r\033[K";
    Shown = false;
    Log.flush();
  }

private:
  std::ostream &Log;
  bool On;
  int64_t First, Last;
  bool Shown = false;
  Clock::time_point LastDraw;
};

} // namespace

bool train(Executable &X, Dataset &Data, Dataset *EvalData,
           const TrainOptions &Opts, TrainReport &Report, std::ostream &Log,
           std::string &Err) {
  const ir::Module &M = X.module();
  if (!M.Train || !X.hasEntry(Entry::TrainStep)) {
    Err = "the model has no train block, so it cannot be trained";
    return false;
  }
  const int64_t B = Data.batchSize(), N = Data.numExamples();
  const int64_t PerEpoch = N / B;
  if (PerEpoch == 0) {
    Err = fmt::format("the training data holds {} example{}, fewer than one "
                      "batch of {}; no full batch to train on",
                      N, N == 1 ? "" : "s", B);
    return false;
  }
  int64_t Steps = Opts.Steps ? *Opts.Steps : Opts.Epochs.value_or(1) * PerEpoch;
  Report = TrainReport();
  Report.FirstStep = X.step();
  const int64_t First = Report.FirstStep, Last = First + Steps;
  Progress Bar(Log, Opts.Progress, First, Last);

  auto Evaluate = [&](const std::string &When) {
    EvalFigures F;
    if (!evaluateAll(X, *EvalData, F, Err)) {
      Bar.finish();
      Err = "evaluation " + When + ": " + Err;
      return false;
    }
    Bar.line(fmt::format("eval {}: {}", When, formatEvalFigures(F)));
    Report.Eval = std::move(F);
    return true;
  };

  std::vector<std::vector<int64_t>> Batches;
  int64_t BatchesEpoch = -1;
  double Loss = 0;
  Clock::time_point Start = Clock::now();
  double EvalSeconds = 0;
  for (int64_t T = First; T < Last; ++T) {
    // T steps are complete; this one is step T + 1.
    int64_t Epoch = T / PerEpoch;
    if (Epoch != BatchesEpoch) {
      Batches = makeBatches(N, B, Opts.Shuffle,
                            mixSeed(Opts.Seed, static_cast<uint64_t>(Epoch)));
      BatchesEpoch = Epoch;
    }
    const std::vector<int64_t> &Rows =
        Batches[static_cast<size_t>(T % PerEpoch)];
    Data.gather(Rows);
    double Lr = learningRate(*M.Train, Opts.Lr, T);
    if (!X.trainStep(Data.batch(), Lr, Loss, Err)) {
      Bar.finish();
      Err = fmt::format(
          "step {}: {}", T + 1,
          locateFailure(X, Data, Entry::TrainStep, Rows, std::move(Err)));
      return false;
    }
    if (!std::isfinite(Loss)) {
      Bar.finish();
      Err = fmt::format("step {}: the loss is {}; training stopped (a smaller "
                        "learning rate may help)",
                        T + 1, Loss);
      return false;
    }
    const int64_t Done = T + 1;
    ++Report.Steps;
    Report.FinalLoss = Loss;
    double Elapsed = secondsSince(Start) - EvalSeconds;
    double Rate = Elapsed > 0 ? double(Report.Steps * B) / Elapsed : 0.0;
    if (Done % std::max<int64_t>(Opts.LogEvery, 1) == 0 || Done == Last) {
      Report.Losses.push_back({Done, Loss});
      Bar.line(fmt::format("step {}/{}: loss {:.6g}", Done, Last, Loss));
    }
    Bar.update(Done, Loss, Rate);
    if (EvalData && (Done % PerEpoch == 0 || Done == Last)) {
      Clock::time_point EvalStart = Clock::now();
      std::string When = Done % PerEpoch == 0
                             ? fmt::format("after epoch {}", Done / PerEpoch)
                             : fmt::format("after step {}", Done);
      if (!Evaluate(When))
        return false;
      EvalSeconds += secondsSince(EvalStart);
    }
  }
  Bar.finish();
  Report.Seconds = secondsSince(Start) - EvalSeconds;
  Report.Examples = Report.Steps * B;
  Report.ExamplesPerSecond =
      Report.Seconds > 0 ? double(Report.Examples) / Report.Seconds : 0.0;
  return true;
}

} // namespace gradc::runtime
