//===- tests/unit/AotTest.cpp - The AOT object's code against the JIT -----===//
//
// buildAotModule's module (what `gradc compile` writes to the object) is
// loaded into a JIT here so its C entry points can be called in-process:
//   - PREFIX_init gives, bit for bit, the runtime's initial values
//     (runtime/Init.cpp) for every initializer, dtype and several seeds;
//   - PREFIX_train_step gives the JIT backend's losses and state, bit for
//     bit, step after step, with a schedule, Adam, batch norm and dropout,
//     for aligned and misaligned inputs; eval and predict likewise;
//   - an id out of range: NaN, the state unchanged, PREFIX_last_error names
//     the op, its place and the input, and the next good call clears it;
//   - PREFIX_tensor finds every checkpoint tensor and nothing else.
// The object file itself is checked by tests/aot/check_aot.py (ctest
// aot_example): linking, symbols, instruction sets.
//
//===----------------------------------------------------------------------===//
#include "codegen/Aot.h"
#include "codegen/JIT.h"
#include "runtime/Compile.h"
#include "runtime/Init.h"
#include "runtime/Interp.h"
#include "runtime/JitExecutable.h"
#include "runtime/Trainer.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <gtest/gtest.h>
#include <set>
#include <llvm/IR/Module.h>
#include <llvm/Target/TargetMachine.h>
#include <sstream>

using namespace gradc;

namespace {

std::unique_ptr<ir::Module> build(const std::string &Text) {
  SourceFile Src("m.nn", Text);
  std::ostringstream Log;
  DiagnosticEngine Diags(Log);
  Diags.setSource(&Src);
  runtime::CompileOptions O;
  auto M = runtime::buildFinalModule(Src, O, Diags, Log);
  EXPECT_TRUE(M) << Log.str();
  return M;
}

/// The AOT module of \p M, compiled in-process, and a state block.
struct Loaded {
  std::unique_ptr<codegen::Jit> J;
  std::map<std::string, void *> Fns;
  void *State = nullptr;
  codegen::AotLayout AL;
  ~Loaded() { std::free(State); }
  template <typename F> F fn(const std::string &Name) {
    auto It = Fns.find(Name);
    EXPECT_NE(It, Fns.end()) << Name;
    return It == Fns.end() ? nullptr : reinterpret_cast<F>(It->second);
  }
};

std::unique_ptr<Loaded> load(const ir::Module &M,
                             codegen::AotOptions O = {}) {
  auto L = std::make_unique<Loaded>();
  auto J = codegen::Jit::create();
  EXPECT_TRUE(!!J);
  if (!J)
    return nullptr;
  L->J = std::move(*J);
  auto TM = codegen::createHostTargetMachine();
  EXPECT_TRUE(!!TM);
  auto LM = codegen::buildAotModule(M, O, L->J->context(), **TM);
  if (!LM) {
    ADD_FAILURE() << llvm::toString(LM.takeError());
    return nullptr;
  }
  for (const llvm::Function &F : **LM)
    if (!F.isDeclaration()) {
      EXPECT_TRUE(F.hasLocalLinkage() || F.getName().starts_with(M.Name + "_"))
          << F.getName().str();
    }
  auto Fns = L->J->compile(std::move(*LM));
  if (!Fns) {
    ADD_FAILURE() << llvm::toString(Fns.takeError());
    return nullptr;
  }
  L->Fns = std::move(*Fns);
  L->AL = codegen::computeAotLayout(M, codegen::computeLayout(M));
  L->State = std::aligned_alloc(64, L->AL.TotalBytes);
  std::memset(L->State, 0xA5, L->AL.TotalBytes); // init must set everything
  return L;
}

std::vector<uint8_t> stateBytes(const runtime::Executable &X,
                                const runtime::TensorInfo &T) {
  std::vector<uint8_t> B(static_cast<size_t>(T.Type.numElements()) *
                         ir::dtypeSize(T.Type.Elt));
  X.readState(T.Name, B.data());
  return B;
}

std::vector<uint8_t> aotBytes(Loaded &L, const runtime::TensorInfo &T) {
  auto Tensor = L.fn<void *(*)(void *, const char *)>("m_tensor");
  auto *P = static_cast<uint8_t *>(Tensor(L.State, T.Name.c_str()));
  EXPECT_TRUE(P) << T.Name;
  size_t N = static_cast<size_t>(T.Type.numElements()) * ir::dtypeSize(T.Type.Elt);
  return P ? std::vector<uint8_t>(P, P + N) : std::vector<uint8_t>();
}

const char *InitModel = R"(model m
input x : f32[3, 4]
param a : f32[4, 5] = glorot_uniform
param b : f32[5] = zeros
param c : f64[4, 5] = he_normal
param k : f32[6, 4, 3, 3] = he_uniform
param d : f32[5] = normal(0.5, 2.0)
param e : f64[5] = uniform(-3, 0.25)
param g : f32[5] = glorot_normal
param h : f32[5] = constant(0.1)
param o : f32[] = ones
y = sum(x @ a + b) + cast(sum(cast(x, f64) @ c) + sum(e), f32) + sum(k) + sum(d) + sum(g) + sum(h) + o
loss = square(y)
train {
  minimize loss
  optimizer adam(lr = 0.01)
}
)";

