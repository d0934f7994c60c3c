// Unit tests of the runtime's training driver: the initializers (pinned
// generator values, statistics, reproducibility), checkpoints through an
// executable (round trip, --init of another model's checkpoint), resuming
// (2 + 2 steps equal 4), the learning-rate schedules, whole-dataset eval and
// predict with a last partial batch, and runtime errors naming the input and
// the example.
#include "runtime/Compile.h"
#include "runtime/Init.h"
#include "runtime/StateIO.h"
#include "runtime/Trainer.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sstream>
#include <unistd.h>

using namespace gradc;
using namespace gradc::runtime;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

namespace {

const std::string Examples = std::string(GRADC_SOURCE_DIR) + "/examples";

std::unique_ptr<Executable> compileText(const std::string &Text,
                                        std::vector<Define> Defines = {}) {
  SourceFile Src("test.nn", Text);
  std::ostringstream Log;
  DiagnosticEngine Diags(Log);
  Diags.setSource(&Src);
  CompileOptions Opts;
  Opts.Defines = std::move(Defines);
  std::unique_ptr<Executable> X = compileModel(Src, Opts, Diags, Log);
  EXPECT_TRUE(X) << Log.str();
  return X;
}

std::string readText(const std::string &Path) {
  std::ifstream In(Path);
  std::stringstream SS;
  SS << In.rdbuf();
  return SS.str();
}

std::unique_ptr<Executable> compileExample(const std::string &Name,
                                           std::vector<Define> Defines = {}) {
  return compileText(readText(Examples + "/" + Name), std::move(Defines));
}

/// Every state tensor's bytes, and the step.
std::map<std::string, std::vector<uint8_t>> snapshot(const Executable &X) {
  std::map<std::string, std::vector<uint8_t>> S;
  for (const TensorInfo &T : X.stateTensors()) {
    std::vector<uint8_t> B(static_cast<size_t>(T.Type.numElements()) *
                           ir::dtypeSize(T.Type.Elt));
    X.readState(T.Name, B.data());
    S[T.Name] = std::move(B);
  }
  S["<step>"] = {static_cast<uint8_t>(X.step())};
  return S;
}

std::vector<double> init(const char *Name, ir::AttrList Args, ir::Shape S,
                         uint64_t Seed = 0, const char *Sym = "W",
                         ir::DType T = ir::DType::F64) {
  ir::TensorType Ty(T, std::move(S));
  std::vector<double> V(static_cast<size_t>(Ty.numElements()));
  initialize(ir::Call{Name, std::move(Args)}, Ty, Seed, Sym, V.data());
  return V;
}

void meanStd(const std::vector<double> &V, double &Mean, double &Std) {
  Mean = 0;
  for (double X : V)
    Mean += X;
  Mean /= double(V.size());
  double Var = 0;
  for (double X : V)
    Var += (X - Mean) * (X - Mean);
  Std = std::sqrt(Var / double(V.size()));
}

class RuntimeTest : public ::testing::Test {
protected:
  fs::path Dir;

  void SetUp() override {
    const auto *Info = ::testing::UnitTest::GetInstance()->current_test_info();
    Dir = fs::path(::testing::TempDir()) /
          ("gradc-rt-" + std::to_string(::getpid()) + "-" + Info->name());
    fs::remove_all(Dir);
    fs::create_directories(Dir);
  }
  void TearDown() override { fs::remove_all(Dir); }

