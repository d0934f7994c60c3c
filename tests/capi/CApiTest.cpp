//===- tests/capi/CApiTest.cpp - libgradc through its C API ---------------===//
//
// Every function of include/gradc/gradc.h, success and error paths: model
// text with errors (the diagnostics come back), files that do not exist,
// NULL arguments, unknown names, buffers of the wrong size, unbound inputs,
// a checkpoint of another model, ids out of range; and the C++ wrapper
// gradc.hpp. Linked against the shared libgradc only (ctest runs it under
// ASan + UBSan in the sanitizer build, scripts/test.sh).
//
//===----------------------------------------------------------------------===//
#include "gradc/gradc.hpp"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <gtest/gtest.h>
#include <unistd.h>
#include <string>
#include <vector>

namespace {

const char *Xor = R"(model xor
const B = 4
input  x : f32[B, 2]
input  y : f32[B, 1]
param  W1 : f32[2, 8] = glorot_uniform
param  b1 : f32[8]    = zeros
param  W2 : f32[8, 1] = glorot_uniform
param  b2 : f32[1]    = zeros
h    = sigmoid(x @ W1 + b1)
output p = sigmoid(h @ W2 + b2)
loss = mse(p, y)
metric max_err = max(abs(p - y))
train {
  minimize  loss
  optimizer sgd(lr = 1.0)
}
)";

const char *Emb = R"(model emb
const B = 2
input ids : i32[B, 3]
input y : i32[B]
param T : f32[5, 4] = normal(0, 1)
param W : f32[4, 3] = glorot_uniform
logits = sum(embedding(ids, T), axes=[1]) @ W
loss = softmax_cross_entropy(logits, y)
output cls = argmax(logits)
train {
  minimize loss
  optimizer adam(lr = 0.01)
}
)";

const float X[4][2] = {{0, 0}, {0, 1}, {1, 0}, {1, 1}};
const float Y[4][1] = {{0}, {1}, {1}, {0}};

std::string tmp(const std::string &Name) {
  return (std::filesystem::temp_directory_path() /
          ("gradc_capi_" + std::to_string(::getpid()) + "_" + Name))
      .string();
}

struct ModelPtr {
  gradc_model *M = nullptr;
  ~ModelPtr() { gradc_model_free(M); }
};

gradc_model *compileOk(ModelPtr &P, const char *Text, const gradc_options *O = nullptr) {
  EXPECT_EQ(gradc_compile_string(Text, "m.nn", O, &P.M), GRADC_OK) << gradc_last_error();
  return P.M;
}

TEST(CApi, VersionAndStatusNames) {
  EXPECT_STREQ(gradc_version(), "0.1.0");
  EXPECT_STREQ(gradc_status_name(GRADC_OK), "GRADC_OK");
  EXPECT_STREQ(gradc_status_name(GRADC_SIZE_MISMATCH), "GRADC_SIZE_MISMATCH");
  EXPECT_STREQ(gradc_status_name(GRADC_INTERNAL_ERROR), "GRADC_INTERNAL_ERROR");
  EXPECT_STREQ(gradc_status_name(99), "GRADC_UNKNOWN_STATUS");
}

TEST(CApi, BadModelTextReturnsTheDiagnostics) {
  gradc_model *M = reinterpret_cast<gradc_model *>(1);
  const char *Bad = "model bad\ninput x : f32[4, 2]\ny = relu(x @ nowhere)\n";
  EXPECT_EQ(gradc_compile_string(Bad, "bad.nn", nullptr, &M), GRADC_MODEL_ERROR);
  EXPECT_EQ(M, nullptr);
  std::string E = gradc_last_error();
  EXPECT_NE(E.find("bad.nn:3:"), std::string::npos) << E;
  EXPECT_NE(E.find("error:"), std::string::npos) << E;
  EXPECT_NE(E.find("nowhere"), std::string::npos) << E;
  EXPECT_NE(E.find("y = relu(x @ nowhere)\n"), std::string::npos) << E; // the line
  EXPECT_NE(E.find("^"), std::string::npos) << E;                       // the caret
}

