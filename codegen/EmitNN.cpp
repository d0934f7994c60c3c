//===- codegen/EmitNN.cpp - Pooling, embedding and dropout-mask kernels --===//
//
// Lowers the NN family (ir/ops/NN.cpp) to loops; batch_norm and dropout are
// lowered to other ops before codegen and never reach here.
//
//   max_pool2d, avg_pool2d   per plane (the loop split across threads), a
//                            loop per output element over its window,
//                            clamped to the input (padding is never read:
//                            max ignores it, avg divides by kh*kw anyway);
//                            max tracks only the value (branch-free selects,
//                            so the window loops unroll and vectorize);
//   max_pool2d_grad          each window's g added at the window's first
//                            maximum (NaN wins, as the interpreter's scan);
//   avg_pool2d_grad          g / (kh*kw) added over each window;
//   embedding(_grad)         ids checked against [0, V) with failIf (error
//                            kErrIdOutOfRange at the id's flat position),
//                            then a row copy / scatter-add;
//   dropout_mask             the counter-based splitmix64 hash documented
//                            above evalDropoutMask, in 64-bit integer IR.
//
// Windows and scatters are visited in the interpreter's order, so every
// element is accumulated in the same order (f64: bit-identical).
//
//===----------------------------------------------------------------------===//
#include "codegen/Codegen.h"
#include "codegen/Kernel.h"

#include <llvm/ADT/STLFunctionalExtras.h>
#include <llvm/Support/ErrorHandling.h>

#include <limits>

