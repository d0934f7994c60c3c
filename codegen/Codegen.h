//===- codegen/Codegen.h - Graph IR to LLVM IR ------------------*- C++ -*-===//
//
// Every IR function of a module (after autodiff: @train_step, @eval,
// @predict) becomes one LLVM function with this ABI:
//
//   int64_t gradc_<fn>(uint8_t *State,            // params and state symbols
//                      uint8_t *Scratch,          // intermediates
//                      const void *const *Inputs, // per input symbol, in
//                                                 // module declaration order,
//                                                 // each 64-byte aligned
//                      const double *Args,        // per arg symbol (.lr)
//                      void *const *Results,      // per function result
//                      int64_t *ErrorInfo);       // [node, flat index] on error
//
// It returns 0, or a nonzero error code (kErrIdOutOfRange) with ErrorInfo
// naming the node and the element. Where each tensor lives is fixed by the
// Layout: state symbols at offsets in State, every other node's value at an
// offset in Scratch, regions of values that are never live at the same
// time sharing bytes (codegen/MemoryPlan.cpp). `assign` writes its value to
// the symbol's state slot after all reads: the emitter computes the new
// value into scratch and copies it at the end of the function, or, where
// the plan proves it safe, computes it straight into the State slot.
//
// Every module also defines `void gradc_shutdown(void)`, which stops the
// worker threads of its parallel loops (they start at the first one; a
// later call starts them again). The kernels of an entry split their big
// loops across EmitOptions::Threads threads (Parallel.cpp), a constant of
// the module, with results bit-identical for every thread count; entries
// of one module must not run concurrently (they share Scratch anyway).
//
// Codegen switches on the op's family (emitElementwise, emitReduce, ...);
// the elementwise family implements ir/ops/Elementwise.h's scalar semantics
// with IRBuilder, so the JIT and the interpreter share one definition.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Module.h"

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace llvm {
class LLVMContext;
class Module;
class TargetMachine;
} // namespace llvm

namespace gradc::codegen {

constexpr int64_t kErrIdOutOfRange = 1;
constexpr uint64_t kAlign = 64;

struct Slot {
  uint64_t Offset = 0;
  uint64_t Bytes = 0;
};

/// The memory plan of one function (codegen/MemoryPlan.cpp).
struct FunctionLayout {
  /// The Scratch bytes the function needs: the planned peak.
  uint64_t ScratchBytes = 0;
  /// The sum of all regions, as if none were reused (for reporting).
  uint64_t UnplannedBytes = 0;
  /// The most region bytes live at one time: no plan needs less.
  uint64_t MaxLiveBytes = 0;
  /// Per node: where its value lives in Scratch (nullopt for nodes that
  /// have no buffer of their own: param/input reads, assign, and values
  /// computed in place).
  std::vector<std::optional<Slot>> Values;
  /// Per node: the param or state symbol whose State slot the node computes
  /// its value into (an in-place update, which its assign then need not
  /// copy), or empty.
  std::vector<std::string> InPlace;
};

struct Layout {
  uint64_t StateBytes = 0;
  std::map<std::string, Slot, std::less<>> State; // param and state symbols
  std::vector<std::string> Inputs;                // input symbols, in order
  std::vector<std::string> Args;                  // arg symbols, in order
  std::map<std::string, FunctionLayout, std::less<>> Functions;
};

Layout computeLayout(const ir::Module &M);

/// The least work (inner-loop steps, summed over the iterations) of a loop
/// worth splitting across threads: ~20 us of one core, several times the
/// cost of handing a loop to the pool and waiting for it.
constexpr int64_t kMinParallelWork = int64_t(1) << 16;
/// The most threads a module uses.
constexpr unsigned kMaxThreads = 256;

struct EmitOptions {
  /// Threads of the parallel loops: 0 for every core of this machine, 1
  /// for none (the module then references no pthread symbol).
  unsigned Threads = 0;
  int64_t MinParallelWork = kMinParallelWork;
};

/// \p Threads, or the number of cores when 0, at most kMaxThreads.
unsigned resolveThreads(unsigned Threads);

/// Emits every function of \p M into a new LLVM module for \p TM.
std::unique_ptr<llvm::Module> emitModule(const ir::Module &M, const Layout &L,
                                         llvm::LLVMContext &Ctx,
                                         const llvm::TargetMachine &TM,
                                         const EmitOptions &Opts = {});

} // namespace gradc::codegen
