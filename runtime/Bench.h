//===- runtime/Bench.h - gradc bench ----------------------------*- C++ -*-===//
//
// `gradc bench MODEL`: how long a model takes to compile and to run one step
// on synthetic data, and how much memory the step works in (SPEC §2;
// docs/cli.md has the user's view):
//   compile_ms   wall clock of compileModel: parse, passes, code generation
//                and machine code, up to an executable ready to run;
//   the entry    @train_step when the model has a train block, else @eval
//                (a model with metrics), else @predict;
//   step_ms      Warmup untimed calls of the entry, then Steps calls each
//                timed alone with a steady clock: the median (also the
//                minimum and the mean); a train step runs at its schedule's
//                learning rate, as in training;
//   examples_per_second  the batch size over the median;
//   kernels      ir::countKernels of the entry's function: the kernels
//                (fusion groups and unfused nodes) one step runs;
//   peak_bytes   Executable::memoryUse(entry).total(), with the JIT's memory
//                plan (codegen/MemoryPlan.cpp);
//   planned_bytes    the step's scratch under the plan (memory.scratch);
//   unplanned_bytes  the step's scratch without it: every intermediate value
//                in a buffer of its own (MemoryUse::UnplannedScratch).
// Synthetic data: NumBatches batches drawn from the seed and used in turn.
// A float input is uniform in (0, 1); an i32 input is uniform over
// [0, bound) where the bound is the smallest over the input's uses (see
// inputIdBounds), or [0, 2) when no use bounds it.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Commands.h"

#include <optional>

namespace gradc::runtime {

struct BenchCommand {
  CommonOptions Common;
  int64_t Steps = 100; // timed calls
  int64_t Warmup = 10; // untimed calls before them
};

/// Runs `gradc bench`: human text on \p Log, with --json one object on
/// \p Out. Returns the exit status.
int runBench(const SourceFile &Model, const BenchCommand &C, std::ostream &Out,
             std::ostream &Log);

/// The range of ids an i32 input can take when none bounds it.
inline constexpr int64_t kUnboundedIdRange = 2;
/// The distinct synthetic batches a bench cycles through.
inline constexpr int64_t kBenchBatches = 4;

/// For each input symbol of \p M (declaration order): for an i32 input, the
/// exclusive upper bound of the values valid for every use of it in any
/// function — the smallest of: the table's rows for `embedding` ids, the
/// class count (the last axis of the logits) for `softmax_cross_entropy` and
/// `accuracy` class ids, `classes` of `one_hot`, the rows of
/// `embedding_grad`'s result — following the values through the ops that
/// only move them (reshape, flatten, transpose, slice, concat, broadcast,
/// identity, select). nullopt for a float input or one no use bounds.
std::vector<std::optional<int64_t>> inputIdBounds(const ir::Module &M);

/// Fills \p Out with synthetic batch \p Index of input \p In (its dtype,
/// row-major): the values of the header comment, each a function of
/// (\p Seed, the input's name, \p Index, the element).
void fillSyntheticBatch(const TensorInfo &In, std::optional<int64_t> Bound,
                        uint64_t Seed, int64_t Index, void *Out);

/// The median of \p V (the mean of the middle two for an even count); 0 for
/// an empty \p V.
double median(std::vector<double> V);

} // namespace gradc::runtime