  std::string path(const std::string &Name) const {
    return (Dir / Name).string();
  }
  std::string write(const std::string &Name, const std::string &Text) const {
    std::ofstream(path(Name)) << Text;
    return path(Name);
  }
};

// --- Initializers ----------------------------------------------------------

TEST(InitTest, GeneratorIsPinned) {
  // The first output of SplitMix64 from state 0, and FNV-1a test vectors:
  // the AOT code must reproduce these exactly.
  EXPECT_EQ(splitmix64(0), 0xE220A8397B1DCDAFULL);
  EXPECT_EQ(fnv1a64(""), 0xCBF29CE484222325ULL);
  EXPECT_EQ(fnv1a64("a"), 0xAF63DC4C8601EC8CULL);
  double U = initUniform(0, "W", 0);
  EXPECT_GT(U, 0.0);
  EXPECT_LT(U, 1.0);
  EXPECT_EQ(U, initUniform(0, "W", 0));
}

TEST(InitTest, Fans) {
  Fans F = computeFans({784, 128});
  EXPECT_EQ(F.In, 784);
  EXPECT_EQ(F.Out, 128);
  F = computeFans({16, 6, 5, 5}); // conv [Cout, Cin, KH, KW]
  EXPECT_EQ(F.In, 6 * 25);
  EXPECT_EQ(F.Out, 16 * 25);
  F = computeFans({10});
  EXPECT_EQ(F.In, 10);
  EXPECT_EQ(F.Out, 10);
  F = computeFans({});
  EXPECT_EQ(F.In, 1);
  EXPECT_EQ(F.Out, 1);
  F = computeFans({4, 3, 2}); // PyTorch's rule for rank 3
  EXPECT_EQ(F.In, 3 * 2);
  EXPECT_EQ(F.Out, 4 * 2);
}

TEST(InitTest, Constants) {
  for (double V : init("zeros", {}, {3, 4}))
    EXPECT_EQ(V, 0.0);
  for (double V : init("ones", {}, {5}))
    EXPECT_EQ(V, 1.0);
  for (double V :
       init("constant", {{"value", 0.1}}, {2, 2}, 0, "c", ir::DType::F32))
    EXPECT_EQ(V, double(0.1f)); // rounded to the dtype
}

TEST(InitTest, Statistics) {
  double Mean, Std;
  std::vector<double> V = init("he_normal", {}, {784, 128});
  meanStd(V, Mean, Std);
  EXPECT_NEAR(Mean, 0.0, 0.002);
  EXPECT_NEAR(Std, std::sqrt(2.0 / 784), 0.01 * std::sqrt(2.0 / 784));

  V = init("glorot_normal", {}, {300, 200});
  meanStd(V, Mean, Std);
  EXPECT_NEAR(Std, std::sqrt(2.0 / 500), 0.01 * std::sqrt(2.0 / 500));

  double A = std::sqrt(6.0 / (300 + 200));
  V = init("glorot_uniform", {}, {300, 200});
  meanStd(V, Mean, Std);
  EXPECT_NEAR(Std, A / std::sqrt(3.0), 0.01 * A);
  double Lo = 1, Hi = -1;
  for (double X : V) {
    Lo = std::min(Lo, X);
    Hi = std::max(Hi, X);
  }
  EXPECT_GE(Lo, -A);
  EXPECT_LE(Hi, A);
  EXPECT_LT(Lo, -0.99 * A); // the range is used
  EXPECT_GT(Hi, 0.99 * A);

  A = std::sqrt(6.0 / (6 * 25)); // he_uniform of a conv weight
  V = init("he_uniform", {}, {16, 6, 5, 5});
  for (double X : V)
    EXPECT_LE(std::abs(X), A);

  V = init("uniform", {{"lo", 2.0}, {"hi", 3.0}}, {100000});
  meanStd(V, Mean, Std);
  EXPECT_NEAR(Mean, 2.5, 0.005);
  EXPECT_NEAR(Std, 1 / std::sqrt(12.0), 0.005);

  V = init("normal", {{"mean", -1.0}, {"std", 0.5}}, {100000});
  meanStd(V, Mean, Std);
  EXPECT_NEAR(Mean, -1.0, 0.01);
  EXPECT_NEAR(Std, 0.5, 0.005);
}

TEST(InitTest, Reproducible) {
  ir::AttrList U = {{"lo", -1.0}, {"hi", 1.0}};
  EXPECT_EQ(init("he_normal", {}, {20, 30}, 7),
            init("he_normal", {}, {20, 30}, 7));
  EXPECT_NE(init("he_normal", {}, {20, 30}, 7),
            init("he_normal", {}, {20, 30}, 8));
  EXPECT_NE(init("uniform", U, {50}, 0, "W1"),
            init("uniform", U, {50}, 0, "W2"));
  // Element i depends only on (seed, name, i), not on the tensor's size.
  std::vector<double> Small = init("uniform", U, {10}, 3, "b");
  std::vector<double> Big = init("uniform", U, {40}, 3, "b");
  EXPECT_TRUE(std::equal(Small.begin(), Small.end(), Big.begin()));
  Small = init("normal", {{"mean", 0.0}, {"std", 1.0}}, {10}, 3, "b");
  Big = init("normal", {{"mean", 0.0}, {"std", 1.0}}, {4, 10}, 3, "b");
  EXPECT_TRUE(std::equal(Small.begin(), Small.end(), Big.begin()));
}

// --- Learning rate ---------------------------------------------------------

TEST(TrainerTest, Schedules) {
  ir::TrainConfig C;
  C.Optimizer = {"sgd", {{"lr", 0.5}}};
  EXPECT_EQ(learningRate(C, std::nullopt, 123), 0.5);
  EXPECT_EQ(learningRate(C, 0.25, 123), 0.25);
  C.Schedule = ir::Call{"step", {{"every", int64_t(10)}, {"gamma", 0.5}}};
  EXPECT_EQ(learningRate(C, std::nullopt, 9), 0.5);
  EXPECT_EQ(learningRate(C, std::nullopt, 10), 0.25);
  EXPECT_EQ(learningRate(C, std::nullopt, 25), 0.125);
  C.Schedule = ir::Call{"exponential", {{"gamma", 0.9}}};
  EXPECT_DOUBLE_EQ(learningRate(C, std::nullopt, 2), 0.5 * 0.81);
  C.Schedule = ir::Call{"cosine", {{"steps", int64_t(100)}, {"min_lr", 0.1}}};
  EXPECT_DOUBLE_EQ(learningRate(C, std::nullopt, 0), 0.5);
  EXPECT_DOUBLE_EQ(learningRate(C, std::nullopt, 50), 0.3);
  EXPECT_DOUBLE_EQ(learningRate(C, std::nullopt, 100), 0.1);
  EXPECT_DOUBLE_EQ(learningRate(C, std::nullopt, 1000), 0.1);
}

// --- Executables and checkpoints ------------------------------------------

// Adam slots, batch-norm running statistics and dropout: every kind of state.
const char *FullModel = R"(
const B = 32
input  x : f32[B, 3]
input  y : f32[B, 1]
param  W1 : f32[3, 8] = he_normal
param  b1 : f32[8] = zeros
param  g  : f32[8] = ones
param  be : f32[8] = zeros
param  W2 : f32[8, 1] = glorot_uniform
h = batch_norm(x @ W1 + b1, g, be)
d = dropout(relu(h), 0.25)
output pred = d @ W2
loss = mse(pred, y)
metric mae = mean(abs(pred - y))
train {
  minimize loss
  optimizer adam(lr = 0.01)
  schedule cosine(steps = 10)
}
)";