TEST(CApi, CompileErrors) {
  gradc_model *M = nullptr;
  EXPECT_EQ(gradc_compile_file("/no/such/model.nn", nullptr, &M), GRADC_IO_ERROR);
  EXPECT_NE(std::string(gradc_last_error()).find("/no/such/model.nn"), std::string::npos);
  EXPECT_EQ(gradc_compile_file(nullptr, nullptr, &M), GRADC_INVALID_ARGUMENT);
  EXPECT_EQ(gradc_compile_string(Xor, "x.nn", nullptr, nullptr), GRADC_INVALID_ARGUMENT);
  EXPECT_EQ(gradc_compile_string(nullptr, "x.nn", nullptr, &M), GRADC_INVALID_ARGUMENT);
  gradc_options O{"gpu", 1, nullptr, 0};
  EXPECT_EQ(gradc_compile_string(Xor, "x.nn", &O, &M), GRADC_INVALID_ARGUMENT);
  EXPECT_NE(std::string(gradc_last_error()).find("unknown backend 'gpu'"), std::string::npos);
  const char *BadDef[] = {"=3"};
  O = {nullptr, 1, BadDef, 1};
  EXPECT_EQ(gradc_compile_string(Xor, "x.nn", &O, &M), GRADC_INVALID_ARGUMENT);
  const char *Unknown[] = {"NOPE=3"};
  O = {nullptr, 1, Unknown, 1};
  EXPECT_EQ(gradc_compile_string(Xor, "x.nn", &O, &M), GRADC_MODEL_ERROR);
  EXPECT_NE(std::string(gradc_last_error()).find("NOPE"), std::string::npos);
  O = {nullptr, 1, nullptr, 2};
  EXPECT_EQ(gradc_compile_string(Xor, "x.nn", &O, &M), GRADC_INVALID_ARGUMENT);
  EXPECT_EQ(M, nullptr);
  gradc_model_free(nullptr);
}

TEST(CApi, CompileFileAndDefines) {
  std::string Path = tmp("xor.nn");
  {
    FILE *F = std::fopen(Path.c_str(), "w");
    ASSERT_TRUE(F);
    std::fputs(Xor, F);
    std::fclose(F);
  }
  const char *Defs[] = {"B=8"};
  gradc_options O{"interp", 1, Defs, 1};
  ModelPtr P;
  ASSERT_EQ(gradc_compile_file(Path.c_str(), &O, &P.M), GRADC_OK) << gradc_last_error();
  EXPECT_EQ(gradc_batch_size(P.M), 8);
  std::remove(Path.c_str());
}

TEST(CApi, Describe) {
  ModelPtr P;
  gradc_model *M = compileOk(P, Xor);
  ASSERT_TRUE(M);
  EXPECT_STREQ(gradc_model_name(M), "xor");
  EXPECT_EQ(gradc_batch_size(M), 4);
  EXPECT_TRUE(gradc_can_train(M));
  ASSERT_EQ(gradc_num_inputs(M), 2u);
  gradc_tensor_info I;
  ASSERT_EQ(gradc_input_info(M, 1, &I), GRADC_OK);
  EXPECT_STREQ(I.name, "y");
  EXPECT_EQ(I.dtype, GRADC_F32);
  ASSERT_EQ(I.rank, 2);
  EXPECT_EQ(I.shape[0], 4);
  EXPECT_EQ(I.shape[1], 1);
  EXPECT_EQ(I.elements, 4u);
  EXPECT_EQ(I.bytes, 16u);
  EXPECT_EQ(gradc_input_info(M, 2, &I), GRADC_NOT_FOUND);
  EXPECT_EQ(gradc_input_info(M, 0, nullptr), GRADC_INVALID_ARGUMENT);
  EXPECT_EQ(gradc_input_info(nullptr, 0, &I), GRADC_INVALID_ARGUMENT);
  ASSERT_EQ(gradc_num_outputs(M), 1u);
  ASSERT_EQ(gradc_output_info(M, 0, &I), GRADC_OK);
  EXPECT_STREQ(I.name, "p");
  EXPECT_EQ(gradc_output_info(M, 1, &I), GRADC_NOT_FOUND);
  ASSERT_EQ(gradc_num_tensors(M), 4u); // sgd without momentum: params only
  ASSERT_EQ(gradc_tensor_info_at(M, 2, &I), GRADC_OK);
  EXPECT_STREQ(I.name, "W2");
  EXPECT_EQ(gradc_tensor_info_at(M, 4, &I), GRADC_NOT_FOUND);
  ASSERT_EQ(gradc_find_tensor(M, "b1", &I), GRADC_OK);
  EXPECT_EQ(I.bytes, 32u);
  EXPECT_EQ(gradc_find_tensor(M, "b3", &I), GRADC_NOT_FOUND);
  EXPECT_NE(std::string(gradc_last_error()).find("'b3'"), std::string::npos);
  EXPECT_EQ(gradc_find_tensor(M, nullptr, &I), GRADC_INVALID_ARGUMENT);
  ASSERT_EQ(gradc_num_metrics(M), 1u);
  EXPECT_STREQ(gradc_metric_name(M, 0), "max_err");
  EXPECT_EQ(gradc_metric_name(M, 1), nullptr);
  EXPECT_EQ(gradc_num_inputs(nullptr), 0u);
}

