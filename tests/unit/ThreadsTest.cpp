//===- tests/unit/ThreadsTest.cpp - --threads: same bits, any thread count -===//
//
// The JIT splits the big loops of its kernels across a module's threads
// (codegen/Parallel.cpp) with every element computed by the same code in
// the same order, so results must be bit-identical for every thread count,
// not merely close. Every example model and every model of
// tests/reference/cases, compiled with 1, 2, 3 and 4 threads (3: chunks of
// unequal size) and every splittable loop split (MinParallelWork 1, so the
// small B = 4 batches split too), trains three steps on the same batches;
// losses, the whole state, eval and predict must agree to the bit. The MNIST
// models also run at their real batch size with the default threshold.
// Also: a module with one thread, or without a loop worth splitting,
// references no pthread symbol; gradc_shutdown stops the workers and the
// next call starts them again. (The op-by-op cases of JitTest.cpp and
// JitKernelParityTest.cpp compare thread counts the same way.)
//
//===----------------------------------------------------------------------===//
#include "GradCheck.h"
#include "JitTestUtil.h"

#include "codegen/Codegen.h"
#include "codegen/JIT.h"
#include "frontend/Frontend.h"
#include "passes/PassManager.h"
#include "runtime/Interp.h"
#include "runtime/JitExecutable.h"

#include <gtest/gtest.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/Target/TargetMachine.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace gradc;
using namespace gradc::ir;
using gradc::test::Random;
using gradc::test::randomBatch;
using gradc::test::slurp;

