//===- tests/unit/JitModelTest.cpp - Models: JIT backend vs interp ---------===//
//
// Every example model and every model of tests/reference/cases, f32 as
// written and converted to f64 as tests/support/GradCheck.cpp does, with
// B = 4: the same initial state, three @train_step calls on random batches,
// then the whole state, @eval and @predict, JIT backend against interp
// backend through the Executable interface (inputs in unaligned host
// vectors, as the trainer passes them). Also runtime errors (ids out of
// range: the interp backend's message, state unchanged) and the state and
// step accessors.
//
// Tolerance, with a the JIT's value and b the interpreter's, after training
// steps in which differences propagate through the backward pass and the
// optimizer update: |a - b| <= Rtol * max(|b|, 1e-2), Rtol 1e-10 in f64 and
// 1e-3 in f32 (SPEC §4's tolerance against PyTorch; measured worst: a third
// of it, on bn_mlp's and mlp_wide's first-layer weights).
//
//===----------------------------------------------------------------------===//
#include "GradCheck.h"
#include "JitTestUtil.h"

#include "frontend/Frontend.h"
#include "ir/Interpreter.h"
#include "passes/PassManager.h"
#include "runtime/Interp.h"
#include "runtime/JitExecutable.h"

#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace gradc;
using namespace gradc::ir;
using gradc::test::expectClose;
using gradc::test::Random;
using gradc::test::slurp;

