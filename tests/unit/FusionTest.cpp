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
//     its moments;
//   - matmul, conv and softmax epilogues: the MNIST MLP's layers, relu
//     mask and cross-entropy gradient fuse into their matmul or softmax
//     (no matmul duplicated; the forward products unstored), and epilogues
//     with broadcasts of every alignment, batched and transposed matmuls,
//     a conv with a per-channel operand and a log_softmax give the unfused
//     bits, serial and with every row loop split over 3 threads.
// The f32 models are compared after the optimized pipeline's other passes
// (matmul_t included), the f64 ones on the gradient module as it is.
//
//===----------------------------------------------------------------------===//
#include "GradCheck.h"
#include "JitTestUtil.h"
#include "ModelTestUtil.h"

#include "codegen/Codegen.h"
#include "codegen/JIT.h"
#include "frontend/Frontend.h"
#include "ir/Fusion.h"
#include "ir/IRParser.h"
#include "ir/Interpreter.h"
#include "ir/Verifier.h"
#include "passes/PassManager.h"
#include "runtime/Interp.h"
#include "runtime/JitExecutable.h"

#include <gtest/gtest.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/Target/TargetMachine.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <set>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace gradc;
using namespace gradc::ir;
using gradc::test::ModelParam;
using gradc::test::Random;
using gradc::test::randomBatch;
using gradc::test::slurp;

