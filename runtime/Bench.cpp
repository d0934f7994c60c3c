//===- runtime/Bench.cpp - gradc bench ------------------------------------===//
//
// Compile (timed), pick the entry, draw kBenchBatches synthetic batches into
// 64-byte aligned buffers (so the JIT reads them in place), call the entry
// Warmup times untimed and Steps times timed one by one, and report the
// median, minimum and mean, the throughput and the entry's memory.
// The i32 bounds come from one forward sweep per input and function over
// the nodes (which are in topological order): a value "carries" the input
// when it is the input or an op that only moves values of one that does.
//
//===----------------------------------------------------------------------===//
#include "runtime/Bench.h"

#include "ir/Fusion.h"
#include "runtime/Init.h"
#include "runtime/Interp.h"
#include "runtime/Json.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <thread>

namespace gradc::runtime {

namespace {

using Clock = std::chrono::steady_clock;

double msSince(Clock::time_point T0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - T0).count();
}

/// Whether \p Op passes operand \p I's values to its result unchanged.
bool movesOperand(ir::Op Op, size_t I) {
  switch (Op) {
  case ir::Op::Identity:
  case ir::Op::Transpose:
  case ir::Op::Reshape:
  case ir::Op::Flatten:
  case ir::Op::Concat:
  case ir::Op::Slice:
  case ir::Op::Broadcast:
    return true;
  case ir::Op::Select:
    return I > 0;
  default:
    return false;
  }
}

/// The bound a use of \p N's operand \p I puts on the ids in it, if any.
std::optional<int64_t> boundOfUse(const ir::Function &F, const ir::Node &N,
                                  size_t I) {
  switch (N.Opcode) {
  case ir::Op::Embedding:
    if (I == 0)
      return F.type(N.Operands[1]).Dims.at(0);
    break;
  case ir::Op::EmbeddingGrad:
    if (I == 0)
      return N.Type.Dims.at(0);
    break;
  case ir::Op::SoftmaxCrossEntropy:
  case ir::Op::Accuracy:
    if (I == 1)
      return F.type(N.Operands[0]).Dims.back();
    break;
  case ir::Op::OneHot:
    if (I == 0)
      return N.Type.Dims.back();
    break;
  default:
    break;
  }
  return std::nullopt;
}

/// A zeroed, 64-byte aligned buffer.
struct AlignedBuffer {
  explicit AlignedBuffer(uint64_t Bytes) {
    uint64_t N = std::max<uint64_t>(64, (Bytes + 63) / 64 * 64);
    P = static_cast<uint8_t *>(std::aligned_alloc(64, N));
    std::memset(P, 0, N);
  }
  ~AlignedBuffer() { std::free(P); }
  AlignedBuffer(const AlignedBuffer &) = delete;
  AlignedBuffer &operator=(const AlignedBuffer &) = delete;
  uint8_t *P;
};

int fail(std::ostream &Log, std::string_view Msg) {
  Log << "gradc: error: " << Msg << '\n';
  return 1;
}

/// The entry a bench times: training when there is a train block, else
/// @eval when it computes something, else @predict.
std::optional<Entry> benchEntry(const Executable &X) {
  if (X.hasEntry(Entry::TrainStep))
    return Entry::TrainStep;
  if (X.hasEntry(Entry::Eval) && (X.evalHasLoss() || !X.metricNames().empty()))
    return Entry::Eval;
  if (X.hasEntry(Entry::Predict) && !X.outputs().empty())
    return Entry::Predict;
  return std::nullopt;
}

/// One call of \p E on \p In; false with \p Err on a runtime error.
bool callEntry(Executable &X, Entry E, std::span<const void *const> In,
               std::string &Err) {
  switch (E) {
  case Entry::TrainStep: {
    double Lr = learningRate(*X.module().Train, std::nullopt, X.step());
    double Loss = 0;
    return X.trainStep(In, Lr, Loss, Err);
  }
  case Entry::Eval: {
    double Loss = 0;
    std::vector<double> Metrics;
    return X.eval(In, Loss, Metrics, Err);
  }
  case Entry::Predict: {
    std::vector<HostTensor> Outputs;
    return X.predict(In, Outputs, Err);
  }
  }
  return false;
}

} // namespace

