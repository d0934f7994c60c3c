//===- tests/unit/MemoryPlanTest.cpp - The static memory plan -------------===//
//
// The plan of codegen/MemoryPlan.cpp on every function of every example
// model and of every model of tests/reference/cases, after the compiler's
// own pipeline:
//   - an execution replay: the function's nodes run in order over a map of
//     which value owns each 64-byte block of scratch; a node writes its
//     region's blocks, and every read of a value (operands at their node,
//     results and assigned values at the end) must find all of its blocks
//     still its own. The same for State slots written in place: a read of
//     the old param, or of a value the slot no longer holds, is an error,
//     and so is a node that may fail after an in-place write;
//   - every pair of regions whose live ranges meet is disjoint, and no
//     operand's region meets its node's;
//   - offsets are 64-byte aligned and inside the arena; the lower bound <=
//     the planned peak <= the unplanned sum;
//   - the acceptance figure of issue 5: for every example, the planned
//     scratch arena is at most 60% of the unplanned sum (a table is
//     printed);
//   - the JIT executable reports the plan (memoryUse).
// The JIT-vs-interpreter tests of in-place updates, the unsafe cases
// included, are in JitTest.cpp.
//
//===----------------------------------------------------------------------===//
#include "codegen/MemoryPlan.h"
#include "ir/Fusion.h"
#include "runtime/Compile.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fmt/format.h>
#include <fstream>
#include <map>
#include <sstream>

using namespace gradc;
using namespace gradc::ir;

