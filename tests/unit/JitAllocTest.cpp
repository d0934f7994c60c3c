//===- tests/unit/JitAllocTest.cpp - No allocation in a step -------------===//
//
// The JIT executable allocates everything a call needs when it is made
// (the arenas of the memory plan, the args, the result buffers, the input
// pointer table): this binary replaces the global operator new with one
// that counts, and a step, an eval and the trainer's loop must not call it.
//   - trainStep and eval of mnist_mlp (the example as written, B = 64, with
//     unaligned inputs, which are staged) after a first call: 0 allocations;
//   - train() on linreg: the same count for 2 steps as for 7 (one epoch of
//     8), so the per-step part of the loop allocates nothing.
//
//===----------------------------------------------------------------------===//
#include "runtime/Compile.h"
#include "runtime/Dataset.h"
#include "runtime/Trainer.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <new>
#include <sstream>

namespace {
std::atomic<long> Allocations{0};
} // namespace

// GCC cannot see that operator delete below pairs with this operator new.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"

void *operator new(std::size_t N) {
  Allocations.fetch_add(1, std::memory_order_relaxed);
  if (void *P = std::malloc(N ? N : 1))
    return P;
  throw std::bad_alloc();
}
// The nothrow form (std::stable_sort's temporary buffer) must come from
// malloc too: its memory goes back through the operator delete below, and
// AddressSanitizer reports a sanitizer-provided new freed by free().
void *operator new(std::size_t N, const std::nothrow_t &) noexcept {
  Allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(N ? N : 1);
}
void operator delete(void *P) noexcept { std::free(P); }
void operator delete(void *P, std::size_t) noexcept { std::free(P); }
void operator delete(void *P, const std::nothrow_t &) noexcept { std::free(P); }

using namespace gradc;
using namespace gradc::runtime;

namespace {

const std::string Examples = std::string(GRADC_SOURCE_DIR) + "/examples";

std::unique_ptr<Executable> compileExample(const std::string &Name) {
  std::ifstream In(Examples + "/" + Name);
  std::stringstream SS;
  SS << In.rdbuf();
  SourceFile Src(Name, SS.str());
  std::ostringstream Log;
  DiagnosticEngine Diags(Log);
  Diags.setSource(&Src);
  auto X = compileModel(Src, {}, Diags, Log);
  EXPECT_TRUE(X) << Log.str();
  return X;
}

TEST(JitAlloc, AStepAndAnEvalAllocateNothing) {
  auto X = compileExample("mnist_mlp.nn");
  ASSERT_TRUE(X);
  // One spare element, so that the data starts 4 bytes past an allocation
  // and is staged.
  std::vector<float> Pixels(64 * 784 + 1);
  std::vector<int32_t> Labels(64 + 1);
  for (size_t I = 0; I < Pixels.size(); ++I)
    Pixels[I] = static_cast<float>(I % 256);
  for (size_t I = 0; I < Labels.size(); ++I)
    Labels[I] = static_cast<int32_t>(I % 10);
  const void *Ptrs[] = {Pixels.data() + 1, Labels.data() + 1};
  double Loss = 0;
  std::vector<double> Metrics;
  std::string Err;
  ASSERT_TRUE(X->trainStep(Ptrs, 1e-3, Loss, Err)) << Err;
  ASSERT_TRUE(X->eval(Ptrs, Loss, Metrics, Err)) << Err;

  long Before = Allocations.load();
  for (int I = 0; I < 5; ++I)
    ASSERT_TRUE(X->trainStep(Ptrs, 1e-3, Loss, Err));
  ASSERT_TRUE(X->eval(Ptrs, Loss, Metrics, Err));
  EXPECT_EQ(Allocations.load() - Before, 0);
  EXPECT_TRUE(std::isfinite(Loss));
  EXPECT_EQ(X->step(), 6);
}

TEST(JitAlloc, TheTrainingLoopAllocatesNothingPerStep) {
  auto Count = [](int64_t Steps) {
    auto X = compileExample("linreg.nn");
    EXPECT_TRUE(X);
    Dataset D;
    std::vector<DataSpec> Specs = {{"x", Examples + "/data/linreg_x.csv"},
                                   {"y", Examples + "/data/linreg_y.csv"}};
    std::string Err;
    const Entry Entries[] = {Entry::TrainStep};
    EXPECT_TRUE(D.bind(*X, Entries, Specs, "--data", Err)) << Err;
    TrainOptions Opts;
    Opts.Steps = Steps;
    Opts.LogEvery = 1000;
    TrainReport Report;
    std::ostream Null(nullptr);
    long Before = Allocations.load();
    EXPECT_TRUE(train(*X, D, nullptr, Opts, Report, Null, Err)) << Err;
    EXPECT_EQ(Report.Steps, Steps);
    return Allocations.load() - Before;
  };
  EXPECT_EQ(Count(7), Count(2));
}

} // namespace