TEST_F(RuntimeTest, StateTensorsHaveCheckpointNames) {
  auto X = compileText(FullModel);
  ASSERT_TRUE(X);
  std::vector<std::string> Names;
  for (const TensorInfo &T : X->stateTensors())
    Names.push_back(T.Name);
  for (const char *Want :
       {"W1", "b1", "g", "be", "W2", "h.running_mean", "h.running_var",
        "optimizer/W1/exp_avg", "optimizer/W2/exp_avg_sq"})
    EXPECT_NE(std::find(Names.begin(), Names.end(), Want), Names.end()) << Want;
  for (const std::string &N : Names)
    EXPECT_NE(N[0], '.') << N;
  EXPECT_TRUE(X->isParam("W1"));
  EXPECT_FALSE(X->isParam("h.running_var"));
  EXPECT_EQ(X->batchSize(), 32);
  ASSERT_EQ(X->metricNames().size(), 1u);
  EXPECT_EQ(X->metricNames()[0], "mae");
  ASSERT_EQ(X->outputs().size(), 1u);
  EXPECT_EQ(X->outputs()[0].Name, "pred");
  // running_var starts at ones.
  std::vector<float> Var(8);
  X->readState("h.running_var", Var.data());
  EXPECT_EQ(Var, std::vector<float>(8, 1.0f));
}

