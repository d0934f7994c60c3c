//===- codegen/EmitMovement.cpp - Movement ops as strided copies ----------===//
//
// Lowers the Movement family (ir/ops/Movement.cpp) — transpose, reshape,
// flatten, concat, slice, broadcast — for any dtype (i32 included). Each is
// a strided copy, as in the interpreter's copyStrided: a block of shape Dims
// whose element (i0, i1, ...) is read at SrcBase + sum(ik * SrcSt[k]) and
// written at DstBase + sum(ik * DstSt[k]). Size-1 axes are dropped and
// neighbouring axes that walk both buffers as one are merged, so reshape,
// flatten and a one-piece concat or slice become a single memcpy, and every
// other copy has its innermost loop over the result's contiguous axis (a
// vectorizable store stream; the reads are contiguous, strided or a splat).
//
//===----------------------------------------------------------------------===//
#include "codegen/Codegen.h"
#include "codegen/Kernel.h"

#include "ir/Interpreter.h"

#include <array>
#include <span>

namespace gradc::codegen {
using ir::DType;
using llvm::Value;

namespace {

/// The address of element \p Index of buffer \p Ptr and its alignment.
std::pair<Value *, llvm::Align> elementAddress(KernelEmitter &K, DType T,
                                               Value *Ptr, int64_t Index) {
  uint64_t Bytes = static_cast<uint64_t>(Index) * ir::dtypeSize(T);
  Value *P = Index == 0 ? Ptr
                        : K.B.CreateInBoundsGEP(K.eltType(T), Ptr, K.i64(Index));
  return {P, llvm::commonAlignment(llvm::Align(kAlign), Bytes)};
}

/// Copies a block of elements of dtype \p T from \p Src to \p Dst.
void copyStrided(KernelEmitter &K, DType T, const ir::Shape &Shape,
                 std::span<const int64_t> SrcSt, int64_t SrcBase, Value *Src,
                 std::span<const int64_t> DstSt, int64_t DstBase, Value *Dst) {
  std::vector<StridedDim> Dims;
  for (size_t I = 0; I < Shape.size(); ++I)
    Dims.push_back({Shape[I], {SrcSt[I], DstSt[I]}});
  for (const StridedDim &D : Dims)
    if (D.Size == 0)
      return;
  Dims = simplifyStrided(Dims);
  if (Dims.empty() || (Dims.size() == 1 && Dims[0].St[0] == 1 &&
                       Dims[0].St[1] == 1)) {
    int64_t N = Dims.empty() ? 1 : Dims[0].Size;
    auto [S, SA] = elementAddress(K, T, Src, SrcBase);
    auto [D, DA] = elementAddress(K, T, Dst, DstBase);
    K.B.CreateMemCpy(D, DA, S, SA,
                     static_cast<uint64_t>(N) * ir::dtypeSize(T));
    return;
  }
  stridedNest(K, Dims, K.i64(SrcBase), K.i64(DstBase), [&](Value *S, Value *D) {
    K.store(K.load(T, Src, S), T, Dst, D);
  });
}

void emitTranspose(KernelEmitter &K) {
  const ir::Shape &Out = K.resultType().Dims;
  std::vector<int64_t> InSt = ir::stridesOf(K.operandType(0).Dims), St;
  for (int64_t P : ir::getInts(K.node().Attrs, "perm"))
    St.push_back(InSt[static_cast<size_t>(P)]);
  copyStrided(K, K.resultType().Elt, Out, St, 0, K.operand(0),
              ir::stridesOf(Out), 0, K.result());
}

/// reshape, flatten: the elements in the same order.
void emitCopy(KernelEmitter &K) {
  ir::Shape Flat = {K.resultType().numElements()};
  std::array<int64_t, 1> One = {1};
  copyStrided(K, K.resultType().Elt, Flat, One, 0, K.operand(0), One, 0,
              K.result());
}

void emitConcat(KernelEmitter &K) {
  const ir::Shape &Out = K.resultType().Dims;
  size_t Axis = static_cast<size_t>(ir::getInt(K.node().Attrs, "axis"));
  std::vector<int64_t> OutSt = ir::stridesOf(Out);
  int64_t Offset = 0;
  for (size_t I = 0; I < K.numOperands(); ++I) {
    const ir::Shape &X = K.operandType(I).Dims;
    copyStrided(K, K.resultType().Elt, X, ir::stridesOf(X), 0, K.operand(I),
                OutSt, Offset * OutSt[Axis], K.result());
    Offset += X[Axis];
  }
}

void emitSlice(KernelEmitter &K) {
  const ir::Shape &Out = K.resultType().Dims;
  size_t Axis = static_cast<size_t>(ir::getInt(K.node().Attrs, "axis"));
  std::vector<int64_t> InSt = ir::stridesOf(K.operandType(0).Dims);
  int64_t Start = ir::getInt(K.node().Attrs, "start");
  copyStrided(K, K.resultType().Elt, Out, InSt, Start * InSt[Axis],
              K.operand(0), ir::stridesOf(Out), 0, K.result());
}

void emitBroadcast(KernelEmitter &K) {
  const ir::Shape &Out = K.resultType().Dims;
  copyStrided(K, K.resultType().Elt, Out,
              ir::broadcastStrides(K.operandType(0).Dims, Out), 0,
              K.operand(0), ir::stridesOf(Out), 0, K.result());
}

} // namespace

void emitMovement(KernelEmitter &K) {
  switch (K.op()) {
  case ir::Op::Transpose:
    return emitTranspose(K);
  case ir::Op::Reshape:
  case ir::Op::Flatten:
    return emitCopy(K);
  case ir::Op::Concat:
    return emitConcat(K);
  case ir::Op::Slice:
    return emitSlice(K);
  case ir::Op::Broadcast:
    return emitBroadcast(K);
  default:
    llvm_unreachable("emitMovement: not a Movement-family op");
  }
}

} // namespace gradc::codegen