namespace {

/// The model at \p Path with B = 4 after the whole pipeline (fusion too); with \p Wide, every
/// f32 made f64 first (as GradCheck.cpp converts).
std::unique_ptr<Module> buildModel(const std::string &Path, const std::string &Text,
                                   bool Wide) {
  SourceFile Src(Path, Text);
  std::ostringstream Log;
  DiagnosticEngine Diags(Log);
  Diags.setSource(&Src);
  std::vector<Define> Defs = {{"B", "4"}};
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
  EXPECT_TRUE(PM.parsePipeline("autodiff,dce,fuse", Err)) << Err;
  EXPECT_TRUE(PM.run(*M)) << Log.str();
  return M;
}

/// The class count of the i32 input \p Sym: what its consumer accepts.
int64_t idRange(const Module &M, const std::string &Sym) {
  for (const Function &F : M.Functions)
    for (const Node &N : F.Nodes)
      for (size_t I = 0; I < N.Operands.size(); ++I) {
        const Node &O = F.node(N.Operands[I]);
        if (O.Opcode != Op::Input || O.Symbol != Sym)
          continue;
        if (N.Opcode == Op::SoftmaxCrossEntropy || N.Opcode == Op::Accuracy)
          return F.type(N.Operands[0]).Dims[1];
        if (N.Opcode == Op::Embedding)
          return F.type(N.Operands[1]).Dims[0];
        if (N.Opcode == Op::OneHot)
          return getInt(N.Attrs, "classes");
      }
  return 2;
}

/// Random batches for every input of \p X, ids within their range.
std::vector<std::vector<uint8_t>> idBoundedBatch(const runtime::Executable &X, Random &R) {
  std::vector<std::vector<uint8_t>> Out;
  for (const runtime::TensorInfo &I : X.inputs()) {
    std::vector<double> V(static_cast<size_t>(I.Type.numElements()));
    int64_t K = I.Type.Elt == DType::I32 ? idRange(X.module(), I.Name) : 0;
    for (double &D : V)
      D = K ? std::floor(R.uniform(0, static_cast<double>(K))) : R.uniform(-1, 1);
    Out.emplace_back(V.size() * dtypeSize(I.Type.Elt));
    runtime::doublesToBytes(I.Type.Elt, V.data(), V.size(), Out.back().data());
  }
  return Out;
}

std::vector<const void *> pointers(const std::vector<std::vector<uint8_t>> &B) {
  std::vector<const void *> P;
  for (const auto &V : B)
    P.push_back(V.data());
  return P;
}

Tensor stateOf(const runtime::Executable &X, const runtime::TensorInfo &T) {
  std::vector<uint8_t> Bytes(static_cast<size_t>(T.Type.numElements()) * dtypeSize(T.Type.Elt));
  X.readState(T.Name, Bytes.data());
  Tensor Out(T.Type);
  runtime::bytesToDoubles(T.Type.Elt, Bytes.data(), Out.size(), Out.Data.data());
  return Out;
}

Tensor scalar(double V) {
  Tensor T(TensorType(DType::F64, {}));
  T.Data[0] = V;
  return T;
}

struct ModelParam {
  std::string Path;
  bool Wide;
};

void PrintTo(const ModelParam &P, std::ostream *OS) {
  *OS << P.Path << (P.Wide ? " in f64" : "");
}

class ModelJit : public ::testing::TestWithParam<ModelParam> {};

TEST_P(ModelJit, MatchesInterpreter) {
  const ModelParam &P = GetParam();
  std::string Text = slurp(P.Path);
  ASSERT_FALSE(Text.empty()) << P.Path;
  std::unique_ptr<Module> M = buildModel(P.Path, Text, P.Wide);
  ASSERT_TRUE(M);
  std::string Err;
  auto Ref = runtime::makeInterpreterExecutable(std::make_unique<Module>(*M));
  auto Jit = runtime::makeJitExecutable(std::make_unique<Module>(*M), Err);
  ASSERT_TRUE(Jit) << Err;
  const double Rtol = P.Wide ? 1e-10 : 1e-3, Floor = 1e-2;
  Ref->initialize(5);
  Jit->initialize(5);
  for (const runtime::TensorInfo &T : Ref->stateTensors())
    expectClose(stateOf(*Jit, T), stateOf(*Ref, T), 0, 1, "initial " + T.Name);

  Random R(17);
  double Lr = 0.05;
  if (M->Train)
    if (const AttrValue *V = findAttr(M->Train->Optimizer.Args, "lr"))
      Lr = std::get<double>(*V);
  if (Ref->hasEntry(runtime::Entry::TrainStep))
    for (int Step = 1; Step <= 3; ++Step) {
      auto Batch = idBoundedBatch(*Ref, R);
      auto Ptrs = pointers(Batch);
      double LRef = 0, LJit = 0;
      std::string E1, E2;
      ASSERT_TRUE(Ref->trainStep(Ptrs, Lr, LRef, E1)) << E1;
      ASSERT_TRUE(Jit->trainStep(Ptrs, Lr, LJit, E2)) << E2;
      expectClose(scalar(LJit), scalar(LRef), Rtol, Floor,
                  "loss of step " + std::to_string(Step));
    }
  EXPECT_EQ(Jit->step(), Ref->step());
  for (const runtime::TensorInfo &T : Ref->stateTensors())
    expectClose(stateOf(*Jit, T), stateOf(*Ref, T), Rtol, Floor, "state " + T.Name);

  auto Batch = idBoundedBatch(*Ref, R);
  auto Ptrs = pointers(Batch);
  if (Ref->hasEntry(runtime::Entry::Eval)) {
    double LRef = 0, LJit = 0;
    std::vector<double> MRef, MJit;
    std::string E1, E2;
    ASSERT_TRUE(Ref->eval(Ptrs, LRef, MRef, E1)) << E1;
    ASSERT_TRUE(Jit->eval(Ptrs, LJit, MJit, E2)) << E2;
    expectClose(scalar(LJit), scalar(LRef), Rtol, Floor, "eval loss");
    ASSERT_EQ(MJit.size(), MRef.size());
    for (size_t I = 0; I < MRef.size(); ++I)
      expectClose(scalar(MJit[I]), scalar(MRef[I]), Rtol, Floor,
                  "metric " + std::string(Ref->metricNames()[I]));
  }
  if (Ref->hasEntry(runtime::Entry::Predict)) {
    std::vector<runtime::HostTensor> ORef, OJit;
    std::string E1, E2;
    ASSERT_TRUE(Ref->predict(Ptrs, ORef, E1)) << E1;
    ASSERT_TRUE(Jit->predict(Ptrs, OJit, E2)) << E2;
    ASSERT_EQ(OJit.size(), ORef.size());
    for (size_t I = 0; I < ORef.size(); ++I) {
      ASSERT_EQ(OJit[I].Type, ORef[I].Type);
      Tensor A(ORef[I].Type), B(ORef[I].Type);
      runtime::bytesToDoubles(A.Type.Elt, OJit[I].Bytes.data(), A.size(), A.Data.data());
      runtime::bytesToDoubles(B.Type.Elt, ORef[I].Bytes.data(), B.size(), B.Data.data());
      expectClose(A, B, Rtol, Floor, "output " + Ref->outputs()[I].Name);
    }
  }
}

std::vector<ModelParam> models() {
  std::vector<std::string> Paths;
  std::string Root = GRADC_SOURCE_DIR;
  for (const char *N : {"xor", "linreg", "mnist_mlp", "lenet", "bn_mlp", "mlp_wide"})
    Paths.push_back(Root + "/examples/" + N + ".nn");
  std::vector<std::string> Cases;
  for (const auto &E : std::filesystem::directory_iterator(Root + "/tests/reference/cases"))
    if (std::filesystem::exists(E.path() / "model.nn"))
      Cases.push_back((E.path() / "model.nn").string());
  std::sort(Cases.begin(), Cases.end());
  Paths.insert(Paths.end(), Cases.begin(), Cases.end());
  std::vector<ModelParam> Out;
  for (const std::string &P : Paths)
    for (bool Wide : {false, true})
      Out.push_back({P, Wide});
  return Out;
}

INSTANTIATE_TEST_SUITE_P(
    Models, ModelJit, ::testing::ValuesIn(models()),
    [](const ::testing::TestParamInfo<ModelParam> &Info) {
      std::filesystem::path P(Info.param.Path);
      std::string N = P.stem() == "model" ? "ref_" + P.parent_path().filename().string()
                                          : P.stem().string();
      return N + (Info.param.Wide ? "_f64" : "_f32");
    });

//===----------------------------------------------------------------------===//
// Runtime errors through the Executable interface.
//===----------------------------------------------------------------------===//

TEST(JitExecutable, IdOutOfRangeGivesTheInterpretersMessage) {
  std::string Text = "model emb\n"
                     "const B = 4\n"
                     "input ids : i32[B, 2]\n"
                     "input y : i32[B]\n"
                     "param E : f32[5, 3] = normal(0, 1)\n"
                     "h = mean(embedding(ids, E), axes = [1])\n"
                     "loss = softmax_cross_entropy(h, y)\n"
                     "train {\n  minimize loss\n  optimizer sgd(lr = 0.1)\n}\n";
  std::unique_ptr<Module> M = buildModel("emb.nn", Text, false);
  ASSERT_TRUE(M);
  std::string Err;
  auto Ref = runtime::makeInterpreterExecutable(std::make_unique<Module>(*M));
  auto Jit = runtime::makeJitExecutable(std::make_unique<Module>(*M), Err);
  ASSERT_TRUE(Jit) << Err;
  Ref->initialize(1);
  Jit->initialize(1);
  for (auto [BadIds, BadY] : {std::pair{true, false}, std::pair{false, true}}) {
    std::vector<int32_t> Ids = {0, 1, 2, 3, 4, 0, 1, 2}, Y = {0, 1, 2, 0};
    if (BadIds)
      Ids[5] = 9;
    if (BadY)
      Y[2] = -1;
    std::vector<const void *> Ptrs = {Ids.data(), Y.data()};
    Tensor Before = stateOf(*Jit, Jit->stateTensors()[0]);
    double L1 = 0, L2 = 0;
    std::string E1, E2;
    EXPECT_FALSE(Ref->trainStep(Ptrs, 0.1, L1, E1));
    EXPECT_FALSE(Jit->trainStep(Ptrs, 0.1, L2, E2));
    EXPECT_FALSE(E1.empty());
    EXPECT_EQ(E2, E1);
    expectClose(stateOf(*Jit, Jit->stateTensors()[0]), Before, 0, 1, "state after an error");
    EXPECT_EQ(Jit->step(), 0);
    std::vector<double> M1, M2;
    EXPECT_FALSE(Ref->eval(Ptrs, L1, M1, E1));
    EXPECT_FALSE(Jit->eval(Ptrs, L2, M2, E2));
    EXPECT_EQ(E2, E1);
  }
}

TEST(JitExecutable, StateRoundTripsAndStepCounts) {
  std::unique_ptr<Module> M =
      buildModel(std::string(GRADC_SOURCE_DIR) + "/examples/xor.nn",
                 slurp(std::string(GRADC_SOURCE_DIR) + "/examples/xor.nn"), false);
  ASSERT_TRUE(M);
  std::string Err;
  auto Jit = runtime::makeJitExecutable(std::move(M), Err);
  ASSERT_TRUE(Jit) << Err;
  const runtime::TensorInfo *W = Jit->findState("W1");
  ASSERT_TRUE(W);
  std::vector<float> V(static_cast<size_t>(W->Type.numElements()));
  for (size_t I = 0; I < V.size(); ++I)
    V[I] = static_cast<float>(I) * 0.25f;
  Jit->writeState("W1", V.data());
  std::vector<float> Back(V.size());
  Jit->readState("W1", Back.data());
  EXPECT_EQ(Back, V);
  Jit->setStep(41);
  EXPECT_EQ(Jit->step(), 41);
  std::vector<float> X = {0, 0, 0, 1, 1, 0, 1, 1}, Y = {0, 1, 1, 0};
  std::vector<const void *> Ptrs = {X.data(), Y.data()};
  double Loss = 0;
  ASSERT_TRUE(Jit->trainStep(Ptrs, 0.5, Loss, Err)) << Err;
  EXPECT_EQ(Jit->step(), 42);
  Jit->initialize(0);
  EXPECT_EQ(Jit->step(), 0);
}

} // namespace