TEST_F(RuntimeTest, InitializeIsReproducible) {
  auto A = compileText(FullModel), B = compileText(FullModel);
  ASSERT_TRUE(A && B);
  A->initialize(5);
  B->initialize(5);
  EXPECT_EQ(snapshot(*A), snapshot(*B));
  B->initialize(6);
  EXPECT_NE(snapshot(*A), snapshot(*B));
}

TEST_F(RuntimeTest, CheckpointRoundTrip) {
  auto A = compileText(FullModel);
  ASSERT_TRUE(A);
  A->initialize(3);
  // Make every tensor distinct from a fresh initialization.
  for (const TensorInfo &T : A->stateTensors()) {
    std::vector<float> V(static_cast<size_t>(T.Type.numElements()));
    for (size_t I = 0; I < V.size(); ++I)
      V[I] = float(I) * 0.25f - float(T.Name.size());
    A->writeState(T.Name, V.data());
  }
  A->setStep(7);
  std::string Err;
  ASSERT_TRUE(saveState(*A, path("a.safetensors"), Err)) << Err;

  auto B = compileText(FullModel);
  ASSERT_TRUE(B);
  B->initialize(9);
  std::vector<std::string> Warnings;
  ASSERT_TRUE(
      loadState(*B, path("a.safetensors"), LoadMode::Load, Warnings, Err))
      << Err;
  EXPECT_TRUE(Warnings.empty());
  EXPECT_EQ(B->step(), 7);
  EXPECT_EQ(snapshot(*A), snapshot(*B));
}

TEST_F(RuntimeTest, InitFromAnotherModel) {
  auto Lin = compileExample("linreg.nn");
  ASSERT_TRUE(Lin);
  std::string Err;
  ASSERT_TRUE(saveState(*Lin, path("lin.safetensors"), Err)) << Err;

  // Same names, other shape: an error naming the tensor; nothing written.
  auto Other = compileText(R"(
input  x : f32[4, 2]
input  y : f32[4, 1]
param  W : f32[2, 1] = ones
param  c : f32[1] = ones
loss = mse(x @ W + c, y)
train { minimize loss
        optimizer sgd(lr = 0.1) }
)");
  ASSERT_TRUE(Other);
  auto Before = snapshot(*Other);
  std::vector<std::string> Warnings;
  EXPECT_FALSE(loadState(*Other, path("lin.safetensors"), LoadMode::Init,
                         Warnings, Err));
  EXPECT_THAT(Err, HasSubstr("'W'"));
  EXPECT_THAT(Err, HasSubstr("f32[3, 1]"));
  EXPECT_THAT(Err, HasSubstr("f32[2, 1]"));
  EXPECT_EQ(snapshot(*Other), Before);

  // A tensor the model lacks: a warning naming it; the rest loads.
  auto Wider = compileText(R"(
input  x : f32[4, 3]
input  y : f32[4, 1]
param  W : f32[3, 1] = ones
loss = mse(x @ W, y)
train { minimize loss
        optimizer sgd(lr = 0.1) }
)");
  ASSERT_TRUE(Wider);
  Warnings.clear();
  EXPECT_TRUE(
      loadState(*Wider, path("lin.safetensors"), LoadMode::Init, Warnings, Err))
      << Err;
  ASSERT_EQ(Warnings.size(), 1u);
  EXPECT_THAT(Warnings[0], HasSubstr("'b'"));
  std::vector<float> W(3);
  Wider->readState("W", W.data());
  EXPECT_EQ(W, std::vector<float>(3, 0.0f)); // linreg's zeros, not ones

  // --load needs every param.
  auto Full = compileText(FullModel);
  ASSERT_TRUE(Full);
  EXPECT_FALSE(
      loadState(*Full, path("lin.safetensors"), LoadMode::Load, Warnings, Err));
  EXPECT_THAT(Err, HasSubstr("has no tensor 'W1'"));
}