TEST(Aot, InitIsBitIdenticalToTheRuntime) {
  auto M = build(InitModel);
  ASSERT_TRUE(M);
  auto L = load(*M);
  ASSERT_TRUE(L);
  std::string Err;
  auto X = runtime::makeJitExecutable(std::make_unique<ir::Module>(*M), Err);
  ASSERT_TRUE(X) << Err;
  auto Init = L->fn<void (*)(void *, uint64_t)>("m_init");
  for (uint64_t Seed : {0ULL, 1ULL, 42ULL, ~0ULL}) {
    Init(L->State, Seed);
    X->initialize(Seed);
    for (const runtime::TensorInfo &T : X->stateTensors())
      EXPECT_EQ(aotBytes(*L, T), stateBytes(*X, T)) << T.Name << " seed " << Seed;
    // The seeds give different values (the comparison is not vacuous).
    EXPECT_NE(aotBytes(*L, *X->findState("k"))[0], 0xA5);
  }
  auto Step = L->fn<int64_t (*)(const void *)>("m_step");
  EXPECT_EQ(Step(L->State), 0);
}

const char *TrainModel = R"(model m
const B = 8
input x : f32[B, 6]
input y : i32[B]
param W1 : f32[6, 16] = he_normal
param b1 : f32[16] = zeros
param g : f32[16] = ones
param be : f32[16] = zeros
param W2 : f32[16, 3] = glorot_uniform
h = batch_norm(relu(x @ W1 + b1), g, be)
d = dropout(h, 0.25)
logits = d @ W2
loss = softmax_cross_entropy(logits, y)
output probs = softmax(logits)
metric acc = accuracy(logits, y)
train {
  minimize loss
  optimizer adam(lr = 0.01)
  clip_grad_norm 1.0
  schedule cosine(steps = 4, min_lr = 0.001)
}
)";

TEST(Aot, TrainEvalPredictMatchTheJitBitForBit) {
  auto M = build(TrainModel);
  ASSERT_TRUE(M);
  auto L = load(*M);
  ASSERT_TRUE(L);
  std::string Err;
  auto X = runtime::makeJitExecutable(std::make_unique<ir::Module>(*M), Err);
  ASSERT_TRUE(X) << Err;
  using TrainFn = float (*)(void *, const float *, const int32_t *, float);
  auto Train = L->fn<TrainFn>("m_train_step");
  auto Eval = L->fn<void (*)(void *, const float *, const int32_t *, float *,
                             float *)>("m_eval");
  auto Predict = L->fn<void (*)(void *, const float *, float *)>("m_predict");
  ASSERT_TRUE(Train && Eval && Predict);
  L->fn<void (*)(void *, uint64_t)>("m_init")(L->State, 3);
  X->initialize(3);

  // Inputs at a 64-byte boundary and 4 bytes past one (staged).
  alignas(64) float XBuf[8 * 6 + 16];
  alignas(64) int32_t YBuf[8 + 16];
  for (int Step = 0; Step < 6; ++Step) {
    float *Xp = XBuf + (Step % 2);
    int32_t *Yp = YBuf + (Step % 2);
    for (int I = 0; I < 48; ++I)
      Xp[I] = std::sin(0.37f * static_cast<float>(I + 7 * Step));
    for (int I = 0; I < 8; ++I)
      Yp[I] = (I + Step) % 3;
    std::vector<const void *> In = {Xp, Yp};
    double Want = 0;
    double Lr = runtime::learningRate(*M->Train, std::nullopt, X->step());
    ASSERT_TRUE(X->trainStep(In, Lr, Want, Err)) << Err;
    float Got = Train(L->State, Xp, Yp, 0.0f);
    EXPECT_EQ(Got, static_cast<float>(Want)) << "step " << Step + 1;
  }
  EXPECT_EQ(L->fn<int64_t (*)(const void *)>("m_step")(L->State), 6);
  for (const runtime::TensorInfo &T : X->stateTensors())
    EXPECT_EQ(aotBytes(*L, T), stateBytes(*X, T)) << T.Name;

  std::vector<const void *> In = {XBuf, YBuf};
  double WantLoss = 0;
  std::vector<double> WantMetrics;
  ASSERT_TRUE(X->eval(In, WantLoss, WantMetrics, Err)) << Err;
  float Loss = 0, Acc = -1;
  Eval(L->State, XBuf, YBuf, &Loss, &Acc);
  EXPECT_EQ(Loss, static_cast<float>(WantLoss));
  EXPECT_EQ(Acc, static_cast<float>(WantMetrics.at(0)));
  std::vector<runtime::HostTensor> Outs;
  ASSERT_TRUE(X->predict(In, Outs, Err)) << Err;
  std::vector<float> Probs(8 * 3);
  Predict(L->State, XBuf, Probs.data());
  ASSERT_EQ(Outs.at(0).Bytes.size(), Probs.size() * sizeof(float));
  EXPECT_EQ(std::memcmp(Outs[0].Bytes.data(), Probs.data(), Outs[0].Bytes.size()), 0);

  // An explicit base rate: the schedule still applies (t = 6 > steps: min_lr).
  X->setStep(6);
  double Lr = runtime::learningRate(*M->Train, 0.5, 6);
  double Want = 0;
  ASSERT_TRUE(X->trainStep(In, Lr, Want, Err)) << Err;
  EXPECT_EQ(Train(L->State, XBuf, YBuf, 0.5f), static_cast<float>(Want));
  for (const runtime::TensorInfo &T : X->stateTensors())
    EXPECT_EQ(aotBytes(*L, T), stateBytes(*X, T)) << T.Name;
}

