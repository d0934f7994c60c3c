//===- runtime/Dataset.cpp - Data files bound to a model's inputs ---------===//
//
// Binding and checking data files, gathering batches, and the runs over a
// whole dataset that eval and predict make (see Dataset.h for how the last
// partial batch is handled).
//
//===----------------------------------------------------------------------===//
#include "runtime/Dataset.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <cstring>
#include <fmt/format.h>

namespace gradc::runtime {

bool parseDataSpec(std::string_view Arg, std::string_view Option, DataSpec &Out,
                   std::string &Err) {
  size_t Eq = Arg.find('=');
  if (Eq == std::string_view::npos || Eq == 0 || Eq + 1 == Arg.size()) {
    Err = fmt::format("{} {}: expected NAME=PATH", Option, Arg);
    return false;
  }
  Out.Input = std::string(Arg.substr(0, Eq));
  Out.Path = std::string(Arg.substr(Eq + 1));
  return true;
}

static std::string inputList(const Executable &X) {
  std::vector<std::string_view> Names;
  for (const TensorInfo &I : X.inputs())
    Names.push_back(I.Name);
  return Names.empty() ? std::string("none")
                       : fmt::format("{}", fmt::join(Names, ", "));
}

bool Dataset::bind(const Executable &X, std::span<const Entry> Entries,
                   std::span<const DataSpec> Specs, std::string_view Option,
                   std::string &Err) {
  const size_t N = X.inputs().size();
  if (X.batchSize() == 0) {
    Err = X.batchError();
    return false;
  }
  Batch = X.batchSize();
  Arrays.assign(N, std::nullopt);
  Types.clear();
  for (const TensorInfo &I : X.inputs())
    Types.push_back(I.Type);

  for (const DataSpec &S : Specs) {
    size_t I = 0;
    while (I < N && X.inputs()[I].Name != S.Input)
      ++I;
    if (I == N) {
      Err = fmt::format("{} {}={}: the model has no input '{}' (inputs: {})",
                        Option, S.Input, S.Path, S.Input, inputList(X));
      return false;
    }
    if (Arrays[I]) {
      Err = fmt::format("{}: input '{}' is given twice ({} and {})", Option,
                        S.Input, Arrays[I]->Path, S.Path);
      return false;
    }
    DataArray A;
    if (!loadData(S.Path, A, Err))
      return false;
    const ir::TensorType &T = X.inputs()[I].Type;
    ir::Shape Row(T.Dims.begin() + 1, T.Dims.end());
    if (!checkFeeds(A, T.Elt, Row, Err, S.Input))
      return false;
    Arrays[I] = std::move(A);
  }

  std::vector<std::string_view> Missing;
  for (size_t I = 0; I < N; ++I) {
    bool Needed = false;
    for (Entry E : Entries)
      Needed |= X.hasEntry(E) && X.readsInput(E, I);
    if (Needed && !Arrays[I])
      Missing.push_back(X.inputs()[I].Name);
  }
  if (!Missing.empty()) {
    Err = fmt::format("no data for input{} '{}' (give {} NAME=PATH for each "
                      "input)",
                      Missing.size() > 1 ? "s" : "", fmt::join(Missing, "', '"),
                      Option);
    return false;
  }

  std::vector<const DataArray *> Bound;
  for (const auto &A : Arrays)
    if (A)
      Bound.push_back(&*A);
  if (!checkSameExamples(Bound, Err))
    return false;
  Examples = Bound.empty() ? Batch : Bound.front()->numExamples();

  Buffers.assign(N, {});
  Pointers.assign(N, nullptr);
  for (size_t I = 0; I < N; ++I)
    if (Arrays[I]) {
      Buffers[I].resize(static_cast<size_t>(Types[I].numElements()) *
                        ir::dtypeSize(Types[I].Elt));
      Pointers[I] = Buffers[I].data();
    }
  return true;
}

void Dataset::gather(std::span<const int64_t> Rows) {
  assert(static_cast<int64_t>(Rows.size()) == Batch && "a batch is B rows");
  for (size_t I = 0; I < Arrays.size(); ++I)
    if (Arrays[I])
      gatherRows(*Arrays[I], Rows, Types[I].Elt, Buffers[I].data());
}

namespace {

/// One batch of a whole-dataset run: its rows and the examples it stands
/// for (B, or 1 for a leftover example copied B times).
struct Pass {
  std::vector<int64_t> Rows;
  int64_t Weight;
  int64_t FirstOut; // the row of the first example it produces
};

std::vector<Pass> wholeDataset(int64_t N, int64_t B) {
  std::vector<Pass> Passes;
  int64_t Full = N / B;
  for (int64_t K = 0; K < Full; ++K) {
    Pass P{std::vector<int64_t>(static_cast<size_t>(B)), B, K * B};
    for (int64_t J = 0; J < B; ++J)
      P.Rows[static_cast<size_t>(J)] = K * B + J;
    Passes.push_back(std::move(P));
  }
  for (int64_t R = Full * B; R < N; ++R)
    Passes.push_back({std::vector<int64_t>(static_cast<size_t>(B), R), 1, R});
  return Passes;
}

} // namespace

std::string locateFailure(Executable &X, Dataset &D, Entry E,
                          std::span<const int64_t> Rows, std::string Err) {
  Entry Probe = E == Entry::Predict ? Entry::Predict : Entry::Eval;
  if (!X.hasEntry(Probe))
    return Err;
  // The probe must have data for every input it reads.
  for (size_t I = 0; I < X.inputs().size(); ++I)
    if (X.readsInput(Probe, I) && !D.batch()[I])
      return Err;
  std::vector<int64_t> Copies(static_cast<size_t>(D.batchSize()));
  std::vector<int64_t> Tried;
  for (int64_t R : Rows) {
    if (std::find(Tried.begin(), Tried.end(), R) != Tried.end())
      continue;
    Tried.push_back(R);
    std::fill(Copies.begin(), Copies.end(), R);
    D.gather(Copies);
    std::string ProbeErr;
    double Loss;
    std::vector<double> Metrics;
    std::vector<HostTensor> Outs;
    bool Ok = Probe == Entry::Predict
                  ? X.predict(D.batch(), Outs, ProbeErr)
                  : X.eval(D.batch(), Loss, Metrics, ProbeErr);
    if (!Ok) {
      // "... (input 'ids')" becomes "... (input 'ids'; data example 17)".
      if (!Err.empty() && Err.back() == ')' &&
          Err.find(" (input") != std::string::npos)
        Err.insert(Err.size() - 1, fmt::format("; data example {}", R));
      else
        Err += fmt::format(" (data example {})", R);
      return Err;
    }
  }
  return Err;
}

bool evaluateAll(Executable &X, Dataset &D, EvalFigures &Out,
                 std::string &Err) {
  Out = EvalFigures();
  Out.HasLoss = X.evalHasLoss();
  std::vector<double> Sums(X.metricNames().size(), 0.0);
  double LossSum = 0;
  std::vector<double> Metrics;
  for (const Pass &P : wholeDataset(D.numExamples(), D.batchSize())) {
    D.gather(P.Rows);
    double Loss;
    if (!X.eval(D.batch(), Loss, Metrics, Err)) {
      Err = locateFailure(X, D, Entry::Eval, P.Rows, std::move(Err));
      return false;
    }
    double W = static_cast<double>(P.Weight);
    LossSum += W * Loss;
    for (size_t I = 0; I < Sums.size(); ++I)
      Sums[I] += W * Metrics[I];
  }
  double N = static_cast<double>(D.numExamples());
  Out.Loss = Out.HasLoss ? LossSum / N : 0.0;
  for (size_t I = 0; I < Sums.size(); ++I)
    Out.Metrics.push_back({X.metricNames()[I], Sums[I] / N});
  Out.Examples = D.numExamples();
  return true;
}

bool predictAll(Executable &X, Dataset &D, std::vector<HostTensor> &Out,
                std::string &Err) {
  const int64_t B = D.batchSize(), N = D.numExamples();
  Out.clear();
  std::vector<size_t> RowBytes;
  for (const TensorInfo &O : X.outputs()) {
    if (O.Type.isScalar() || O.Type.Dims[0] != B) {
      Err = fmt::format("output '{}' is {}, which has no batch axis of {} "
                        "examples; predict writes one row per example",
                        O.Name, ir::formatType(O.Type), B);
      return false;
    }
    HostTensor H{O.Type, {}};
    H.Type.Dims[0] = N;
    RowBytes.push_back(static_cast<size_t>(O.Type.numElements() / B) *
                       ir::dtypeSize(O.Type.Elt));
    H.Bytes.resize(RowBytes.back() * static_cast<size_t>(N));
    Out.push_back(std::move(H));
  }
  std::vector<HostTensor> Batch;
  for (const Pass &P : wholeDataset(N, B)) {
    D.gather(P.Rows);
    if (!X.predict(D.batch(), Batch, Err)) {
      Err = locateFailure(X, D, Entry::Predict, P.Rows, std::move(Err));
      return false;
    }
    for (size_t I = 0; I < Out.size(); ++I)
      std::memcpy(
          Out[I].Bytes.data() + static_cast<size_t>(P.FirstOut) * RowBytes[I],
          Batch[I].Bytes.data(), RowBytes[I] * static_cast<size_t>(P.Weight));
  }
  return true;
}

static std::string formatFigure(double V) { return fmt::format("{:.6g}", V); }

std::string formatEvalFigures(const EvalFigures &F) {
  std::vector<std::string> Parts;
  if (F.HasLoss)
    Parts.push_back("loss " + formatFigure(F.Loss));
  for (const auto &[Name, V] : F.Metrics)
    Parts.push_back(Name + " " + formatFigure(V));
  return fmt::format("{} ({} examples)", fmt::join(Parts, ", "), F.Examples);
}

} // namespace gradc::runtime