// --- Training ---------------------------------------------------------------

struct TrainRun {
  std::unique_ptr<Executable> X;
  Dataset Data;
};

void bindLinreg(TrainRun &R) {
  std::vector<DataSpec> Specs = {{"x", Examples + "/data/linreg_x.csv"},
                                 {"y", Examples + "/data/linreg_y.csv"}};
  std::string Err;
  const Entry Entries[] = {Entry::TrainStep, Entry::Eval};
  ASSERT_TRUE(R.Data.bind(*R.X, Entries, Specs, "--data", Err)) << Err;
}

TEST_F(RuntimeTest, ResumeEqualsOneRun) {
  TrainOptions Opts;
  Opts.Seed = 11;
  Opts.LogEvery = 1;
  std::ostringstream Log;
  std::string Err;

  // 4 steps straight (steps per epoch: 256 / 32 = 8, so shuffled batches).
  TrainRun Straight{compileText(FullModel), {}};
  ASSERT_TRUE(Straight.X);
  bindLinreg(Straight);
  Straight.X->initialize(11);
  Opts.Steps = 4;
  TrainReport R4;
  ASSERT_TRUE(train(*Straight.X, Straight.Data, nullptr, Opts, R4, Log, Err))
      << Err;
  ASSERT_EQ(R4.Losses.size(), 4u);

  // 2 steps, save; a new process loads and takes 2 more.
  TrainRun First{compileText(FullModel), {}};
  ASSERT_TRUE(First.X);
  bindLinreg(First);
  First.X->initialize(11);
  Opts.Steps = 2;
  TrainReport R2;
  ASSERT_TRUE(train(*First.X, First.Data, nullptr, Opts, R2, Log, Err)) << Err;
  ASSERT_TRUE(saveState(*First.X, path("half.safetensors"), Err)) << Err;

  TrainRun Second{compileText(FullModel), {}};
  ASSERT_TRUE(Second.X);
  bindLinreg(Second);
  Second.X->initialize(11);
  std::vector<std::string> Warnings;
  ASSERT_TRUE(loadState(*Second.X, path("half.safetensors"), LoadMode::Init,
                        Warnings, Err))
      << Err;
  EXPECT_EQ(Second.X->step(), 2);
  TrainReport R22;
  ASSERT_TRUE(train(*Second.X, Second.Data, nullptr, Opts, R22, Log, Err))
      << Err;

  EXPECT_EQ(R22.FirstStep, 2);
  ASSERT_EQ(R22.Losses.size(), 2u);
  EXPECT_EQ(R22.Losses[0], R4.Losses[2]); // (3, loss) exactly
  EXPECT_EQ(R22.Losses[1], R4.Losses[3]);
  EXPECT_EQ(snapshot(*Second.X), snapshot(*Straight.X));
}

