//===- codegen/Aot.h - Ahead-of-time objects --------------------*- C++ -*-===//
//
// `gradc compile`: the same optimized code the JIT runs (emitModule, then
// optimizeModule with the same pipeline), emitted ahead of time as one
// self-contained object with a C interface whose symbols all start with the
// model's prefix (every other symbol is internal). The object needs libc
// and libm only (plus libpthread when the code is threaded).
//
// The caller allocates one state block of PREFIX_STATE_BYTES bytes, aligned
// to PREFIX_STATE_ALIGN (64), and passes it to every call. It holds, at
// fixed offsets (AotLayout):
//   [0, 64)            the call header: the last error (code, failing node,
//                      element index, entry) of the last call
//   StateOffset        the State arena of the Layout: params, optimizer
//                      slots, running statistics, `.step`, `.seed`
//   ScratchOffset      the Scratch arena (the largest function's)
//   StagingOffset      one 64-byte aligned copy of each input, used when
//                      the caller's input pointer is not 64-byte aligned
// The entry points (AotEntry.cpp) fill the gradc_<fn> ABI of Codegen.h
// from C arguments: input pointers (staged when misaligned), the learning
// rate of the step (the model's schedule applied to the base rate and the
// step counter, exactly as the trainer computes it), result pointers.
// PREFIX_init (AotInit.cpp) computes the initializers of runtime/Init.h in
// LLVM IR, bit for bit.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/Codegen.h"

#include <llvm/Support/Error.h>

namespace gradc::codegen {

enum class AotEmit : uint8_t { Object, Assembly, LLVM };

struct AotOptions {
  /// The CPU to compile for ("" = this host, with its features), e.g.
  /// "x86-64-v3" for portable code.
  std::string Cpu;
  /// Worker threads the object's code uses (1: no threads).
  unsigned Threads = 1;
  AotEmit Emit = AotEmit::Object;
  /// What PREFIX_last_error says when node V of function F fails, by
  /// {F, V}; a failure not listed gets a generic message.
  std::map<std::pair<std::string, ir::ValueId>, std::string> ErrorMessages;
};

/// Where the parts of the caller's state block are.
struct AotLayout {
  static constexpr uint64_t HeaderBytes = 64;
  uint64_t StateOffset = HeaderBytes;
  uint64_t ScratchOffset = 0;
  uint64_t StagingOffset = 0;
  std::vector<uint64_t> Staging; // per input, relative to StagingOffset
  uint64_t TotalBytes = 0;
};
AotLayout computeAotLayout(const ir::Module &M, const Layout &L);

/// The C identifier the model's symbols start with: the model name with
/// every character outside [A-Za-z0-9_] replaced by '_' ('_' prepended when
/// it starts with a digit).
std::string aotPrefix(const ir::Module &M);

/// The float type of the C interface: the loss's dtype, else the first
/// float metric's, else f32 (the lr, loss and metrics arguments have it).
ir::DType aotFloatType(const ir::Module &M);

/// The object's whole LLVM module: the optimized gradc_<fn> functions (as
/// the JIT compiles them), the PREFIX_ entry points, PREFIX_init and the
/// tensor table; everything but the PREFIX_ symbols internal.
llvm::Expected<std::unique_ptr<llvm::Module>>
buildAotModule(const ir::Module &M, const AotOptions &O, llvm::LLVMContext &Ctx,
               llvm::TargetMachine &TM);

/// The object file (or assembly, or LLVM IR text) for O.Emit, in \p Out.
/// False with \p Err on an unknown CPU or an internal error.
bool compileAot(const ir::Module &M, const AotOptions &O, std::string &Out,
                std::string &Err);

/// The C header declaring what the object defines.
std::string aotHeader(const ir::Module &M, const AotOptions &O);

// Pieces of buildAotModule (AotEntry.cpp, AotInit.cpp).
void emitAotEntries(const ir::Module &M, const Layout &L, const AotLayout &AL,
                    const AotOptions &O, llvm::Module &LM,
                    const llvm::TargetMachine &TM);
void emitAotInit(const ir::Module &M, const Layout &L, const AotLayout &AL,
                 llvm::Module &LM, const llvm::TargetMachine &TM);

} // namespace gradc::codegen