std::vector<std::optional<int64_t>> inputIdBounds(const ir::Module &M) {
  std::vector<std::optional<int64_t>> Bounds;
  for (const ir::Symbol &S : M.Symbols) {
    if (S.Kind != ir::SymbolKind::Input)
      continue;
    std::optional<int64_t> B;
    if (S.Type.Elt == ir::DType::I32)
      for (const ir::Function &F : M.Functions) {
        std::vector<bool> Carries(F.Nodes.size(), false);
        for (size_t V = 0; V < F.Nodes.size(); ++V) {
          const ir::Node &N = F.Nodes[V];
          if (N.Opcode == ir::Op::Input && N.Symbol == S.Name)
            Carries[V] = true;
          for (size_t I = 0; I < N.Operands.size(); ++I) {
            if (!Carries[N.Operands[I]])
              continue;
            if (movesOperand(N.Opcode, I))
              Carries[V] = true;
            if (std::optional<int64_t> U = boundOfUse(F, N, I))
              B = std::min(B.value_or(*U), *U);
          }
        }
      }
    Bounds.push_back(B);
  }
  return Bounds;
}

void fillSyntheticBatch(const TensorInfo &In, std::optional<int64_t> Bound,
                        uint64_t Seed, int64_t Index, void *Out) {
  std::string Stream = fmt::format("bench/{}/{}", In.Name, Index);
  size_t N = static_cast<size_t>(In.Type.numElements());
  std::vector<double> V(N);
  int64_t Range = std::max<int64_t>(1, Bound.value_or(kUnboundedIdRange));
  for (size_t J = 0; J < N; ++J) {
    double U = initUniform(Seed, Stream, J); // in (0, 1)
    V[J] = In.Type.Elt == ir::DType::I32
               ? std::min<double>(std::floor(U * static_cast<double>(Range)),
                                  static_cast<double>(Range - 1))
               : U;
  }
  doublesToBytes(In.Type.Elt, V.data(), N, Out);
}

double median(std::vector<double> V) {
  if (V.empty())
    return 0;
  std::sort(V.begin(), V.end());
  size_t H = V.size() / 2;
  return V.size() % 2 ? V[H] : (V[H - 1] + V[H]) / 2;
}

