//===- runtime/Interp.h - The interpreter backend ---------------*- C++ -*-===//
//
// An Executable that runs the module's functions with the reference
// interpreter (ir/Interpreter.h): every op in f64, rounded to f32 at op
// boundaries for f32 tensors. Slow but exact; the reference the JIT is
// compared against.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Executable.h"

namespace gradc::runtime {

/// \p M must be the module after the pipeline (autodiff and after).
std::unique_ptr<Executable>
makeInterpreterExecutable(std::unique_ptr<ir::Module> M);

/// Converts \p N elements of dtype \p T at \p In to doubles, and back
/// (rounding to the dtype; i32 to the nearest integer, saturating).
void bytesToDoubles(ir::DType T, const void *In, size_t N, double *Out);
void doublesToBytes(ir::DType T, const double *In, size_t N, void *Out);

} // namespace gradc::runtime