TEST(CApi, TrainEvalPredict) {
  ModelPtr P;
  gradc_model *M = compileOk(P, Xor);
  ASSERT_TRUE(M);
  double Loss = 0;
  EXPECT_EQ(gradc_train_step(M, 0, &Loss), GRADC_NOT_READY);
  EXPECT_NE(std::string(gradc_last_error()).find("'x'"), std::string::npos);
  EXPECT_EQ(gradc_bind_input(M, "x", X, sizeof X - 4), GRADC_SIZE_MISMATCH);
  EXPECT_NE(std::string(gradc_last_error()).find("32 bytes"), std::string::npos);
  EXPECT_EQ(gradc_bind_input(M, "z", X, sizeof X), GRADC_NOT_FOUND);
  EXPECT_NE(std::string(gradc_last_error()).find("'x', 'y'"), std::string::npos);
  EXPECT_EQ(gradc_bind_input(M, "x", nullptr, sizeof X), GRADC_INVALID_ARGUMENT);
  ASSERT_EQ(gradc_bind_input(M, "x", X, sizeof X), GRADC_OK);
  // predict reads x only.
  EXPECT_EQ(gradc_predict(M), GRADC_OK);
  EXPECT_EQ(gradc_train_step(M, 0, &Loss), GRADC_NOT_READY);
  ASSERT_EQ(gradc_bind_input(M, "y", Y, sizeof Y), GRADC_OK);

  ASSERT_EQ(gradc_init(M, 1), GRADC_OK);
  EXPECT_EQ(gradc_init(nullptr, 1), GRADC_INVALID_ARGUMENT);
  double First = 0;
  ASSERT_EQ(gradc_train_step(M, 0, &First), GRADC_OK) << gradc_last_error();
  for (int I = 0; I < 1500; ++I)
    ASSERT_EQ(gradc_train_step(M, 0, &Loss), GRADC_OK);
  EXPECT_LT(Loss, First / 10);
  EXPECT_EQ(gradc_step(M), 1501);
  EXPECT_EQ(gradc_train_step(M, INFINITY, &Loss), GRADC_INVALID_ARGUMENT);
  EXPECT_EQ(gradc_train_step(M, 0.5, nullptr), GRADC_OK);

  double Metrics[2] = {-1, -1}, EvalLoss = -1;
  EXPECT_EQ(gradc_eval(M, &EvalLoss, Metrics, 2), GRADC_SIZE_MISMATCH);
  EXPECT_EQ(gradc_eval(M, &EvalLoss, nullptr, 1), GRADC_INVALID_ARGUMENT);
  ASSERT_EQ(gradc_eval(M, &EvalLoss, Metrics, 1), GRADC_OK);
  EXPECT_GT(EvalLoss, 0);
  EXPECT_LT(Metrics[0], 0.5); // solved
  EXPECT_EQ(Metrics[1], -1);

  float Pred[4] = {};
  ModelPtr Fresh;
  ASSERT_TRUE(compileOk(Fresh, Xor));
  EXPECT_EQ(gradc_read_output(Fresh.M, "p", Pred, sizeof Pred), GRADC_NOT_READY);
  ASSERT_EQ(gradc_predict(M), GRADC_OK);
  EXPECT_EQ(gradc_read_output(M, "p", Pred, 8), GRADC_SIZE_MISMATCH);
  EXPECT_EQ(gradc_read_output(M, "q", Pred, sizeof Pred), GRADC_NOT_FOUND);
  EXPECT_EQ(gradc_read_output(M, "p", nullptr, sizeof Pred), GRADC_INVALID_ARGUMENT);
  ASSERT_EQ(gradc_read_output(M, "p", Pred, sizeof Pred), GRADC_OK);
  for (int I = 0; I < 4; ++I)
    EXPECT_EQ(Pred[I] > 0.5f, Y[I][0] > 0.5f) << I;
  EXPECT_EQ(gradc_predict(nullptr), GRADC_INVALID_ARGUMENT);
}