namespace {

const std::string Root = GRADC_SOURCE_DIR;

std::string slurp(const std::string &Path) {
  std::ifstream In(Path);
  std::stringstream SS;
  SS << In.rdbuf();
  return SS.str();
}

/// The model at \p Path after the compiler's pipeline (its last IR stage).
std::unique_ptr<Module> build(const std::string &Path) {
  SourceFile Src(Path, slurp(Path));
  std::ostringstream Log;
  DiagnosticEngine Diags(Log);
  Diags.setSource(&Src);
  runtime::CompileOptions Opts;
  auto M = runtime::buildModule(Src, Opts, runtime::Stage::Llvm, Diags, Log);
  EXPECT_TRUE(M) << Path << ": " << Log.str();
  return M;
}

std::vector<std::string> examples() {
  std::vector<std::string> P;
  for (const char *N : {"xor", "linreg", "mnist_mlp", "lenet", "bn_mlp", "mlp_wide"})
    P.push_back(Root + "/examples/" + N + ".nn");
  return P;
}

std::vector<std::string> allModels() {
  std::vector<std::string> P = examples();
  std::vector<std::string> Cases;
  for (const auto &E : std::filesystem::directory_iterator(Root + "/tests/reference/cases"))
    if (std::filesystem::exists(E.path() / "model.nn"))
      Cases.push_back((E.path() / "model.nn").string());
  std::sort(Cases.begin(), Cases.end());
  P.insert(P.end(), Cases.begin(), Cases.end());
  return P;
}

uint64_t blocks(uint64_t Bytes) { return (Bytes + codegen::kAlign - 1) / codegen::kAlign; }

/// Replays \p F over the plan \p FL: see the file comment. Kernels (a node,
/// or a fusion group) read all their inputs, then write all their outputs.
void replay(const Function &F, const codegen::FunctionLayout &FL, const std::string &What) {
  constexpr ValueId Free = ~ValueId(0);
  FusionInfo Fused = analyzeFusion(F);
  std::vector<ValueId> Owner(blocks(FL.ScratchBytes), Free);
  std::map<std::string, ValueId> Holds; // what each State slot written in
                                        // place holds now
  bool Wrote = false;
  // The value whose storage holds V: an assign without a region forwards.
  auto Holder = [&](ValueId V) {
    while (!FL.Values[V] && FL.InPlace[V].empty() && F.node(V).Opcode == Op::Assign)
      V = F.node(V).Operands[0];
    return V;
  };
  auto Read = [&](ValueId V, const std::string &At) {
    ValueId H = Holder(V);
    const Node &N = F.node(H);
    if (N.Opcode == Op::Param && Holds.count(N.Symbol))
      ADD_FAILURE() << What << ": " << At << " reads the old @" << N.Symbol
                    << " after its in-place update";
    if (!FL.InPlace[H].empty() && Holds.at(FL.InPlace[H]) != H)
      ADD_FAILURE() << What << ": " << At << " reads value #" << H << " in @"
                    << FL.InPlace[H] << ", which value #" << Holds.at(FL.InPlace[H])
                    << " overwrote";
    if (!FL.Values[H])
      return;
    const codegen::Slot &S = *FL.Values[H];
    for (uint64_t B = S.Offset / codegen::kAlign; B < blocks(S.Offset + S.Bytes); ++B)
      if (Owner[B] != H) {
        ADD_FAILURE() << What << ": " << At << " reads value #" << H
                      << ", whose block " << B << " value #" << Owner[B] << " overwrote";
        return;
      }
  };
  for (ValueId K = 0; K < F.Nodes.size();) {
    codegen::KernelSpan Span = codegen::kernelOf(F, Fused, K);
    std::string At = fmt::format("kernel #{}..#{} ({})", Span.Begin, Span.End - 1,
                                 mnemonic(F.node(K).Opcode));
    for (ValueId O : codegen::kernelInputs(F, Fused, K))
      Read(O, At);
    for (ValueId V = Span.Begin; V < Span.End; ++V) {
      const Node &N = F.node(V);
      if (Wrote && codegen::mayFail(F, V))
        ADD_FAILURE() << What << ": node #" << V << " may fail after an in-place update";
      if (Fused.isInternal(V)) {
        EXPECT_FALSE(FL.Values[V]) << What << ": fused member #" << V << " has a region";
        EXPECT_TRUE(FL.InPlace[V].empty()) << What << ": fused member #" << V;
      }
      if (!FL.InPlace[V].empty()) {
        EXPECT_EQ(getOpInfo(N.Opcode).Family, OpFamily::Elementwise) << What << ": #" << V;
        if (Fused.GroupOf[V] >= 0) {
          EXPECT_EQ(F.Groups[Fused.GroupOf[V]].Kind, FusionKind::Loop) << What << ": #" << V;
        }
        Holds[FL.InPlace[V]] = V;
        Wrote = true;
      }
      if (!FL.Values[V])
        continue;
      const codegen::Slot &S = *FL.Values[V];
      EXPECT_EQ(S.Offset % codegen::kAlign, 0u) << What << ": node #" << V;
      EXPECT_LE(S.Offset + S.Bytes, FL.ScratchBytes) << What << ": node #" << V;
      for (uint64_t B = S.Offset / codegen::kAlign; B < blocks(S.Offset + S.Bytes); ++B)
        Owner[B] = V;
    }
    K = Span.End;
  }
  for (const Result &R : F.Results)
    Read(R.Value, "result " + R.Name);
  for (ValueId V = 0; V < F.Nodes.size(); ++V)
    if (F.node(V).Opcode == Op::Assign &&
        FL.InPlace[F.node(V).Operands[0]] != F.node(V).Symbol)
      Read(V, "the copy of assign #" + std::to_string(V));
}

bool disjoint(const codegen::Slot &A, const codegen::Slot &B) {
  return !A.Bytes || !B.Bytes || A.Offset + A.Bytes <= B.Offset ||
         B.Offset + B.Bytes <= A.Offset;
}

TEST(MemoryPlan, EveryModelReplaysWithoutOverwritingALiveValue) {
  size_t Fused = 0;
  for (const std::string &Path : allModels()) {
    std::unique_ptr<Module> M = build(Path);
    ASSERT_TRUE(M);
    codegen::Layout L = codegen::computeLayout(*M);
    for (const Function &F : M->Functions) {
      std::string What = Path + " @" + F.Name;
      const codegen::FunctionLayout &FL = L.Functions.at(F.Name);
      ASSERT_EQ(FL.Values.size(), F.Nodes.size()) << What;
      Fused += F.Groups.size();
      replay(F, FL, What);

      // Pairwise: regions live at the same time are disjoint.
      FusionInfo Info = analyzeFusion(F);
      std::vector<bool> Has(F.Nodes.size());
      for (ValueId V = 0; V < F.Nodes.size(); ++V)
        Has[V] = FL.Values[V].has_value();
      std::vector<codegen::LiveRange> R = codegen::liveRanges(F, Info, Has);
      for (size_t I = 0; I < R.size(); ++I)
        for (size_t J = I + 1; J < R.size(); ++J) {
          if (R[I].Last < R[J].First || R[J].Last < R[I].First)
            continue;
          EXPECT_TRUE(disjoint(*FL.Values[R[I].V], *FL.Values[R[J].V]))
              << What << ": #" << R[I].V << " and #" << R[J].V << " overlap";
        }
      // A kernel's inputs never share bytes with its outputs.
      for (ValueId V = 0; V < F.Nodes.size(); ++V)
        for (ValueId O : codegen::kernelInputs(F, Info, V))
          if (FL.Values[V] && FL.Values[O]) {
            EXPECT_TRUE(disjoint(*FL.Values[V], *FL.Values[O]))
                << What << ": #" << V << " overlaps its kernel's input #" << O;
          }
      EXPECT_LE(FL.MaxLiveBytes, FL.ScratchBytes) << What;
      EXPECT_LE(FL.ScratchBytes, FL.UnplannedBytes) << What;
    }
  }
  EXPECT_GT(Fused, 0u) << "the models were not fused: the plan of fused code is untested";
}

/// The in-place updates found in the train steps: SGD's W - lr * g, Adam's
/// moments m * b1 + g * (1 - b1), the step counter qualify; after `fuse`
/// most of them are outputs of the one loop per param that updates it.
TEST(MemoryPlan, UpdatesOfTheExamplesAreInPlace) {
  for (const std::string &Path : examples()) {
    std::unique_ptr<Module> M = build(Path);
    ASSERT_TRUE(M);
    const Function *F = M->lookupFunction("train_step");
    if (!F)
      continue;
    codegen::Layout L = codegen::computeLayout(*M);
    const codegen::FunctionLayout &FL = L.Functions.at("train_step");
    FusionInfo Fused = analyzeFusion(*F);
    size_t Assigns = 0, InPlace = 0, InLoops = 0;
    for (ValueId V = 0; V < F->Nodes.size(); ++V) {
      const Node &N = F->node(V);
      if (N.Opcode != Op::Assign)
        continue;
      ++Assigns;
      ValueId Value = N.Operands[0];
      if (FL.InPlace[Value] != N.Symbol)
        continue;
      ++InPlace;
      if (Fused.GroupOf[Value] >= 0)
        ++InLoops;
    }
    std::printf("%-40s train_step: %zu of %zu assigns in place, %zu by fused loops\n",
                std::filesystem::path(Path).filename().c_str(), InPlace, Assigns, InLoops);
    EXPECT_GT(InPlace, 0u) << Path;
    EXPECT_GT(InLoops, 0u) << Path;
  }
}

/// Issue 5's acceptance: the arena the JIT allocates (the largest planned
/// peak over the entries) is at most 60% of the unplanned sum (the largest
/// sum of regions).
TEST(MemoryPlan, PlannedPeakIsAtMost60PercentOfUnplanned) {
  std::printf("%-14s %-11s %12s %12s %12s %6s\n", "model", "function", "unplanned",
              "planned", "lower bound", "ratio");
  for (const std::string &Path : examples()) {
    std::unique_ptr<Module> M = build(Path);
    ASSERT_TRUE(M);
    codegen::Layout L = codegen::computeLayout(*M);
    uint64_t Planned = 0, Unplanned = 0, Bound = 0;
    std::string Name = std::filesystem::path(Path).stem().string();
    for (const Function &F : M->Functions) {
      const codegen::FunctionLayout &FL = L.Functions.at(F.Name);
      std::printf("%-14s %-11s %12llu %12llu %12llu %6.3f\n", Name.c_str(), F.Name.c_str(),
                  (unsigned long long)FL.UnplannedBytes, (unsigned long long)FL.ScratchBytes,
                  (unsigned long long)FL.MaxLiveBytes,
                  double(FL.ScratchBytes) / double(std::max<uint64_t>(FL.UnplannedBytes, 1)));
      Planned = std::max(Planned, FL.ScratchBytes);
      Unplanned = std::max(Unplanned, FL.UnplannedBytes);
      Bound = std::max(Bound, FL.MaxLiveBytes);
    }
    double Ratio = double(Planned) / double(Unplanned);
    std::printf("%-14s %-11s %12llu %12llu %12llu %6.3f\n", Name.c_str(), "(arena)",
                (unsigned long long)Unplanned, (unsigned long long)Planned,
                (unsigned long long)Bound, Ratio);
    EXPECT_LE(Ratio, 0.6) << Path;
  }
}

TEST(MemoryPlan, TheJitReportsThePlan) {
  std::string Path = Root + "/examples/mnist_mlp.nn";
  std::unique_ptr<Module> M = build(Path);
  ASSERT_TRUE(M);
  codegen::Layout L = codegen::computeLayout(*M);
  SourceFile Src(Path, slurp(Path));
  std::ostringstream Log;
  DiagnosticEngine Diags(Log);
  Diags.setSource(&Src);
  auto X = runtime::compileModel(Src, {}, Diags, Log);
  ASSERT_TRUE(X) << Log.str();
  const codegen::FunctionLayout &FL = L.Functions.at("train_step");
  runtime::MemoryUse U = X->memoryUse(runtime::Entry::TrainStep);
  EXPECT_EQ(U.State, L.StateBytes);
  EXPECT_EQ(U.Scratch, FL.ScratchBytes);
  EXPECT_EQ(U.UnplannedScratch, FL.UnplannedBytes);
  EXPECT_LE(U.Scratch * 10, U.UnplannedScratch * 6);
  // x : f32[64, 784] and y : i32[64], each as a 64-byte aligned buffer.
  EXPECT_EQ(U.Inputs, 64u * 784 * 4 + 256);
}

} // namespace
