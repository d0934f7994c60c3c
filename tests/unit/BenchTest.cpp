// Unit tests of `gradc bench` (runtime/Bench.h): the id bounds derived from
// an i32 input's uses, the synthetic data (in range, reproducible, varied),
// the median, each backend's memory figures, and whole runs on both
// backends (valid ids through movement ops, the entry a model without a
// train block benches, the JSON figures: kernels, planned and unplanned
// scratch included).
#include "ir/Fusion.h"
#include "runtime/Bench.h"
#include "runtime/Json.h"

#include <gtest/gtest.h>
#include <set>
#include <sstream>

using namespace gradc;
using namespace gradc::runtime;

namespace {

// ids feed an embedding of 7 rows through a reshape; y is class ids of 10
// classes and also embedding ids of a 5-row table; f is a float input; c is
// an i32 input only cast to float (unbounded).
const char *BoundsModel = R"(
const B = 4
input  ids : i32[B, 6]
input  y   : i32[B]
input  f   : f32[B, 3]
input  c   : i32[B, 3]
param  T : f32[7, 3] = normal(0, 1)
param  U : f32[5, 3] = normal(0, 1)
param  W : f32[3, 10] = glorot_uniform
e      = sum(embedding(reshape(ids, [B, 2, 3]), T), axes=[1, 2])
g      = embedding(y, U)
logits = (sum(e, axes=[1], keepdims=true) + g + f + cast(c, f32)) @ W
loss   = softmax_cross_entropy(logits, y)
metric acc = accuracy(logits, y)
train {
  minimize  loss
  optimizer adam(lr = 0.01)
}
)";

std::unique_ptr<Executable> compileText(const std::string &Text,
                                        const std::string &Backend = "jit") {
  SourceFile Src("test.nn", Text);
  std::ostringstream Log;
  DiagnosticEngine Diags(Log);
  Diags.setSource(&Src);
  CompileOptions Opts;
  Opts.Backend = Backend;
  std::unique_ptr<Executable> X = compileModel(Src, Opts, Diags, Log);
  EXPECT_TRUE(X) << Log.str();
  return X;
}

/// Runs `gradc bench` on \p Text; the parsed JSON in \p J.
int bench(const std::string &Text, BenchCommand C, JsonValue &J,
          std::string &Log) {
  SourceFile Src("test.nn", Text);
  C.Common.Json = true;
  std::ostringstream Out, L;
  int Rc = runBench(Src, C, Out, L);
  Log = L.str();
  if (Rc == 0) {
    std::string Err;
    EXPECT_TRUE(parseJson(Out.str(), J, Err)) << Err << "\n" << Out.str();
  }
  return Rc;
}

double number(const JsonValue &J, std::string_view Key) {
  const JsonValue *V = J.member(Key);
  EXPECT_TRUE(V && V->Kind == JsonValue::Number) << Key;
  return V && V->Kind == JsonValue::Number ? std::stod(V->Text) : -1;
}

std::string string(const JsonValue &J, std::string_view Key) {
  const JsonValue *V = J.member(Key);
  EXPECT_TRUE(V && V->Kind == JsonValue::String) << Key;
  return V ? V->Text : "";
}

TEST(BenchTest, IdBoundsAreTheSmallestOverTheUses) {
  auto X = compileText(BoundsModel);
  ASSERT_TRUE(X);
  std::vector<std::optional<int64_t>> B = inputIdBounds(X->module());
  ASSERT_EQ(B.size(), 4u);
  EXPECT_EQ(B[0], std::optional<int64_t>(7)); // ids: the table's rows
  EXPECT_EQ(B[1], std::optional<int64_t>(5)); // y: min(10 classes, 5 rows)
  EXPECT_EQ(B[2], std::nullopt);              // f: a float
  EXPECT_EQ(B[3], std::nullopt);              // c: only cast
}