TEST_F(RuntimeTest, LinearRegressionConverges) {
  TrainRun R{compileExample("linreg.nn"), {}};
  ASSERT_TRUE(R.X);
  bindLinreg(R);
  R.X->initialize(0);
  TrainOptions Opts;
  Opts.Epochs = 20;
  TrainReport Rep;
  std::ostringstream Log;
  std::string Err;
  ASSERT_TRUE(train(*R.X, R.Data, &R.Data, Opts, Rep, Log, Err)) << Err;
  EXPECT_EQ(Rep.Steps, 160);
  ASSERT_TRUE(Rep.Eval);
  EXPECT_LT(Rep.Eval->Loss, 1e-3);
  EXPECT_EQ(Rep.Eval->Examples, 256);
  std::vector<float> W(3);
  R.X->readState("W", W.data());
  EXPECT_NEAR(W[0], 2.0, 0.01);
  EXPECT_NEAR(W[1], -3.5, 0.01);
  EXPECT_NEAR(W[2], 0.5, 0.01);
}

TEST_F(RuntimeTest, NonFiniteLossStops) {
  TrainRun R{compileExample("linreg.nn"), {}};
  ASSERT_TRUE(R.X);
  bindLinreg(R);
  TrainOptions Opts;
  Opts.Lr = 1e30;
  Opts.Steps = 20;
  TrainReport Rep;
  std::ostringstream Log;
  std::string Err;
  EXPECT_FALSE(train(*R.X, R.Data, nullptr, Opts, Rep, Log, Err));
  EXPECT_THAT(Err, ::testing::MatchesRegex("step [0-9]+: the loss is .*"));
}

// --- Whole-dataset eval and predict ----------------------------------------

TEST_F(RuntimeTest, EvalAndPredictCoverEveryExample) {
  // 256 examples in batches of 3: 85 full batches and one leftover. The
  // figures must equal those of batches of 1.
  auto Lin3 = compileExample("linreg.nn", {{"B", "3"}});
  auto Lin1 = compileExample("linreg.nn", {{"B", "1"}});
  ASSERT_TRUE(Lin3 && Lin1);
  for (auto *X : {Lin3.get(), Lin1.get()}) {
    float W[3] = {1.5f, -2.0f, 0.25f}, B[1] = {0.5f};
    X->writeState("W", W);
    X->writeState("b", B);
  }
  std::vector<DataSpec> Specs = {{"x", Examples + "/data/linreg_x.csv"},
                                 {"y", Examples + "/data/linreg_y.csv"}};
  const Entry Eval[] = {Entry::Eval};
  Dataset D3, D1;
  std::string Err;
  ASSERT_TRUE(D3.bind(*Lin3, Eval, Specs, "--data", Err)) << Err;
  ASSERT_TRUE(D1.bind(*Lin1, Eval, Specs, "--data", Err)) << Err;
  EvalFigures F3, F1;
  ASSERT_TRUE(evaluateAll(*Lin3, D3, F3, Err)) << Err;
  ASSERT_TRUE(evaluateAll(*Lin1, D1, F1, Err)) << Err;
  EXPECT_EQ(F3.Examples, 256);
  EXPECT_NEAR(F3.Loss, F1.Loss, 1e-6 * F1.Loss);
  ASSERT_EQ(F3.Metrics.size(), 1u);
  EXPECT_EQ(F3.Metrics[0].first, "mae");
  EXPECT_NEAR(F3.Metrics[0].second, F1.Metrics[0].second, 1e-6);

  std::vector<HostTensor> P3, P1;
  ASSERT_TRUE(predictAll(*Lin3, D3, P3, Err)) << Err;
  ASSERT_TRUE(predictAll(*Lin1, D1, P1, Err)) << Err;
  ASSERT_EQ(P3.size(), 1u);
  EXPECT_EQ(P3[0].Type, ir::TensorType(ir::DType::F32, {256, 1}));
  EXPECT_EQ(P3[0].Bytes, P1[0].Bytes);
}