const char *EmbModel = R"(model m
const B = 2
input ids : i32[B, 3]
input y : i32[B]
param T : f32[5, 4] = normal(0, 1)
param W : f32[4, 3] = glorot_uniform
logits = sum(embedding(ids, T), axes=[1]) @ W
loss = softmax_cross_entropy(logits, y)
metric acc = accuracy(logits, y)
output cls = argmax(logits)
train {
  minimize loss
  optimizer sgd(lr = 0.1)
}
)";

TEST(Aot, RuntimeErrorsGiveNaNAndAMessage) {
  auto M = build(EmbModel);
  ASSERT_TRUE(M);
  codegen::AotOptions O;
  O.ErrorMessages[{"train_step", 0}] = "unused";
  for (const ir::Function &F : M->Functions)
    for (ir::ValueId V = 0; V < F.Nodes.size(); ++V)
      if (F.Nodes[V].Opcode == ir::Op::Embedding)
        O.ErrorMessages[{F.Name, V}] = F.Name + ": embedding failed";
  auto L = load(*M, O);
  ASSERT_TRUE(L);
  auto Init = L->fn<void (*)(void *, uint64_t)>("m_init");
  auto Train = L->fn<float (*)(void *, const int32_t *, const int32_t *, float)>(
      "m_train_step");
  auto Eval = L->fn<void (*)(void *, const int32_t *, const int32_t *, float *,
                             float *)>("m_eval");
  auto Predict = L->fn<void (*)(void *, const int32_t *, int32_t *)>("m_predict");
  auto LastError = L->fn<const char *(*)(const void *, int64_t *)>("m_last_error");
  auto Tensor = L->fn<void *(*)(void *, const char *)>("m_tensor");
  Init(L->State, 0);
  EXPECT_EQ(LastError(L->State, nullptr), nullptr);
  int32_t Ids[6] = {0, 1, 2, 3, 4, 0}, Y[2] = {0, 1};
  std::vector<float> Before(20);
  std::memcpy(Before.data(), Tensor(L->State, "T"), 80);

  Ids[4] = 7;
  EXPECT_TRUE(std::isnan(Train(L->State, Ids, Y, 0)));
  int64_t Index = -1;
  const char *Msg = LastError(L->State, &Index);
  ASSERT_TRUE(Msg);
  EXPECT_STREQ(Msg, "train_step: embedding failed");
  EXPECT_EQ(Index, 4);
  EXPECT_EQ(std::memcmp(Before.data(), Tensor(L->State, "T"), 80), 0);
  EXPECT_EQ(L->fn<int64_t (*)(const void *)>("m_step")(L->State), 0);
  float Loss = 0, Acc = 0;
  Eval(L->State, Ids, Y, &Loss, &Acc);
  EXPECT_TRUE(std::isnan(Loss) && std::isnan(Acc));
  EXPECT_STREQ(LastError(L->State, nullptr), "eval: embedding failed");
  int32_t Cls[2];
  Predict(L->State, Ids, Cls);
  EXPECT_STREQ(LastError(L->State, nullptr), "predict: embedding failed");

  // A class id out of range: a node without a listed message.
  Ids[4] = 4;
  Y[1] = 3;
  EXPECT_TRUE(std::isnan(Train(L->State, Ids, Y, 0)));
  ASSERT_TRUE(LastError(L->State, &Index));
  EXPECT_NE(std::string(LastError(L->State, nullptr)).find("out of range"),
            std::string::npos);
  EXPECT_EQ(Index, 1);

  Y[1] = 2;
  EXPECT_TRUE(std::isfinite(Train(L->State, Ids, Y, 0)));
  EXPECT_EQ(LastError(L->State, nullptr), nullptr);
  EXPECT_EQ(L->fn<int64_t (*)(const void *)>("m_step")(L->State), 1);
  L->fn<void (*)(void *, int64_t)>("m_set_step")(L->State, 41);
  EXPECT_EQ(L->fn<int64_t (*)(const void *)>("m_step")(L->State), 41);
}