namespace gradc::codegen {
using namespace llvm;
using ir::DType;
using ir::Shape;

namespace {

//===----------------------------------------------------------------------===//
// Pooling
//===----------------------------------------------------------------------===//

/// x [N, C, H, W] -> y [N, C, OH, OW] (PoolGeom of ir/ops/NN.cpp); a stride
/// of 0 means the kernel size.
struct PoolGeom {
  int64_t Planes, H, W, OH, OW, KH, KW, SH, SW, PH, PW;
};

PoolGeom poolGeom(const KernelEmitter &K, const Shape &X, const Shape &Y) {
  const ir::AttrList &A = K.node().Attrs;
  const ir::IntList &Ke = ir::getInts(A, "kernel"), &S = ir::getInts(A, "stride"),
                    &P = ir::getInts(A, "padding");
  return {X[0] * X[1], X[2], X[3], Y[2], Y[3], Ke[0], Ke[1],
          S[0] == 0 ? Ke[0] : S[0], S[1] == 0 ? Ke[1] : S[1], P[0], P[1]};
}

/// One output element's window: rows [H0, H1) and columns [W0, W1) of the
/// input plane starting at flat index XPlane (clamped to the input).
struct Window {
  Value *YIndex, *XPlane, *H0, *H1, *W0, *W1;
};

/// Calls F(Window) for every output element, in the interpreter's order,
/// after Start(Plane) for each plane; the loop over planes (whose
/// iterations write disjoint planes of the result, forward or backward) is
/// split across threads.
template <typename StartFn, typename Fn>
void forEachWindow(KernelEmitter &K, const PoolGeom &G, StartFn &&Start,
                   Fn &&F) {
  IRBuilder<> &B = K.B;
  auto Clamp = [&](Value *Start, int64_t Size, int64_t Limit) {
    Value *End = B.CreateAdd(Start, K.i64(Size));
    End = B.CreateSelect(B.CreateICmpSLT(End, K.i64(Limit)), End, K.i64(Limit));
    Start = B.CreateSelect(B.CreateICmpSGT(Start, K.i64(0)), Start, K.i64(0));
    return std::pair{Start, End};
  };
  K.parallelLoop(G.Planes, G.OH * G.OW * G.KH * G.KW, [&](Value *Pl) {
    Start(Pl);
    Value *XPlane = B.CreateMul(Pl, K.i64(G.H * G.W));
    K.loop(G.OH, [&](Value *I) {
      auto [H0, H1] = Clamp(B.CreateSub(B.CreateMul(I, K.i64(G.SH)), K.i64(G.PH)),
                            G.KH, G.H);
      Value *YRow = B.CreateMul(B.CreateAdd(B.CreateMul(Pl, K.i64(G.OH)), I),
                                K.i64(G.OW));
      K.loop(G.OW, [&](Value *J) {
        auto [W0, W1] = Clamp(
            B.CreateSub(B.CreateMul(J, K.i64(G.SW)), K.i64(G.PW)), G.KW, G.W);
        F(Window{B.CreateAdd(YRow, J), XPlane, H0, H1, W0, W1});
      });
    });
  });
}

/// Calls F(XIndex) for every input element of window \p Win, row-major.
/// Along an axis without padding every window is whole (OH = (H - KH) / SH
/// + 1), so the loop has a constant trip count and unrolls.
void forEachInWindow(KernelEmitter &K, const PoolGeom &G, const Window &Win,
                     function_ref<void(Value *)> F) {
  IRBuilder<> &B = K.B;
  auto Axis = [&](Value *Lo, Value *Hi, int64_t Size, bool Padded,
                  function_ref<void(Value *)> Body) {
    if (Padded)
      return K.loopRange(Lo, Hi, Body);
    K.loop(Size, [&](Value *D) { Body(B.CreateAdd(Lo, D)); });
  };
  Axis(Win.H0, Win.H1, G.KH, G.PH != 0, [&](Value *H) {
    Value *Row = B.CreateAdd(Win.XPlane, B.CreateMul(H, K.i64(G.W)));
    Axis(Win.W0, Win.W1, G.KW, G.PW != 0,
         [&](Value *V) { F(B.CreateAdd(Row, V)); });
  });
}

/// The flat index of the window's maximum as windowArgmax finds it: a
/// row-major scan from the first element, taking a value greater than the
/// candidate or NaN (first of tied maxima; NaN propagates).
Value *windowArgmax(KernelEmitter &K, const PoolGeom &G, const Window &Win) {
  IRBuilder<> &B = K.B;
  DType T = K.operandType(0).Elt;
  Type *Ty = K.eltType(T);
  AllocaInst *Max = K.entryAlloca(Ty, "max");
  AllocaInst *Best = K.entryAlloca(B.getInt64Ty(), "best");
  B.CreateStore(K.constant(T, -std::numeric_limits<double>::infinity()), Max);
  B.CreateStore(B.CreateAdd(Win.XPlane, B.CreateAdd(B.CreateMul(Win.H0, K.i64(G.W)),
                                                    Win.W0)),
                Best);
  forEachInWindow(K, G, Win, [&](Value *XI) {
    Value *X = K.load(T, K.operand(0), XI);
    Value *Cur = B.CreateLoad(Ty, Max);
    Value *Take = B.CreateOr(B.CreateFCmpOGT(X, Cur), B.CreateFCmpUNO(X, X));
    B.CreateStore(B.CreateSelect(Take, X, Cur), Max);
    B.CreateStore(B.CreateSelect(Take, XI, B.CreateLoad(B.getInt64Ty(), Best)),
                  Best);
  });
  return B.CreateLoad(B.getInt64Ty(), Best);
}

/// The window's maximum by the same scan, tracking only the value: the
/// element windowArgmax picks (the first of tied maxima, which equals it,
/// -0 and +0 included; the last NaN; the first element when all are -inf).
Value *windowMax(KernelEmitter &K, const PoolGeom &G, const Window &Win) {
  IRBuilder<> &B = K.B;
  DType T = K.operandType(0).Elt;
  Type *Ty = K.eltType(T);
  AllocaInst *Max = K.entryAlloca(Ty, "max");
  B.CreateStore(K.constant(T, -std::numeric_limits<double>::infinity()), Max);
  forEachInWindow(K, G, Win, [&](Value *XI) {
    Value *X = K.load(T, K.operand(0), XI);
    Value *Cur = B.CreateLoad(Ty, Max);
    Value *Take = B.CreateOr(B.CreateFCmpOGT(X, Cur), B.CreateFCmpUNO(X, X));
    B.CreateStore(B.CreateSelect(Take, X, Cur), Max);
  });
  return B.CreateLoad(Ty, Max);
}

/// A Start of forEachWindow for the gradients: zeroes the input-gradient
/// plane.
auto zeroPlane(KernelEmitter &K, const PoolGeom &G) {
  return [&K, G](Value *Pl) {
    DType T = K.resultType().Elt;
    Value *Base = K.B.CreateMul(Pl, K.i64(G.H * G.W));
    K.loop(G.H * G.W, [&](Value *I) {
      K.store(K.constant(T, 0.0), T, K.result(), K.B.CreateAdd(Base, I));
    });
  };
}

void emitMaxPool2d(KernelEmitter &K) {
  DType T = K.resultType().Elt;
  PoolGeom G = poolGeom(K, K.operandType(0).Dims, K.resultType().Dims);
  forEachWindow(K, G, [](Value *) {}, [&](const Window &Win) {
    K.store(windowMax(K, G, Win), T, K.result(), Win.YIndex);
  });
}

void emitMaxPool2dGrad(KernelEmitter &K) {
  IRBuilder<> &B = K.B;
  DType T = K.resultType().Elt;
  PoolGeom G = poolGeom(K, K.operandType(0).Dims, K.operandType(1).Dims);
  forEachWindow(K, G, zeroPlane(K, G), [&](const Window &Win) {
    Value *XI = windowArgmax(K, G, Win);
    Value *Sum = B.CreateFAdd(K.load(T, K.result(), XI),
                              K.load(T, K.operand(1), Win.YIndex));
    K.store(Sum, T, K.result(), XI);
  });
}

void emitAvgPool2d(KernelEmitter &K) {
  IRBuilder<> &B = K.B;
  DType T = K.resultType().Elt;
  Type *Ty = K.eltType(T);
  PoolGeom G = poolGeom(K, K.operandType(0).Dims, K.resultType().Dims);
  forEachWindow(K, G, [](Value *) {}, [&](const Window &Win) {
    AllocaInst *Sum = K.entryAlloca(Ty, "sum");
    B.CreateStore(K.constant(T, 0.0), Sum);
    forEachInWindow(K, G, Win, [&](Value *XI) {
      B.CreateStore(B.CreateFAdd(B.CreateLoad(Ty, Sum), K.load(T, K.operand(0), XI)),
                    Sum);
    });
    K.store(B.CreateFDiv(B.CreateLoad(Ty, Sum),
                         K.constant(T, static_cast<double>(G.KH * G.KW))),
            T, K.result(), Win.YIndex);
  });
}

void emitAvgPool2dGrad(KernelEmitter &K) {
  IRBuilder<> &B = K.B;
  DType T = K.resultType().Elt;
  PoolGeom G = poolGeom(K, K.resultType().Dims, K.operandType(0).Dims);
  forEachWindow(K, G, zeroPlane(K, G), [&](const Window &Win) {
    Value *V = B.CreateFDiv(K.load(T, K.operand(0), Win.YIndex),
                            K.constant(T, static_cast<double>(G.KH * G.KW)));
    forEachInWindow(K, G, Win, [&](Value *XI) {
      K.store(B.CreateFAdd(K.load(T, K.result(), XI), V), T, K.result(), XI);
    });
  });
}

//===----------------------------------------------------------------------===//
// Embedding
//===----------------------------------------------------------------------===//

/// Loads id \p Pos of operand 0 as an i64 and fails unless it is in
/// [0, \p Num).
Value *checkedId(KernelEmitter &K, Value *Pos, int64_t Num) {
  IRBuilder<> &B = K.B;
  Value *Id = B.CreateSExt(K.load(DType::I32, K.operand(0), Pos), B.getInt64Ty());
  // One unsigned compare covers both id < 0 and id >= Num.
  K.failIf(B.CreateICmpUGE(Id, K.i64(Num)), kErrIdOutOfRange, Pos);
  return Id;
}

void emitEmbedding(KernelEmitter &K) {
  IRBuilder<> &B = K.B;
  DType T = K.resultType().Elt;
  int64_t V = K.operandType(1).Dims[0], D = K.operandType(1).Dims[1];
  int64_t Count = K.operandType(0).numElements();
  // Every id is checked before any row is read, as the interpreter does.
  K.loop(Count, [&](Value *P) { checkedId(K, P, V); });
  K.loop(Count, [&](Value *P) {
    Value *Id = B.CreateSExt(K.load(DType::I32, K.operand(0), P), B.getInt64Ty());
    Value *Src = B.CreateMul(Id, K.i64(D)), *Dst = B.CreateMul(P, K.i64(D));
    K.loop(D, [&](Value *I) {
      K.store(K.load(T, K.operand(1), B.CreateAdd(Src, I)), T, K.result(),
              B.CreateAdd(Dst, I));
    });
  });
}

void emitEmbeddingGrad(KernelEmitter &K) {
  IRBuilder<> &B = K.B;
  DType T = K.resultType().Elt;
  int64_t Num = K.resultType().Dims[0], D = K.resultType().Dims[1];
  int64_t Count = K.operandType(0).numElements();
  K.loop(Count, [&](Value *P) { checkedId(K, P, Num); });
  K.zeroResult();
  K.loop(Count, [&](Value *P) {
    Value *Id = B.CreateSExt(K.load(DType::I32, K.operand(0), P), B.getInt64Ty());
    Value *Dst = B.CreateMul(Id, K.i64(D)), *Src = B.CreateMul(P, K.i64(D));
    K.loop(D, [&](Value *I) {
      Value *DI = B.CreateAdd(Dst, I);
      K.store(B.CreateFAdd(K.load(T, K.result(), DI),
                           K.load(T, K.operand(1), B.CreateAdd(Src, I))),
              T, K.result(), DI);
    });
  });
}

//===----------------------------------------------------------------------===//
// dropout_mask
//===----------------------------------------------------------------------===//

/// splitmix64's finalizer on an i64 (wrap-around arithmetic).
Value *mix(IRBuilder<> &B, Value *Z) {
  Z = B.CreateAdd(Z, B.getInt64(0x9E3779B97F4A7C15ull));
  Z = B.CreateMul(B.CreateXor(Z, B.CreateLShr(Z, 30)),
                  B.getInt64(0xBF58476D1CE4E5B9ull));
  Z = B.CreateMul(B.CreateXor(Z, B.CreateLShr(Z, 27)),
                  B.getInt64(0x94D049BB133111EBull));
  return B.CreateXor(Z, B.CreateLShr(Z, 31));
}

/// toKey: a float scalar truncated to uint64; 0 when negative, NaN or
/// >= 2^64 (where fptoui would be poison).
Value *toKey(KernelEmitter &K, size_t Operand) {
  IRBuilder<> &B = K.B;
  DType T = K.operandType(Operand).Elt;
  Value *V = K.load(T, K.operand(Operand), K.i64(0));
  if (T != DType::F64)
    V = B.CreateFPExt(V, B.getDoubleTy());
  Value *InRange =
      B.CreateAnd(B.CreateFCmpOGE(V, ConstantFP::get(B.getDoubleTy(), 0.0)),
                  B.CreateFCmpOLT(V, ConstantFP::get(B.getDoubleTy(),
                                                     18446744073709551616.0)));
  Value *Key = B.CreateFreeze(B.CreateFPToUI(V, B.getInt64Ty()));
  return B.CreateSelect(InRange, Key, B.getInt64(0));
}

void emitDropoutMask(KernelEmitter &K) {
  IRBuilder<> &B = K.B;
  DType T = K.resultType().Elt;
  const ir::AttrList &A = K.node().Attrs;
  double P = ir::getFloat(A, "p"), Scale = 1.0 / (1.0 - P);
  uint64_t Salt = static_cast<uint64_t>(ir::getInt(A, "salt"));
  Value *Key = mix(B, B.CreateXor(mix(B, B.CreateXor(mix(B, toKey(K, 0)),
                                                     toKey(K, 1))),
                                  B.getInt64(Salt)));
  Type *F64 = B.getDoubleTy();
  K.loop(K.resultType().numElements(), [&](Value *I) {
    Value *Bits = B.CreateLShr(mix(B, B.CreateXor(Key, I)), 11);
    Value *U = B.CreateFMul(B.CreateUIToFP(Bits, F64), ConstantFP::get(F64, 0x1p-53));
    Value *Keep = B.CreateFCmpOGE(U, ConstantFP::get(F64, P));
    K.store(B.CreateSelect(Keep, K.constant(T, Scale), K.constant(T, 0.0)), T,
            K.result(), I);
  });
}

} // namespace

void emitNN(KernelEmitter &K) {
  switch (K.op()) {
  case ir::Op::MaxPool2d:
    return emitMaxPool2d(K);
  case ir::Op::AvgPool2d:
    return emitAvgPool2d(K);
  case ir::Op::MaxPool2dGrad:
    return emitMaxPool2dGrad(K);
  case ir::Op::AvgPool2dGrad:
    return emitAvgPool2dGrad(K);
  case ir::Op::Embedding:
    return emitEmbedding(K);
  case ir::Op::EmbeddingGrad:
    return emitEmbeddingGrad(K);
  case ir::Op::DropoutMask:
    return emitDropoutMask(K);
  default:
    report_fatal_error("emitNN: batch_norm and dropout must be lowered before "
                       "codegen");
  }
}

} // namespace gradc::codegen