namespace {

/// The model at \p Path after the pipeline, with \p Defs.
std::unique_ptr<Module> buildModel(const std::string &Path,
                                   std::vector<Define> Defs) {
  std::string Text = slurp(Path);
  SourceFile Src(Path, Text);
  std::ostringstream Log;
  DiagnosticEngine Diags(Log);
  Diags.setSource(&Src);
  std::unique_ptr<Module> M = loadModel(Src, Defs, Diags);
  EXPECT_TRUE(M) << Log.str();
  if (!M)
    return nullptr;
  passes::PassManager PM({}, Log, Diags);
  std::string Err;
  EXPECT_TRUE(PM.parsePipeline("autodiff,dce", Err)) << Err;
  EXPECT_TRUE(PM.run(*M)) << Log.str();
  return M;
}

/// Everything a few calls of an executable produce, as raw bytes.
struct Trace {
  std::vector<double> Losses;
  std::vector<std::vector<uint8_t>> State, Outputs;
  std::vector<double> EvalFigures;
  std::vector<std::string> Errors;
};

Trace runModel(const Module &M, const codegen::EmitOptions &Opts) {
  Trace T;
  std::string Err;
  auto X = runtime::makeJitExecutable(std::make_unique<Module>(M), Err, Opts);
  if (!X) {
    T.Errors.push_back(Err);
    return T;
  }
  X->initialize(3);
  Random R(29);
  auto Call = [&](auto &&F) {
    auto Batch = randomBatch(*X, R);
    std::vector<const void *> Ptrs;
    for (const auto &B : Batch)
      Ptrs.push_back(B.data());
    std::string E;
    if (!F(Ptrs, E))
      T.Errors.push_back(E);
  };
  if (X->hasEntry(runtime::Entry::TrainStep))
    for (int Step = 0; Step < 3; ++Step)
      Call([&](auto &Ptrs, std::string &E) {
        double Loss = 0;
        bool Ok = X->trainStep(Ptrs, 0.05, Loss, E);
        T.Losses.push_back(Loss);
        return Ok;
      });
  for (const runtime::TensorInfo &I : X->stateTensors()) {
    T.State.emplace_back(static_cast<size_t>(I.Type.numElements()) *
                         dtypeSize(I.Type.Elt));
    X->readState(I.Name, T.State.back().data());
  }
  if (X->hasEntry(runtime::Entry::Eval))
    Call([&](auto &Ptrs, std::string &E) {
      double Loss = 0;
      std::vector<double> Metrics;
      bool Ok = X->eval(Ptrs, Loss, Metrics, E);
      T.EvalFigures.push_back(Loss);
      T.EvalFigures.insert(T.EvalFigures.end(), Metrics.begin(), Metrics.end());
      return Ok;
    });
  if (X->hasEntry(runtime::Entry::Predict))
    Call([&](auto &Ptrs, std::string &E) {
      std::vector<runtime::HostTensor> Out;
      bool Ok = X->predict(Ptrs, Out, E);
      for (auto &O : Out)
        T.Outputs.push_back(std::move(O.Bytes));
      return Ok;
    });
  return T;
}

/// Doubles compared by their bits (NaN equals the same NaN).
bool sameBits(const std::vector<double> &A, const std::vector<double> &B) {
  return A.size() == B.size() &&
         (A.empty() || !std::memcmp(A.data(), B.data(), A.size() * sizeof(double)));
}

void expectSameTrace(const Trace &Got, const Trace &Want, const std::string &What) {
  EXPECT_TRUE(Got.Errors.empty() && Want.Errors.empty())
      << What << ": " << (Got.Errors.empty() ? "" : Got.Errors[0])
      << (Want.Errors.empty() ? "" : Want.Errors[0]);
  EXPECT_TRUE(sameBits(Got.Losses, Want.Losses)) << What << ": losses";
  EXPECT_TRUE(sameBits(Got.EvalFigures, Want.EvalFigures)) << What << ": eval";
  ASSERT_EQ(Got.State.size(), Want.State.size()) << What;
  for (size_t I = 0; I < Want.State.size(); ++I)
    EXPECT_TRUE(Got.State[I] == Want.State[I]) << What << ": state tensor " << I;
  ASSERT_EQ(Got.Outputs.size(), Want.Outputs.size()) << What;
  for (size_t I = 0; I < Want.Outputs.size(); ++I)
    EXPECT_TRUE(Got.Outputs[I] == Want.Outputs[I]) << What << ": output " << I;
}

std::vector<std::string> modelPaths() {
  std::string Root = GRADC_SOURCE_DIR;
  std::vector<std::string> Paths;
  for (const char *N : {"xor", "linreg", "mnist_mlp", "lenet", "bn_mlp", "mlp_wide"})
    Paths.push_back(Root + "/examples/" + N + ".nn");
  std::vector<std::string> Cases;
  for (const auto &E : std::filesystem::directory_iterator(Root + "/tests/reference/cases"))
    if (std::filesystem::exists(E.path() / "model.nn"))
      Cases.push_back((E.path() / "model.nn").string());
  std::sort(Cases.begin(), Cases.end());
  Paths.insert(Paths.end(), Cases.begin(), Cases.end());
  return Paths;
}

class ModelThreads : public ::testing::TestWithParam<std::string> {};

TEST_P(ModelThreads, BitIdenticalForOneToFourThreads) {
  std::unique_ptr<Module> M = buildModel(GetParam(), {{"B", "4"}});
  ASSERT_TRUE(M);
  codegen::EmitOptions One;
  One.Threads = 1;
  Trace Want = runModel(*M, One);
  EXPECT_FALSE(Want.State.empty());
  for (unsigned T : {2u, 3u, 4u}) {
    codegen::EmitOptions Opts;
    Opts.Threads = T;
    Opts.MinParallelWork = 1;
    expectSameTrace(runModel(*M, Opts), Want, std::to_string(T) + " threads");
  }
}

INSTANTIATE_TEST_SUITE_P(
    Models, ModelThreads, ::testing::ValuesIn(modelPaths()),
    [](const ::testing::TestParamInfo<std::string> &Info) {
      std::filesystem::path P(Info.param);
      return P.stem() == "model" ? "ref_" + P.parent_path().filename().string()
                                 : P.stem().string();
    });

TEST(Threads, MnistModelsAtFullBatchAreBitIdentical) {
  for (const char *N : {"mnist_mlp", "lenet"}) {
    std::unique_ptr<Module> M =
        buildModel(std::string(GRADC_SOURCE_DIR) + "/examples/" + N + ".nn", {});
    ASSERT_TRUE(M);
    codegen::EmitOptions One;
    One.Threads = 1;
    Trace Want = runModel(*M, One);
    for (unsigned T : {2u, 3u}) {
      codegen::EmitOptions Opts;
      Opts.Threads = T;
      expectSameTrace(runModel(*M, Opts), Want,
                      std::string(N) + ", " + std::to_string(T) + " threads");
    }
  }
}

/// The names of the functions \p M defines or declares.
std::vector<std::string> functionNames(const llvm::Module &M) {
  std::vector<std::string> Out;
  for (const llvm::Function &F : M)
    Out.push_back(F.getName().str());
  return Out;
}

bool mentions(const std::vector<std::string> &Names, std::string_view Part) {
  return std::any_of(Names.begin(), Names.end(), [&](const std::string &N) {
    return N.find(Part) != std::string::npos;
  });
}

TEST(Threads, PthreadsOnlyWhereALoopIsSplit) {
  auto TM = llvm::cantFail(codegen::createHostTargetMachine());
  std::string Root = GRADC_SOURCE_DIR;
  auto Names = [&](const char *Model, unsigned Threads) {
    std::unique_ptr<Module> M = buildModel(Root + "/examples/" + Model + ".nn", {});
    EXPECT_TRUE(M);
    llvm::LLVMContext Ctx;
    codegen::EmitOptions Opts;
    Opts.Threads = Threads;
    auto LM = codegen::emitModule(*M, codegen::computeLayout(*M), Ctx, *TM, Opts);
    EXPECT_EQ(codegen::verifyModuleText(*LM), "");
    // The pool is internal: the module exports only its entries.
    for (const llvm::Function &F : *LM) {
      if (!F.isDeclaration() && F.hasExternalLinkage()) {
        EXPECT_EQ(F.getName().substr(0, 6), "gradc_") << F.getName().str();
      }
      EXPECT_FALSE(F.getName().starts_with("gradc_rt_") && F.hasExternalLinkage())
          << F.getName().str();
    }
    return functionNames(*LM);
  };
  std::vector<std::string> One = Names("lenet", 1);
  EXPECT_FALSE(mentions(One, "pthread"));
  EXPECT_FALSE(mentions(One, "gradc_rt_"));
  EXPECT_TRUE(mentions(One, "gradc_shutdown"));
  std::vector<std::string> Two = Names("lenet", 2);
  EXPECT_TRUE(mentions(Two, "pthread_create"));
  EXPECT_TRUE(mentions(Two, "gradc_rt_parallel_for"));
  // xor's loops are far below the threshold: no pool at all.
  EXPECT_FALSE(mentions(Names("xor", 4), "pthread"));
}

TEST(Threads, ShutdownStopsTheWorkersAndTheNextCallRestartsThem) {
  std::unique_ptr<Module> M =
      buildModel(std::string(GRADC_SOURCE_DIR) + "/examples/mnist_mlp.nn", {});
  ASSERT_TRUE(M);
  codegen::Jit &J = [] () -> codegen::Jit & {
    static auto Jit = llvm::cantFail(codegen::Jit::create());
    return *Jit;
  }();
  codegen::EmitOptions Opts;
  Opts.Threads = 3;
  codegen::Layout L = codegen::computeLayout(*M);
  auto Fns = llvm::cantFail(
      J.compile(codegen::emitModule(*M, L, J.context(), J.targetMachine(), Opts)));
  auto Shutdown = reinterpret_cast<void (*)()>(Fns.at("gradc_shutdown"));
  auto Eval = reinterpret_cast<int64_t (*)(uint8_t *, uint8_t *, const void *const *,
                                           const double *, void *const *, int64_t *)>(
      Fns.at("gradc_eval"));
  Shutdown(); // before any worker started: nothing to do
  auto Aligned = [](size_t Bytes) {
    return std::unique_ptr<uint8_t, decltype(&std::free)>(
        static_cast<uint8_t *>(std::aligned_alloc(64, (Bytes + 64) / 64 * 64)),
        &std::free);
  };
  auto State = Aligned(L.StateBytes), Scratch = Aligned(L.Functions.at("eval").ScratchBytes);
  std::memset(State.get(), 0, L.StateBytes);
  // Every state element 1/64, every pixel 1: the same figures in each call.
  for (const auto &[Name, S] : L.State) {
    std::vector<float> V(S.Bytes / 4, 1.0f / 64);
    std::memcpy(State.get() + S.Offset, V.data(), S.Bytes);
  }
  std::vector<float> X(64 * 784, 1.0f);
  std::vector<int32_t> Y(64, 3);
  auto XBuf = Aligned(X.size() * 4), YBuf = Aligned(Y.size() * 4);
  std::memcpy(XBuf.get(), X.data(), X.size() * 4);
  std::memcpy(YBuf.get(), Y.data(), Y.size() * 4);
  const void *In[] = {XBuf.get(), YBuf.get()};
  std::vector<float> Figures[3];
  for (int Round = 0; Round < 3; ++Round) {
    float Loss[2] = {-1, -1}, Acc[2] = {-1, -1}; // f32 scalars, with room
    void *Res[] = {Loss, Acc};
    int64_t Info[2];
    ASSERT_EQ(Eval(State.get(), Scratch.get(), In, nullptr, Res, Info), 0);
    Figures[Round] = {Loss[0], Acc[0]};
    Shutdown();
  }
  EXPECT_EQ(Figures[0], Figures[1]);
  EXPECT_EQ(Figures[0], Figures[2]);
  EXPECT_NEAR(Figures[0][0], std::log(10.0f), 1e-5); // ten equal logits
}

} // namespace