TEST(CApi, InitIsSeededAndMatchesTheInterpreter) {
  ModelPtr Jit, Interp;
  gradc_options O{"interp", 1, nullptr, 0};
  ASSERT_TRUE(compileOk(Jit, Xor));
  ASSERT_TRUE(compileOk(Interp, Xor, &O));
  float A[16], B[16], C[16];
  ASSERT_EQ(gradc_init(Jit.M, 7), GRADC_OK);
  ASSERT_EQ(gradc_init(Interp.M, 7), GRADC_OK);
  ASSERT_EQ(gradc_read_tensor(Jit.M, "W1", A, sizeof A), GRADC_OK);
  ASSERT_EQ(gradc_read_tensor(Interp.M, "W1", B, sizeof B), GRADC_OK);
  EXPECT_EQ(std::memcmp(A, B, sizeof A), 0);
  ASSERT_EQ(gradc_init(Jit.M, 8), GRADC_OK);
  ASSERT_EQ(gradc_read_tensor(Jit.M, "W1", C, sizeof C), GRADC_OK);
  EXPECT_NE(std::memcmp(A, C, sizeof A), 0);
  // The same steps on both backends.
  for (gradc_model *M : {Jit.M, Interp.M}) {
    ASSERT_EQ(gradc_init(M, 7), GRADC_OK);
    ASSERT_EQ(gradc_bind_input(M, "x", X, sizeof X), GRADC_OK);
    ASSERT_EQ(gradc_bind_input(M, "y", Y, sizeof Y), GRADC_OK);
  }
  for (int I = 0; I < 5; ++I) {
    double L1 = 0, L2 = 0;
    ASSERT_EQ(gradc_train_step(Jit.M, 0, &L1), GRADC_OK);
    ASSERT_EQ(gradc_train_step(Interp.M, 0, &L2), GRADC_OK);
    EXPECT_NEAR(L1, L2, 1e-5 * std::fabs(L2) + 1e-7) << I;
  }
}

TEST(CApi, TensorsAndSteps) {
  ModelPtr P;
  gradc_model *M = compileOk(P, Xor);
  ASSERT_TRUE(M);
  float W[8], Back[8];
  for (int I = 0; I < 8; ++I)
    W[I] = 0.5f * static_cast<float>(I);
  EXPECT_EQ(gradc_write_tensor(M, "b1", W, 4), GRADC_SIZE_MISMATCH);
  EXPECT_EQ(gradc_write_tensor(M, "nope", W, sizeof W), GRADC_NOT_FOUND);
  EXPECT_EQ(gradc_write_tensor(M, "b1", nullptr, sizeof W), GRADC_INVALID_ARGUMENT);
  ASSERT_EQ(gradc_write_tensor(M, "b1", W, sizeof W), GRADC_OK);
  EXPECT_EQ(gradc_read_tensor(M, "b1", Back, 4), GRADC_SIZE_MISMATCH);
  EXPECT_EQ(gradc_read_tensor(M, "nope", Back, sizeof Back), GRADC_NOT_FOUND);
  EXPECT_EQ(gradc_read_tensor(nullptr, "b1", Back, sizeof Back), GRADC_INVALID_ARGUMENT);
  ASSERT_EQ(gradc_read_tensor(M, "b1", Back, sizeof Back), GRADC_OK);
  EXPECT_EQ(std::memcmp(W, Back, sizeof W), 0);
  EXPECT_EQ(gradc_step(M), 0);
  ASSERT_EQ(gradc_set_step(M, 12), GRADC_OK);
  EXPECT_EQ(gradc_step(M), 12);
  EXPECT_EQ(gradc_set_step(M, -1), GRADC_INVALID_ARGUMENT);
  EXPECT_EQ(gradc_set_step(nullptr, 1), GRADC_INVALID_ARGUMENT);
  EXPECT_EQ(gradc_step(nullptr), 0);
}

