//===- tests/unit/FusionTest.cpp - Fused against unfused code --------------===//
//
// The `fuse` pass (passes/Fusion.cpp) and fused codegen (EmitFused.cpp):
//   - every example and reference model, f32 and f64, B = 4: the JIT on the
//     fused module against the JIT on the unfused one, and the interpreter
//     on each, from the same state over three training steps, then the
//     whole state, @eval and @predict. Required: bit-identical results. A
//     fused member computes exactly the scalar ops of its unfused kernel,
//     in the same dtype, and converts its value to its dtype as the store
//     and reload between unfused kernels do; no reassociation or
//     contraction is allowed by the emitted IR (no fast-math flags), and a
//     reduce group's sum reads each element in the unfused order. So there
//     is no rounding difference to tolerate; a nonzero tolerance would hide
//     a fusion bug.
//   - codegen emits exactly ir::countKernels kernels per function;
//   - the MNIST MLP train step needs at most a third of its unfused
//     kernels;
//   - the optimizer update of each param is one loop writing the param and
//     its moments.
//
//===----------------------------------------------------------------------===//
#include "GradCheck.h"
#include "JitTestUtil.h"

#include "codegen/Codegen.h"
#include "codegen/JIT.h"
#include "frontend/Frontend.h"
#include "ir/Fusion.h"
#include "ir/Interpreter.h"
#include "ir/Verifier.h"
#include "passes/PassManager.h"
#include "runtime/Interp.h"
#include "runtime/JitExecutable.h"

#include <gtest/gtest.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/Target/TargetMachine.h>

#include <cmath>
#include <cstring>
#include <set>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace gradc;
using namespace gradc::ir;
using gradc::test::Random;
using gradc::test::randomBatch;
using gradc::test::slurp;

