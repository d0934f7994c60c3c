//===- runtime/JitExecutable.h - The JIT backend ----------------*- C++ -*-===//
//
// An Executable whose entry points are machine code: the module's functions
// are emitted to LLVM IR (codegen/Codegen.h), optimized and compiled for the
// host (codegen/JIT.h) once, when the executable is made. The state lives in
// one 64-byte aligned arena laid out by codegen::computeLayout, the
// intermediates of every call in one scratch arena sized to the largest
// function. Runtime errors (an id out of range) give the interp backend's
// messages, word for word. The kernels' big loops run on the module's
// thread pool (codegen/Parallel.cpp), stopped when the executable goes.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "codegen/Codegen.h"
#include "runtime/Executable.h"

#include <string>

namespace gradc::runtime {

/// \p M must be the module after the pipeline; \p Opts says how many threads
/// its loops use. Null with \p Err when the code cannot be generated (an
/// internal error: LLVM's message).
std::unique_ptr<Executable>
makeJitExecutable(std::unique_ptr<ir::Module> M, std::string &Err,
                  const codegen::EmitOptions &Opts = {});

} // namespace gradc::runtime