TEST(CApi, Checkpoints) {
  ModelPtr A, B, Other;
  ASSERT_TRUE(compileOk(A, Xor));
  ASSERT_TRUE(compileOk(B, Xor));
  ASSERT_TRUE(compileOk(Other, Emb));
  ASSERT_EQ(gradc_init(A.M, 3), GRADC_OK);
  ASSERT_EQ(gradc_bind_input(A.M, "x", X, sizeof X), GRADC_OK);
  ASSERT_EQ(gradc_bind_input(A.M, "y", Y, sizeof Y), GRADC_OK);
  for (int I = 0; I < 3; ++I)
    ASSERT_EQ(gradc_train_step(A.M, 0, nullptr), GRADC_OK);
  std::string Path = tmp("xor.safetensors");
  ASSERT_EQ(gradc_save(A.M, Path.c_str()), GRADC_OK) << gradc_last_error();
  ASSERT_EQ(gradc_load(B.M, Path.c_str()), GRADC_OK) << gradc_last_error();
  EXPECT_EQ(gradc_step(B.M), 3);
  float WA[16], WB[16];
  ASSERT_EQ(gradc_read_tensor(A.M, "W1", WA, sizeof WA), GRADC_OK);
  ASSERT_EQ(gradc_read_tensor(B.M, "W1", WB, sizeof WB), GRADC_OK);
  EXPECT_EQ(std::memcmp(WA, WB, sizeof WA), 0);

  // A checkpoint of another model: an error, and nothing changes.
  float TBefore[20], TAfter[20];
  ASSERT_EQ(gradc_read_tensor(Other.M, "T", TBefore, sizeof TBefore), GRADC_OK);
  EXPECT_EQ(gradc_load(Other.M, Path.c_str()), GRADC_CHECKPOINT_ERROR);
  EXPECT_NE(std::string(gradc_last_error()).find("has no tensor 'T'"), std::string::npos)
      << gradc_last_error();
  ASSERT_EQ(gradc_read_tensor(Other.M, "T", TAfter, sizeof TAfter), GRADC_OK);
  EXPECT_EQ(std::memcmp(TBefore, TAfter, sizeof TBefore), 0);
  EXPECT_EQ(gradc_step(Other.M), 0);

  // Not a checkpoint at all; no file; an unwritable place.
  std::string Junk = tmp("junk.safetensors");
  FILE *F = std::fopen(Junk.c_str(), "w");
  ASSERT_TRUE(F);
  std::fputs("not a checkpoint", F);
  std::fclose(F);
  EXPECT_EQ(gradc_load(B.M, Junk.c_str()), GRADC_CHECKPOINT_ERROR);
  EXPECT_EQ(gradc_load(B.M, "/no/such/file.safetensors"), GRADC_IO_ERROR);
  EXPECT_EQ(gradc_save(A.M, "/no/such/dir/x.safetensors"), GRADC_IO_ERROR);
  EXPECT_EQ(gradc_save(nullptr, Path.c_str()), GRADC_INVALID_ARGUMENT);
  EXPECT_EQ(gradc_load(B.M, nullptr), GRADC_INVALID_ARGUMENT);
  std::remove(Path.c_str());
  std::remove(Junk.c_str());
}

TEST(CApi, RuntimeErrors) {
  ModelPtr P;
  gradc_model *M = compileOk(P, Emb);
  ASSERT_TRUE(M);
  int32_t Ids[6] = {0, 1, 2, 3, 9, 0}, Yv[2] = {0, 1};
  ASSERT_EQ(gradc_bind_input(M, "ids", Ids, sizeof Ids), GRADC_OK);
  ASSERT_EQ(gradc_bind_input(M, "y", Yv, sizeof Yv), GRADC_OK);
  float Before[20], After[20];
  ASSERT_EQ(gradc_read_tensor(M, "T", Before, sizeof Before), GRADC_OK);
  double Loss = 0;
  EXPECT_EQ(gradc_train_step(M, 0, &Loss), GRADC_RUNTIME_ERROR);
  std::string E = gradc_last_error();
  EXPECT_NE(E.find("'embedding'"), std::string::npos) << E;
  EXPECT_NE(E.find("(input 'ids')"), std::string::npos) << E;
  ASSERT_EQ(gradc_read_tensor(M, "T", After, sizeof After), GRADC_OK);
  EXPECT_EQ(std::memcmp(Before, After, sizeof Before), 0);
  EXPECT_EQ(gradc_step(M), 0);
  EXPECT_EQ(gradc_eval(M, &Loss, nullptr, 0), GRADC_RUNTIME_ERROR);
  EXPECT_EQ(gradc_predict(M), GRADC_RUNTIME_ERROR);
  int32_t Cls[2];
  EXPECT_EQ(gradc_read_output(M, "cls", Cls, sizeof Cls), GRADC_NOT_READY);
  Ids[4] = 4;
  ASSERT_EQ(gradc_train_step(M, 0, &Loss), GRADC_OK) << gradc_last_error();
  ASSERT_EQ(gradc_predict(M), GRADC_OK);
  ASSERT_EQ(gradc_read_output(M, "cls", Cls, sizeof Cls), GRADC_OK);
  EXPECT_TRUE(Cls[0] >= 0 && Cls[0] < 3);
}