namespace {

/// The model at \p Path after `Passes`, with -D \p Defs; with \p Wide every
/// f32 made f64 first.
std::unique_ptr<Module> build(const std::string &Path, const std::string &Passes,
                              std::vector<Define> Defs, bool Wide = false) {
  std::string Text = slurp(Path);
  SourceFile Src(Path, Text);
  std::ostringstream Log;
  DiagnosticEngine Diags(Log);
  Diags.setSource(&Src);
  std::unique_ptr<Module> M = loadModel(Src, Defs, Diags);
  EXPECT_TRUE(M) << Log.str();
  if (!M)
    return nullptr;
  if (Wide) {
    auto Widen = [](TensorType &T) {
      if (T.Elt == DType::F32)
        T.Elt = DType::F64;
    };
    for (Symbol &S : M->Symbols)
      Widen(S.Type);
    for (Node &N : M->Functions[0].Nodes) {
      Widen(N.Type);
      for (Attr &A : N.Attrs)
        if (auto *D = std::get_if<DType>(&A.Value); D && *D == DType::F32)
          *D = DType::F64;
    }
  }
  passes::PassManager PM({}, Log, Diags);
  std::string Err;
  EXPECT_TRUE(PM.parsePipeline(Passes, Err)) << Err;
  PM.run(*M);
  EXPECT_TRUE(verifyModule(*M).empty()) << Log.str();
  return M;
}

std::vector<uint8_t> stateBytes(const runtime::Executable &X,
                                const runtime::TensorInfo &T) {
  std::vector<uint8_t> B(static_cast<size_t>(T.Type.numElements()) *
                         dtypeSize(T.Type.Elt));
  X.readState(T.Name, B.data());
  return B;
}

/// Runs 3 train steps, eval and predict on \p A and \p B from the same
/// state and batches; expects bit-identical losses, state and outputs.
void expectSameRuns(runtime::Executable &A, runtime::Executable &B,
                    const std::string &What) {
  A.initialize(3);
  B.initialize(3);
  Random R(11);
  auto SameBits = [&](double X, double Y, const std::string &Where) {
    EXPECT_EQ(std::memcmp(&X, &Y, sizeof X), 0)
        << What << ": " << Where << ": " << X << " vs " << Y;
  };
  if (A.hasEntry(runtime::Entry::TrainStep))
    for (int Step = 1; Step <= 3; ++Step) {
      auto Batch = randomBatch(A, R);
      std::vector<const void *> P;
      for (auto &V : Batch)
        P.push_back(V.data());
      double LA = 0, LB = 0;
      std::string E1, E2;
      ASSERT_TRUE(A.trainStep(P, 0.01, LA, E1)) << E1;
      ASSERT_TRUE(B.trainStep(P, 0.01, LB, E2)) << E2;
      SameBits(LA, LB, "loss of step " + std::to_string(Step));
    }
  for (const runtime::TensorInfo &T : A.stateTensors())
    EXPECT_TRUE(stateBytes(A, T) == stateBytes(B, T)) << What << ": state " << T.Name;
  auto Batch = randomBatch(A, R);
  std::vector<const void *> P;
  for (auto &V : Batch)
    P.push_back(V.data());
  if (A.hasEntry(runtime::Entry::Eval)) {
    double LA = 0, LB = 0;
    std::vector<double> MA, MB;
    std::string E1, E2;
    ASSERT_TRUE(A.eval(P, LA, MA, E1)) << E1;
    ASSERT_TRUE(B.eval(P, LB, MB, E2)) << E2;
    if (!std::isnan(LA) || !std::isnan(LB))
      SameBits(LA, LB, "eval loss");
    ASSERT_EQ(MA.size(), MB.size());
    for (size_t I = 0; I < MA.size(); ++I)
      SameBits(MA[I], MB[I], "metric " + std::to_string(I));
  }
  if (A.hasEntry(runtime::Entry::Predict)) {
    std::vector<runtime::HostTensor> OA, OB;
    std::string E1, E2;
    ASSERT_TRUE(A.predict(P, OA, E1)) << E1;
    ASSERT_TRUE(B.predict(P, OB, E2)) << E2;
    ASSERT_EQ(OA.size(), OB.size());
    for (size_t I = 0; I < OA.size(); ++I)
      EXPECT_TRUE(OA[I].Bytes == OB[I].Bytes) << What << ": output " << I;
  }
}

struct ModelParam {
  std::string Path;
  bool Wide;
};
void PrintTo(const ModelParam &P, std::ostream *OS) {
  *OS << P.Path << (P.Wide ? " in f64" : "");
}

class FusedModel : public ::testing::TestWithParam<ModelParam> {};

TEST_P(FusedModel, SameResultsAsUnfused) {
  const ModelParam &P = GetParam();
  auto Unfused = build(P.Path, "autodiff,dce", {{"B", "4"}}, P.Wide);
  ASSERT_TRUE(Unfused);
  auto Fused = std::make_unique<Module>(*Unfused);
  {
    std::ostringstream Log;
    DiagnosticEngine Diags(Log);
    passes::PassManager PM({}, Log, Diags);
    std::string Err;
    ASSERT_TRUE(PM.parsePipeline("fuse", Err));
    PM.run(*Fused);
    ASSERT_TRUE(verifyModule(*Fused).empty());
  }
  size_t Groups = 0;
  for (const Function &F : Fused->Functions) {
    Groups += F.Groups.size();
    // Reordered, never lost: the same nodes and results.
    const Function &U = *Unfused->lookupFunction(F.Name);
    EXPECT_EQ(F.Nodes.size(), U.Nodes.size()) << F.Name;
    ASSERT_EQ(F.Results.size(), U.Results.size()) << F.Name;
    for (size_t I = 0; I < F.Results.size(); ++I)
      EXPECT_EQ(F.node(F.Results[I].Value).Opcode,
                U.node(U.Results[I].Value).Opcode)
          << F.Name << " result " << F.Results[I].Name;
  }
  EXPECT_GT(Groups, 0u) << "nothing was fused";

  std::string Err;
  auto JitU = runtime::makeJitExecutable(std::make_unique<Module>(*Unfused), Err);
  ASSERT_TRUE(JitU) << Err;
  auto JitF = runtime::makeJitExecutable(std::make_unique<Module>(*Fused), Err);
  ASSERT_TRUE(JitF) << Err;
  expectSameRuns(*JitF, *JitU, "JIT fused vs unfused");
  // The interpreter ignores groups: the reordered module means the same.
  auto IntU = runtime::makeInterpreterExecutable(std::make_unique<Module>(*Unfused));
  auto IntF = runtime::makeInterpreterExecutable(std::move(Fused));
  expectSameRuns(*IntF, *IntU, "interpreter fused vs unfused");
}

std::vector<ModelParam> models() {
  std::vector<std::string> Paths;
  std::string Root = GRADC_SOURCE_DIR;
  for (const auto &E : std::filesystem::directory_iterator(Root + "/examples"))
    if (E.path().extension() == ".nn")
      Paths.push_back(E.path().string());
  for (const auto &E :
       std::filesystem::directory_iterator(Root + "/tests/reference/cases"))
    if (std::filesystem::exists(E.path() / "model.nn"))
      Paths.push_back((E.path() / "model.nn").string());
  std::sort(Paths.begin(), Paths.end());
  std::vector<ModelParam> Out;
  for (const std::string &P : Paths)
    for (bool Wide : {false, true})
      Out.push_back({P, Wide});
  return Out;
}

INSTANTIATE_TEST_SUITE_P(
    Models, FusedModel, ::testing::ValuesIn(models()),
    [](const ::testing::TestParamInfo<ModelParam> &Info) {
      std::filesystem::path P(Info.param.Path);
      std::string N = P.stem() == "model"
                          ? "ref_" + P.parent_path().filename().string()
                          : P.stem().string();
      return N + (Info.param.Wide ? "_f64" : "_f32");
    });

std::string example(const char *Name) {
  return std::string(GRADC_SOURCE_DIR) + "/examples/" + Name + ".nn";
}

TEST(Fusion, CodegenEmitsCountKernelsKernels) {
  for (const char *Name : {"mnist_mlp", "lenet", "bn_mlp"}) {
    auto M = build(example(Name), "autodiff,dce,fuse", {});
    ASSERT_TRUE(M);
    auto TM = codegen::createHostTargetMachine();
    ASSERT_TRUE(bool(TM)) << llvm::toString(TM.takeError());
    llvm::LLVMContext Ctx;
    codegen::Layout L = codegen::computeLayout(*M);
    auto LM = codegen::emitModule(*M, L, Ctx, **TM);
    for (const Function &F : M->Functions) {
      size_t N = 0;
      for (const llvm::Function &KF : *LM)
        // A kernel's parallel loop adds its outlined .body and .par.
        if (KF.hasInternalLinkage() && KF.getName().starts_with(F.Name + ".") &&
            !KF.getName().ends_with(".body") && !KF.getName().ends_with(".par"))
          ++N;
      EXPECT_EQ(N, countKernels(F)) << Name << " @" << F.Name;
      // Values inside groups have no buffer; outputs have a scratch region
      // or, updated in place (MemoryPlan.cpp), their State slot.
      FusionInfo I = analyzeFusion(F);
      const codegen::FunctionLayout &FL = L.Functions.at(F.Name);
      for (ValueId V = 0; V < F.Nodes.size(); ++V) {
        if (I.GroupOf[V] >= 0) {
          bool InPlace = !FL.InPlace[V].empty();
          EXPECT_EQ(FL.Values[V].has_value() || InPlace, bool(I.IsOutput[V]))
              << Name << " @" << F.Name << " value " << V;
          EXPECT_FALSE(FL.Values[V].has_value() && InPlace)
              << Name << " @" << F.Name << " value " << V;
        }
      }
    }
  }
}

TEST(Fusion, MnistTrainStepNeedsAThirdOfTheKernels) {
  auto Unfused = build(example("mnist_mlp"), "autodiff,dce", {});
  auto Fused = build(example("mnist_mlp"), "autodiff,dce,fuse", {});
  ASSERT_TRUE(Unfused && Fused);
  size_t Before = countKernels(*Unfused->lookupFunction("train_step"));
  size_t After = countKernels(*Fused->lookupFunction("train_step"));
  EXPECT_GT(Before, 100u);
  EXPECT_LE(3 * After, Before) << Before << " kernels before fusion, " << After
                               << " after";
}

TEST(Fusion, OptimizerUpdateIsOnePassPerParam) {
  // Each param's Adam update writes the param and both moments from one loop.
  auto M = build(example("mnist_mlp"), "autodiff,dce,fuse", {});
  ASSERT_TRUE(M);
  const Function &F = *M->lookupFunction("train_step");
  FusionInfo I = analyzeFusion(F);
  for (const char *P : {"W1", "b1", "W2", "b2"}) {
    std::set<int> Groups;
    for (const Node &N : F.Nodes)
      if (N.Opcode == Op::Assign &&
          (N.Symbol == P || N.Symbol.starts_with(std::string("optimizer/") + P + "/")))
        Groups.insert(I.GroupOf[N.Operands[0]]);
    EXPECT_EQ(Groups.size(), 1u) << P;
    EXPECT_FALSE(Groups.count(-1)) << P;
  }
}

} // namespace