TEST(Aot, TensorLookupAndTable) {
  auto M = build(TrainModel);
  ASSERT_TRUE(M);
  auto L = load(*M);
  ASSERT_TRUE(L);
  auto X = runtime::makeInterpreterExecutable(std::make_unique<ir::Module>(*M));
  auto Tensor = L->fn<void *(*)(void *, const char *)>("m_tensor");
  std::set<void *> Seen;
  for (const runtime::TensorInfo &T : X->stateTensors()) {
    void *P = Tensor(L->State, T.Name.c_str());
    ASSERT_TRUE(P) << T.Name;
    EXPECT_TRUE(Seen.insert(P).second) << T.Name;
    EXPECT_GE(static_cast<uint8_t *>(P), static_cast<uint8_t *>(L->State) + 64);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(P) % 64, 0u);
  }
  EXPECT_GE(Seen.size(), 10u); // params, adam slots, running statistics
  for (const char *Bad : {"", "W", "W1 ", ".step", ".seed", "optimizer/W1"})
    EXPECT_EQ(Tensor(L->State, Bad), nullptr) << Bad;
  EXPECT_EQ(Tensor(L->State, nullptr), nullptr);
  EXPECT_TRUE(Tensor(L->State, "h.running_var") || Tensor(L->State, "d.running_var") ||
              Tensor(L->State, "optimizer/W1/exp_avg"));
}

TEST(Aot, HeaderDeclaresEveryEntry) {
  auto M = build(TrainModel);
  ASSERT_TRUE(M);
  codegen::AotOptions O;
  std::string H = codegen::aotHeader(*M, O);
  codegen::AotLayout AL = codegen::computeAotLayout(*M, codegen::computeLayout(*M));
  for (std::string Want :
       {"#define M_STATE_BYTES " + std::to_string(AL.TotalBytes) + "u",
        std::string("#define M_STATE_ALIGN 64u"), std::string("#define M_BATCH 8"),
        std::string("void m_init(void *state, uint64_t seed);"),
        std::string("float m_train_step(void *state, const float *x, const "
                    "int32_t *y, float lr);"),
        std::string("void m_eval(void *state, const float *x, const int32_t "
                    "*y, float *loss, float *metrics);"),
        std::string("void m_predict(void *state, const float *x, float *probs);"),
        std::string("void *m_tensor(void *state, const char *name);"),
        std::string("x          f32[8, 6] (48 floats)"),
        std::string("[0] acc")})
    EXPECT_NE(H.find(Want), std::string::npos) << Want << "\n" << H;
}

TEST(Aot, UnknownCpuIsAnError) {
  auto M = build(EmbModel);
  ASSERT_TRUE(M);
  codegen::AotOptions O;
  O.Cpu = "no-such-cpu";
  std::string Out, Err;
  EXPECT_FALSE(codegen::compileAot(*M, O, Out, Err));
  EXPECT_NE(Err.find("unknown CPU 'no-such-cpu'"), std::string::npos) << Err;
  O.Cpu = "x86-64-v3";
  O.Emit = codegen::AotEmit::Assembly;
  ASSERT_TRUE(codegen::compileAot(*M, O, Out, Err)) << Err;
  EXPECT_NE(Out.find("m_train_step:"), std::string::npos);
  EXPECT_EQ(Out.find("zmm"), std::string::npos);
}

} // namespace