TEST(CApi, ModelWithoutTrainBlock) {
  ModelPtr P;
  gradc_model *M = compileOk(P, "model inf\ninput x : f32[2, 3]\nparam W : f32[3, 1] = ones\n"
                                "output y = x @ W\n");
  ASSERT_TRUE(M);
  EXPECT_FALSE(gradc_can_train(M));
  EXPECT_EQ(gradc_train_step(M, 0, nullptr), GRADC_UNSUPPORTED);
  float In[6] = {1, 2, 3, 4, 5, 6}, Out[2];
  ASSERT_EQ(gradc_bind_input(M, "x", In, sizeof In), GRADC_OK);
  double Loss = 0;
  ASSERT_EQ(gradc_eval(M, &Loss, nullptr, 0), GRADC_OK);
  EXPECT_TRUE(std::isnan(Loss));
  ASSERT_EQ(gradc_predict(M), GRADC_OK);
  ASSERT_EQ(gradc_read_output(M, "y", Out, sizeof Out), GRADC_OK);
  EXPECT_EQ(Out[0], 6.0f);
  EXPECT_EQ(Out[1], 15.0f);
}

TEST(CppApi, ModelWrapper) {
  try {
    gradc::Model::fromString("model m\ninput x : f32[2]\ny = nope(x)\n", "m.nn");
    ADD_FAILURE() << "no exception";
  } catch (const gradc::Error &E) {
    EXPECT_EQ(E.status(), GRADC_MODEL_ERROR);
    EXPECT_NE(std::string(E.what()).find("m.nn:3:"), std::string::npos) << E.what();
  }
  gradc::Options O;
  O.Threads = 1;
  gradc::Model M = gradc::Model::fromString(Xor, "xor.nn", O);
  EXPECT_EQ(M.name(), "xor");
  EXPECT_EQ(M.inputs().size(), 2u);
  EXPECT_EQ(M.inputs()[0].Shape, (std::vector<int64_t>{4, 2}));
  EXPECT_EQ(M.outputs().at(0).Name, "p");
  EXPECT_EQ(M.tensors().size(), 4u);
  EXPECT_EQ(M.tensor("W2").Bytes, 32u);
  EXPECT_THROW(M.tensor("W3"), gradc::Error);
  EXPECT_EQ(M.metricNames(), std::vector<std::string>{"max_err"});
  std::vector<float> Xv(&X[0][0], &X[0][0] + 8), Yv(&Y[0][0], &Y[0][0] + 4);
  M.bind("x", Xv);
  M.bind<float>("y", Yv);
  M.init(0);
  double First = M.trainStep();
  for (int I = 0; I < 300; ++I)
    M.trainStep();
  EXPECT_LT(M.trainStep(0.5), First);
  gradc::EvalResult R = M.eval();
  EXPECT_EQ(R.Metrics.size(), 1u);
  M.predict();
  std::vector<float> Pred(4);
  M.readOutput("p", Pred);
  std::vector<float> Wrong(3);
  try {
    M.readOutput("p", Wrong);
    ADD_FAILURE() << "no exception";
  } catch (const gradc::Error &E) {
    EXPECT_EQ(E.status(), GRADC_SIZE_MISMATCH);
  }
  std::vector<float> B1(8, 0.25f), Back(8);
  M.writeTensor("b1", B1);
  M.readTensor("b1", Back);
  EXPECT_EQ(Back, B1);
  M.setStep(5);
  EXPECT_EQ(M.step(), 5);
  std::string Path = tmp("cpp.safetensors");
  M.save(Path);
  gradc::Model N = gradc::Model::fromString(Xor, "xor.nn", O);
  N.load(Path);
  EXPECT_EQ(N.step(), 5);
  gradc::Model Moved = std::move(N);
  EXPECT_EQ(Moved.step(), 5);
  std::remove(Path.c_str());
}

} // namespace