TEST(BenchTest, SyntheticDataIsInRangeAndReproducible) {
  TensorInfo Ids{"ids", ir::TensorType(ir::DType::I32, {64, 50})};
  std::vector<int32_t> A(64 * 50), B(A.size()), C(A.size()), D(A.size());
  fillSyntheticBatch(Ids, 7, 3, 0, A.data());
  fillSyntheticBatch(Ids, 7, 3, 0, B.data());
  fillSyntheticBatch(Ids, 7, 4, 0, C.data());
  fillSyntheticBatch(Ids, 7, 3, 1, D.data());
  EXPECT_EQ(A, B);
  EXPECT_NE(A, C); // another seed
  EXPECT_NE(A, D); // another batch
  std::set<int32_t> Seen(A.begin(), A.end());
  EXPECT_EQ(Seen, (std::set<int32_t>{0, 1, 2, 3, 4, 5, 6}));

  fillSyntheticBatch(Ids, std::nullopt, 3, 0, A.data());
  Seen = std::set<int32_t>(A.begin(), A.end());
  EXPECT_EQ(static_cast<int64_t>(Seen.size()), kUnboundedIdRange);
  EXPECT_EQ(*Seen.begin(), 0);

  TensorInfo F{"x", ir::TensorType(ir::DType::F64, {1000})};
  std::vector<double> V(1000);
  fillSyntheticBatch(F, std::nullopt, 0, 0, V.data());
  double Lo = 1, Hi = 0;
  for (double D : V) {
    Lo = std::min(Lo, D);
    Hi = std::max(Hi, D);
  }
  EXPECT_GT(Lo, 0.0);
  EXPECT_LT(Lo, 0.01);
  EXPECT_LT(Hi, 1.0);
  EXPECT_GT(Hi, 0.99);
}

TEST(BenchTest, Median) {
  EXPECT_EQ(median({}), 0);
  EXPECT_EQ(median({3, 1, 2}), 2);
  EXPECT_EQ(median({4, 1, 3, 2}), 2.5);
}

TEST(BenchTest, MemoryUse) {
  // 784-128-10 with Adam: params and two slots in f32, plus .step and .seed.
  const std::string Mlp = R"(
const B = 64
input  x : f32[B, 784]
input  y : i32[B]
param  W1 : f32[784, 128] = he_normal
param  b1 : f32[128] = zeros
param  W2 : f32[128, 10] = glorot_uniform
param  b2 : f32[10] = zeros
logits = relu(x @ W1 + b1) @ W2 + b2
loss = softmax_cross_entropy(logits, y)
train {
  minimize  loss
  optimizer adam(lr = 0.001)
}
)";
  const uint64_t Params = (784 * 128 + 128 + 128 * 10 + 10) * 4;
  for (const char *Backend : {"jit", "interp"}) {
    SCOPED_TRACE(Backend);
    auto X = compileText(Mlp, Backend);
    ASSERT_TRUE(X);
    MemoryUse U = X->memoryUse(Entry::TrainStep);
    uint64_t Scale = std::string(Backend) == "jit" ? 1 : 2; // f64 in interp
    EXPECT_GE(U.State, 3 * Params * Scale);
    EXPECT_LT(U.State, 3 * Params * Scale + 1024);
    // The step's values include at least the hidden layer and its gradient.
    EXPECT_GE(U.Scratch, 2 * 64 * 128 * 4 * Scale);
    EXPECT_EQ(U.Inputs, (64 * 784 * 4 + (std::string(Backend) == "jit"
                                             ? 256 // padded to 64 bytes
                                             : 64 * 4)) *
                            Scale);
    EXPECT_EQ(U.Results, 4 * Scale); // the f32 loss
    EXPECT_EQ(U.total(), U.State + U.Scratch + U.Inputs + U.Results);
    if (Scale == 1) {
      // The memory plan: the hidden layer, its gradient and the input's
      // gradient products each have a buffer of their own without it; with
      // it, regions are reused and the updates are computed in place.
      EXPECT_GE(U.UnplannedScratch, 2 * 64 * 128 * 4 + 3 * Params);
      EXPECT_LE(U.Scratch * 10, U.UnplannedScratch * 6);
    } else {
      EXPECT_EQ(U.UnplannedScratch, U.Scratch); // the interpreter: no plan
    }
  }
}