namespace {

/// The optimized pipeline (passes/PassManager.h) without its last pass.
constexpr const char *kBeforeFuse = "autodiff,constfold,simplify,cse,layout,dce";
constexpr const char *kOptimized =
    "autodiff,constfold,simplify,cse,layout,dce,fuse";

/// The model at \p Path after `Passes`, with -D \p Defs; with \p Wide every
/// f32 made f64 first.
std::unique_ptr<Module> build(const std::string &Path, const std::string &Passes,
                              std::vector<Define> Defs, bool Wide = false) {
  return test::loadTestModel(Path, std::move(Defs), Wide, Passes);
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

class FusedModel : public ::testing::TestWithParam<ModelParam> {};

TEST_P(FusedModel, SameResultsAsUnfused) {
  const ModelParam &P = GetParam();
  // f32: the optimized stage up to fuse (layout's matmul_t included); f64:
  // the gradient module as it is.
  auto Unfused = build(P.Path, P.Wide ? "autodiff,dce" : kBeforeFuse,
                       {{"B", "4"}}, P.Wide);
  ASSERT_TRUE(Unfused);
  auto Fused = std::make_unique<Module>(*Unfused);
  test::runPipeline(*Fused, "fuse");
  ASSERT_TRUE(verifyModule(*Fused).empty());
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

INSTANTIATE_TEST_SUITE_P(Models, FusedModel,
                         ::testing::ValuesIn(test::modelParams()),
                         test::modelParamName);

std::string example(const char *Name) {
  return std::string(GRADC_SOURCE_DIR) + "/examples/" + Name + ".nn";
}

TEST(Fusion, CodegenEmitsCountKernelsKernels) {
  for (const char *Name : {"mnist_mlp", "lenet", "bn_mlp"}) {
    auto M = build(example(Name), kOptimized, {});
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

TEST(Fusion, MnistMatmulsAndSoftmaxTakeTheirEpilogues) {
  // The optimized MNIST MLP train step: both forward layers' bias (and relu)
  // and the backward relu mask run in their matmul's kernel; the softmax
  // cross-entropy gradient in the softmax's. No matmul is duplicated.
  auto Opt = build(example("mnist_mlp"), kOptimized, {});
  auto Before = build(example("mnist_mlp"), kBeforeFuse, {});
  ASSERT_TRUE(Opt && Before);
  const Function &F = *Opt->lookupFunction("train_step");
  FusionInfo I = analyzeFusion(F);
  size_t Matmuls = 0, Softmaxes = 0, Unstored = 0;
  for (const FusionGroup &G : F.Groups) {
    Matmuls += G.Kind == FusionKind::Matmul;
    Softmaxes += G.Kind == FusionKind::Softmax;
    if (isEpilogueKind(G.Kind)) {
      EXPECT_TRUE(epilogueKind(F.node(G.Begin)) == G.Kind);
      EXPECT_GT(G.End - G.Begin, 1u);
      Unstored += !I.IsOutput[G.Begin];
    }
  }
  EXPECT_GE(Matmuls, 3u);
  EXPECT_GE(Softmaxes, 1u);
  EXPECT_GE(Unstored, 2u) << "the forward layers' products need no buffer";
  auto CountOps = [](const Function &Fn, std::initializer_list<Op> Ops) {
    size_t N = 0;
    for (const Node &Nd : Fn.Nodes)
      N += std::find(Ops.begin(), Ops.end(), Nd.Opcode) != Ops.end();
    return N;
  };
  const Function &U = *Before->lookupFunction("train_step");
  EXPECT_EQ(CountOps(F, {Op::Matmul, Op::MatmulT}),
            CountOps(U, {Op::Matmul, Op::MatmulT}));
  EXPECT_LT(countKernels(F), countKernels(U) / 3);
}

/// Epilogues with broadcast operands of every alignment, batched and
/// transposed matmuls, a conv with a per-channel operand, a log_softmax:
/// the fused module's predict on the JIT, serial and with every row loop
/// split over 3 threads, must equal the unfused one's bit for bit.
TEST(Fusion, EpiloguesWithBroadcastsAreBitIdentical) {
  const char *Text = R"(module @m
input @a : f32[2, 4, 3]
input @w : f32[3, 5]
input @b : f32[5]
input @r : f32[2, 4, 1]
input @t : f32[5, 4]
input @img : f32[2, 2, 6, 6]
input @k : f32[3, 2, 3, 3]
input @ch : f32[1, 3, 1, 1]
input @l : f64[4, 7]
input @lr : f64[4, 1]
func @predict {
  %a = input @a : f32[2, 4, 3]
  %w = input @w : f32[3, 5]
  %b = input @b : f32[5]
  %r = input @r : f32[2, 4, 1]
  %y = matmul %a, %w : f32[2, 4, 5]
  %y1 = add %y, %b : f32[2, 4, 5]
  %y2 = mul %y1, %r : f32[2, 4, 5]
  %y3 = tanh %y2 : f32[2, 4, 5]
  %t = input @t : f32[5, 4]
  %z = matmul_t %t, %w {transpose_a = true, transpose_b = true} : f32[4, 3]
  %z1 = gelu %z : f32[4, 3]
  %z2 = sigmoid %z : f32[4, 3]
  %img = input @img : f32[2, 2, 6, 6]
  %k = input @k : f32[3, 2, 3, 3]
  %ch = input @ch : f32[1, 3, 1, 1]
  %c = conv2d %img, %k {stride = [1, 1], padding = [1, 1], dilation = [1, 1], groups = 1} : f32[2, 3, 6, 6]
  %c1 = add %c, %ch : f32[2, 3, 6, 6]
  %c2 = relu %c1 : f32[2, 3, 6, 6]
  %l = input @l : f64[4, 7]
  %lr = input @lr : f64[4, 1]
  %s = log_softmax %l {axis = 1} : f64[4, 7]
  %s1 = sub %s, %lr : f64[4, 7]
  output y3 = %y3
  output z1 = %z1
  output z2 = %z2
  output c = %c
  output c2 = %c2
  output s1 = %s1
}
)";
  auto Parse = [&]() {
    SourceFile Src("epilogues.ir", Text);
    std::ostringstream Log;
    DiagnosticEngine Diags(Log);
    Diags.setSource(&Src);
    std::unique_ptr<Module> M = parseModule(Src, Diags);
    EXPECT_TRUE(M) << Log.str();
    return M;
  };
  auto Unfused = Parse(), Fused = Parse();
  ASSERT_TRUE(Unfused && Fused);
  {
    std::ostringstream Log;
    DiagnosticEngine Diags(Log);
    passes::PassManager PM({}, Log, Diags);
    std::string Err;
    ASSERT_TRUE(PM.parsePipeline("fuse", Err)) << Err;
    PM.run(*Fused);
    ASSERT_TRUE(verifyModule(*Fused).empty());
  }
  std::set<FusionKind> Kinds;
  for (const FusionGroup &G : Fused->Functions[0].Groups)
    Kinds.insert(G.Kind);
  EXPECT_TRUE(Kinds.count(FusionKind::Matmul));
  EXPECT_TRUE(Kinds.count(FusionKind::Conv));
  EXPECT_TRUE(Kinds.count(FusionKind::Softmax));

  codegen::EmitOptions Split;
  Split.Threads = 3;
  Split.MinParallelWork = 1;
  std::string Err;
  auto Want = runtime::makeJitExecutable(std::make_unique<Module>(*Unfused), Err);
  ASSERT_TRUE(Want) << Err;
  for (const codegen::EmitOptions &O : {codegen::EmitOptions{}, Split}) {
    auto Got = runtime::makeJitExecutable(std::make_unique<Module>(*Fused), Err, O);
    ASSERT_TRUE(Got) << Err;
    expectSameRuns(*Got, *Want, "fused epilogues, " +
                                    std::to_string(O.Threads) + " threads");
  }
}

} // namespace