int runBench(const SourceFile &Model, const BenchCommand &C, std::ostream &Out,
             std::ostream &Log) {
  const CompileOptions &CO = C.Common.Compile;
  std::string Err;
  if (!checkBackend(CO.Backend, Err))
    return fail(Log, Err);
  Clock::time_point T0 = Clock::now();
  DiagnosticEngine Diags(Log);
  Diags.setSource(&Model);
  std::unique_ptr<Executable> X = compileModel(Model, CO, Diags, Log);
  double CompileMs = msSince(T0);
  if (!X)
    return 1;
  std::optional<Entry> E = benchEntry(*X);
  if (!E)
    return fail(Log, fmt::format("{}: the model has nothing to run (no train "
                                 "block, metric or output)",
                                 Model.name()));
  if (X->batchSize() == 0)
    return fail(Log, fmt::format("{}: {}", Model.name(), X->batchError()));
  X->initialize(C.Common.Seed);

  // Synthetic batches, in buffers aligned for the compiled code.
  std::span<const TensorInfo> Inputs = X->inputs();
  std::vector<std::optional<int64_t>> Bounds = inputIdBounds(X->module());
  std::vector<std::unique_ptr<AlignedBuffer>> Buffers;
  std::vector<std::vector<const void *>> Batches(kBenchBatches);
  for (int64_t B = 0; B < kBenchBatches; ++B)
    for (size_t I = 0; I < Inputs.size(); ++I) {
      if (!X->readsInput(*E, I)) {
        Batches[B].push_back(nullptr);
        continue;
      }
      const ir::TensorType &T = Inputs[I].Type;
      Buffers.push_back(std::make_unique<AlignedBuffer>(
          static_cast<uint64_t>(T.numElements()) * ir::dtypeSize(T.Elt)));
      fillSyntheticBatch(Inputs[I], Bounds[I], C.Common.Seed, B,
                         Buffers.back()->P);
      Batches[B].push_back(Buffers.back()->P);
    }

  std::vector<double> Times;
  for (int64_t S = 0; S < C.Warmup + C.Steps; ++S) {
    std::span<const void *const> In = Batches[S % kBenchBatches];
    Clock::time_point T = Clock::now();
    bool Ok = callEntry(*X, *E, In, Err);
    double Ms = msSince(T);
    if (!Ok)
      return fail(Log, fmt::format("step {}: {}", S + 1, Err));
    if (S >= C.Warmup)
      Times.push_back(Ms);
  }
  double StepMs = median(Times);
  double MinMs = *std::min_element(Times.begin(), Times.end());
  double MeanMs = 0;
  for (double T : Times)
    MeanMs += T / static_cast<double>(Times.size());
  double PerSecond = static_cast<double>(X->batchSize()) / (StepMs / 1e3);
  MemoryUse Mem = X->memoryUse(*E);
  size_t Kernels =
      ir::countKernels(*X->module().lookupFunction(entryName(*E)));
  // The interpreter runs on one thread whatever --threads says.
  unsigned Threads = CO.Backend == "interp" ? 1
                     : CO.Threads
                         ? CO.Threads
                         : std::max(1u, std::thread::hardware_concurrency());
  std::string_view EntryName = entryName(*E);

  Log << fmt::format("bench {}: @{}, batch {}, backend {}, {} thread{}\n",
                     X->module().Name, EntryName, X->batchSize(), CO.Backend,
                     Threads, Threads == 1 ? "" : "s");
  Log << fmt::format("  compile     {:.1f} ms\n", CompileMs);
  Log << fmt::format("  step        {:.4g} ms median (min {:.4g}, mean {:.4g}) "
                     "over {} steps after {} warm-up\n",
                     StepMs, MinMs, MeanMs, C.Steps, C.Warmup);
  Log << fmt::format("  throughput  {:.0f} examples/s\n", PerSecond);
  Log << fmt::format("  kernels     {} per step\n", Kernels);
  Log << fmt::format("  memory      {} bytes: state {}, scratch {}, inputs "
                     "{}, results {}\n",
                     Mem.total(), Mem.State, Mem.Scratch, Mem.Inputs,
                     Mem.Results);
  Log << fmt::format("  scratch     {} bytes planned, {} unplanned ({:.1f}%)\n",
                     Mem.Scratch, Mem.UnplannedScratch,
                     100.0 * static_cast<double>(Mem.Scratch) /
                         static_cast<double>(
                             std::max<uint64_t>(Mem.UnplannedScratch, 1)));
  if (C.Common.Json) {
    std::string Memory = JsonObject()
                             .integer("state", Mem.State)
                             .integer("scratch", Mem.Scratch)
                             .integer("inputs", Mem.Inputs)
                             .integer("results", Mem.Results)
                             .done();
    Out << JsonObject()
               .str("model", X->module().Name)
               .str("entry", EntryName)
               .str("backend", CO.Backend)
               .integer("threads", Threads)
               .integer("batch", X->batchSize())
               .integer("steps", C.Steps)
               .integer("warmup_steps", C.Warmup)
               .num("compile_ms", CompileMs)
               .num("step_ms", StepMs)
               .num("step_ms_min", MinMs)
               .num("step_ms_mean", MeanMs)
               .num("examples_per_second", PerSecond)
               .integer("kernels", static_cast<int64_t>(Kernels))
               .integer("peak_bytes", static_cast<int64_t>(Mem.total()))
               .integer("planned_bytes", static_cast<int64_t>(Mem.Scratch))
               .integer("unplanned_bytes",
                        static_cast<int64_t>(Mem.UnplannedScratch))
               .raw("memory", Memory)
               .done()
        << '\n';
  }
  return 0;
}

} // namespace gradc::runtime