TEST(BenchTest, RunsWithValidIdsOnBothBackends) {
  for (const char *Backend : {"jit", "interp"}) {
    SCOPED_TRACE(Backend);
    BenchCommand C;
    C.Common.Compile.Backend = Backend;
    C.Common.Compile.Threads = 1;
    C.Steps = 20; // cycles through every synthetic batch several times
    C.Warmup = 2;
    JsonValue J;
    std::string Log;
    ASSERT_EQ(bench(BoundsModel, C, J, Log), 0) << Log;
    EXPECT_EQ(string(J, "entry"), "train_step");
    EXPECT_EQ(string(J, "backend"), Backend);
    EXPECT_EQ(number(J, "steps"), 20);
    EXPECT_EQ(number(J, "warmup_steps"), 2);
    EXPECT_EQ(number(J, "threads"), 1);
    EXPECT_EQ(number(J, "batch"), 4);
    for (const char *K : {"compile_ms", "step_ms", "step_ms_min",
                          "step_ms_mean", "examples_per_second", "peak_bytes"})
      EXPECT_GT(number(J, K), 0) << K;
    EXPECT_LE(number(J, "step_ms_min"), number(J, "step_ms"));
    EXPECT_NEAR(number(J, "examples_per_second"),
                4 / (number(J, "step_ms") / 1e3),
                1e-6 * number(J, "examples_per_second"));
    const JsonValue *M = J.member("memory");
    ASSERT_TRUE(M);
    EXPECT_EQ(number(*M, "state") + number(*M, "scratch") +
                  number(*M, "inputs") + number(*M, "results"),
              number(J, "peak_bytes"));
    // Kernels: those of the final @train_step; scratch with and without the
    // plan (which only the JIT has).
    auto X = compileText(BoundsModel, Backend);
    ASSERT_TRUE(X);
    size_t Kernels = ir::countKernels(*X->module().lookupFunction("train_step"));
    EXPECT_GT(Kernels, 0u);
    EXPECT_EQ(number(J, "kernels"), static_cast<double>(Kernels));
    EXPECT_EQ(number(J, "planned_bytes"), number(*M, "scratch"));
    MemoryUse U = X->memoryUse(Entry::TrainStep);
    EXPECT_EQ(number(J, "unplanned_bytes"), static_cast<double>(U.UnplannedScratch));
    if (std::string(Backend) == "jit")
      EXPECT_LT(number(J, "planned_bytes"), number(J, "unplanned_bytes"));
    else
      EXPECT_EQ(number(J, "planned_bytes"), number(J, "unplanned_bytes"));
  }
}

TEST(BenchTest, WithoutTrainBlock) {
  BenchCommand C;
  C.Steps = 3;
  JsonValue J;
  std::string Log;
  // Metrics: @eval; outputs only: @predict.
  ASSERT_EQ(bench("input x : f32[2, 3]\nparam W : f32[3, 1] = ones\n"
                  "metric m = mean(x @ W)\n",
                  C, J, Log),
            0)
      << Log;
  EXPECT_EQ(string(J, "entry"), "eval");
  EXPECT_NE(Log.find("@eval"), std::string::npos) << Log;
  ASSERT_EQ(bench("input x : f32[2, 3]\nparam W : f32[3, 1] = ones\n"
                  "output p = x @ W\n",
                  C, J, Log),
            0)
      << Log;
  EXPECT_EQ(string(J, "entry"), "predict");
  EXPECT_EQ(number(J, "batch"), 2);
  // Neither: nothing to time.
  EXPECT_EQ(bench("input x : f32[2, 3]\nparam W : f32[3, 1] = ones\n"
                  "h = x @ W\n",
                  C, J, Log),
            1);
  EXPECT_NE(Log.find("nothing to run"), std::string::npos) << Log;
}

TEST(BenchTest, Errors) {
  BenchCommand C;
  JsonValue J;
  std::string Log;
  C.Common.Compile.Backend = "nosuch";
  EXPECT_EQ(bench("input x : f32[2, 3]\noutput p = x\n", C, J, Log), 1);
  EXPECT_NE(Log.find("unknown backend 'nosuch'"), std::string::npos) << Log;
  C.Common.Compile.Backend = "jit";
  EXPECT_EQ(bench("input x : f32[2, 3]\ninput y : f32[3, 3]\n"
                  "output p = x\noutput q = y\n",
                  C, J, Log),
            1);
  EXPECT_NE(Log.find("different batch sizes"), std::string::npos) << Log;
  EXPECT_EQ(bench("input x : f32[2, 3]\np = x +\n", C, J, Log), 1);
  EXPECT_NE(Log.find("test.nn:2:"), std::string::npos) << Log;
}

} // namespace