TEST_F(RuntimeTest, DataBindingErrors) {
  auto X = compileExample("xor.nn");
  ASSERT_TRUE(X);
  const Entry Train[] = {Entry::TrainStep, Entry::Eval};
  const Entry Predict[] = {Entry::Predict};
  std::string XPath = Examples + "/data/xor_x.csv",
              YPath = Examples + "/data/xor_y.csv";
  std::string Err;
  {
    Dataset D;
    std::vector<DataSpec> S = {{"x", XPath}};
    EXPECT_FALSE(D.bind(*X, Train, S, "--data", Err));
    EXPECT_THAT(Err, HasSubstr("no data for input 'y'"));
  }
  {
    Dataset D; // predict reads x only
    std::vector<DataSpec> S = {{"x", XPath}};
    EXPECT_TRUE(D.bind(*X, Predict, S, "--data", Err)) << Err;
    EXPECT_EQ(D.numExamples(), 4);
  }
  {
    Dataset D;
    std::vector<DataSpec> S = {{"x", XPath}, {"y", YPath}, {"z", YPath}};
    EXPECT_FALSE(D.bind(*X, Train, S, "--data", Err));
    EXPECT_THAT(Err, HasSubstr("the model has no input 'z' (inputs: x, y)"));
  }
  {
    Dataset D;
    std::vector<DataSpec> S = {{"x", XPath}, {"x", XPath}, {"y", YPath}};
    EXPECT_FALSE(D.bind(*X, Train, S, "--data", Err));
    EXPECT_THAT(Err, HasSubstr("input 'x' is given twice"));
  }
  {
    Dataset D;
    std::vector<DataSpec> S = {{"x", XPath},
                               {"y", Examples + "/data/linreg_y.csv"}};
    EXPECT_FALSE(D.bind(*X, Train, S, "--data", Err));
    EXPECT_THAT(Err, HasSubstr("same number"));
  }
}

TEST_F(RuntimeTest, IdOutOfRangeNamesInputAndExample) {
  auto X = compileText(R"(
input ids : i32[2, 3]
input y : i32[2]
param T : f32[5, 4] = normal(0, 1)
param W : f32[4, 3] = glorot_uniform
logits = sum(embedding(ids, T), axes=[1]) @ W
loss = softmax_cross_entropy(logits, y)
train { minimize loss
        optimizer sgd(lr = 0.1) }
)");
  ASSERT_TRUE(X);
  std::vector<DataSpec> S = {
      {"ids", write("ids.csv", "0,1,2\n1,2,3\n4,4,4\n2,7,1\n0,0,0\n")},
      {"y", write("y.csv", "0\n1\n2\n0\n1\n")}};
  Dataset D;
  std::string Err;
  const Entry Train[] = {Entry::TrainStep, Entry::Eval};
  ASSERT_TRUE(D.bind(*X, Train, S, "--data", Err)) << Err;
  TrainOptions Opts;
  Opts.Shuffle = false;
  Opts.Steps = 2;
  TrainReport Rep;
  std::ostringstream Log;
  EXPECT_FALSE(train(*X, D, nullptr, Opts, Rep, Log, Err));
  EXPECT_THAT(Err, HasSubstr("step 2: test.nn:6:"));
  EXPECT_THAT(Err, HasSubstr("'embedding'"));
  EXPECT_THAT(Err, HasSubstr("input 'ids'; data example 3)"));
  EXPECT_EQ(X->step(), 1); // the failed step changed nothing

  // The last example, a leftover of eval, out of range through y.
  Dataset E;
  std::vector<DataSpec> S2 = {
      {"ids", write("ids2.csv", "0,1,2\n1,2,3\n4,4,4\n")},
      {"y", write("y2.csv", "0\n1\n3\n")}};
  const Entry Eval[] = {Entry::Eval};
  ASSERT_TRUE(E.bind(*X, Eval, S2, "--data", Err)) << Err;
  EvalFigures F;
  EXPECT_FALSE(evaluateAll(*X, E, F, Err));
  EXPECT_THAT(Err, HasSubstr("'softmax_cross_entropy'"));
  EXPECT_THAT(Err, HasSubstr("input 'y'; data example 2)"));
}

} // namespace
