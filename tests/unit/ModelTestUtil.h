//===- tests/unit/ModelTestUtil.h - The models the model tests run -*- C++ -*-===//
//
// The model-level tests (JitModelTest, PassesTest, ThreadsTest, ...) run
// every example model and every model of tests/reference/cases, in f32 as
// written and widened to f64 (as tests/support/GradCheck.cpp converts), built
// through a pass pipeline with the verifier after each pass.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "JitTestUtil.h"

#include "frontend/Frontend.h"
#include "passes/PassManager.h"

#include <algorithm>
#include <filesystem>
#include <gtest/gtest.h>
#include <memory>
#include <ostream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace gradc::test {

/// autodiff, then the optimized stage's pipeline: what compileModel runs.
inline std::string fullPipeline() {
  return "autodiff,dce," + std::string(passes::OptimizationPipeline);
}

/// Runs the comma-separated \p Passes on \p M with the verifier after each.
inline void runPipeline(ir::Module &M, std::string_view Passes) {
  std::ostringstream Log;
  DiagnosticEngine Diags(Log);
  passes::Instrumentation Inst;
  Inst.VerifyEach = true;
  passes::PassManager PM(Inst, Log, Diags);
  std::string Err;
  ASSERT_TRUE(PM.parsePipeline(Passes, Err)) << Err;
  ASSERT_TRUE(PM.run(M)) << Log.str();
}

/// The model \p Text (read from \p Path when empty) with \p Defs, every f32
/// made f64 first when \p Wide, after \p Passes; null (and a test failure)
/// when it does not load.
inline std::unique_ptr<ir::Module>
loadTestModel(const std::string &Path, std::vector<Define> Defs, bool Wide,
              std::string_view Passes, std::string Text = "") {
  if (Text.empty())
    Text = slurp(Path);
  SourceFile Src(Path, Text);
  std::ostringstream Log;
  DiagnosticEngine Diags(Log);
  Diags.setSource(&Src);
  std::unique_ptr<ir::Module> M = loadModel(Src, Defs, Diags);
  EXPECT_TRUE(M) << Log.str();
  if (!M)
    return nullptr;
  if (Wide) {
    auto Widen = [](ir::TensorType &T) {
      if (T.Elt == ir::DType::F32)
        T.Elt = ir::DType::F64;
    };
    for (ir::Symbol &S : M->Symbols)
      Widen(S.Type);
    for (ir::Node &N : M->Functions[0].Nodes) {
      Widen(N.Type);
      for (ir::Attr &A : N.Attrs)
        if (auto *D = std::get_if<ir::DType>(&A.Value);
            D && *D == ir::DType::F32)
          *D = ir::DType::F64;
    }
  }
  runPipeline(*M, Passes);
  return M;
}

/// The class count an i32 input \p Sym must stay below: the width of the
/// logits or table its consumer indexes (2 when nothing bounds it).
inline int64_t idRange(const ir::Module &M, const std::string &Sym) {
  using ir::Op;
  for (const ir::Function &F : M.Functions)
    for (const ir::Node &N : F.Nodes)
      for (size_t I = 0; I < N.Operands.size(); ++I) {
        const ir::Node &O = F.node(N.Operands[I]);
        if (O.Opcode != Op::Input || O.Symbol != Sym)
          continue;
        if (N.Opcode == Op::SoftmaxCrossEntropy || N.Opcode == Op::Accuracy)
          return F.type(N.Operands[0]).Dims[1];
        if (N.Opcode == Op::Embedding)
          return F.type(N.Operands[1]).Dims[0];
        if (N.Opcode == Op::OneHot)
          return ir::getInt(N.Attrs, "classes");
      }
  return 2;
}

/// Every examples/*.nn, then every tests/reference/cases/*/model.nn, each
/// group sorted.
inline std::vector<std::string> testModelPaths() {
  namespace fs = std::filesystem;
  std::string Root = GRADC_SOURCE_DIR;
  std::vector<std::string> Examples, Cases;
  for (const auto &E : fs::directory_iterator(Root + "/examples"))
    if (E.path().extension() == ".nn")
      Examples.push_back(E.path().string());
  for (const auto &E : fs::directory_iterator(Root + "/tests/reference/cases"))
    if (fs::exists(E.path() / "model.nn"))
      Cases.push_back((E.path() / "model.nn").string());
  std::sort(Examples.begin(), Examples.end());
  std::sort(Cases.begin(), Cases.end());
  Examples.insert(Examples.end(), Cases.begin(), Cases.end());
  return Examples;
}

/// A model and whether to widen it to f64.
struct ModelParam {
  std::string Path;
  bool Wide;
};

inline void PrintTo(const ModelParam &P, std::ostream *OS) {
  *OS << P.Path << (P.Wide ? " (f64)" : " (f32)");
}

/// Every test model, in f32 and in f64.
inline std::vector<ModelParam> modelParams() {
  std::vector<ModelParam> Out;
  for (const std::string &P : testModelPaths())
    for (bool Wide : {false, true})
      Out.push_back({P, Wide});
  return Out;
}

/// The test name of a model: its file's stem, or ref_CASE for a reference
/// case.
inline std::string modelName(const std::string &Path) {
  std::filesystem::path P(Path);
  return P.stem() == "model" ? "ref_" + P.parent_path().filename().string()
                             : P.stem().string();
}

inline std::string
modelParamName(const ::testing::TestParamInfo<ModelParam> &Info) {
  return modelName(Info.param.Path) + (Info.param.Wide ? "_f64" : "_f32");
}

} // namespace gradc::test
