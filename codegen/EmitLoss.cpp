//===- codegen/EmitLoss.cpp - Losses and metrics as loops -----------------===//
//
// Lowers the Loss family (ir/ops/Loss.cpp): mse, bce, bce_with_logits,
// softmax_cross_entropy (i32 class ids or float targets), accuracy and
// one_hot. Each reproduces its Eval exactly: like the interpreter, the
// per-element terms are computed in f64 (f32 operands are widened, which is
// exact), summed in element order into one f64 accumulator, divided by the
// count and rounded once to the result's dtype — so f32 and f64 results
// match the interpreter bit for bit (losses are O(elements) scalar work; the
// serial f64 sum costs what an f32 one would). A class id outside [0, C) in softmax_cross_entropy
// leaves the function with kErrIdOutOfRange and the example's index; rows
// before it have no visible effect (the result is written only at the end).
//
//===----------------------------------------------------------------------===//
#include "codegen/Codegen.h"
#include "codegen/Kernel.h"

#include "ir/Interpreter.h"

#include <array>
#include <limits>
#include <llvm/IR/Intrinsics.h>
#include <span>

namespace gradc::codegen {
using ir::DType;
using llvm::Value;

namespace {

/// An f64 running sum: Acc += V, in call order.
struct Accum {
  KernelEmitter &K;
  llvm::Type *Ty;
  llvm::AllocaInst *Ptr;
  explicit Accum(KernelEmitter &K)
      : K(K), Ty(K.B.getDoubleTy()), Ptr(K.entryAlloca(Ty)) {}
  void set(Value *V) { K.B.CreateStore(V, Ptr); }
  Value *get() { return K.B.CreateLoad(Ty, Ptr); }
  void add(Value *V) { set(K.B.CreateFAdd(get(), V)); }
};

/// \p V as an f64 (exact), and an f64 \p V rounded to dtype \p T.
Value *widen(KernelEmitter &K, Value *V) {
  return V->getType()->isDoubleTy() ? V
                                    : K.B.CreateFPExt(V, K.B.getDoubleTy());
}
Value *narrow(KernelEmitter &K, Value *V, DType T) {
  return T == DType::F64 ? V : K.B.CreateFPTrunc(V, K.eltType(T));
}
Value *f64(KernelEmitter &K, double V) {
  return llvm::ConstantFP::get(K.B.getDoubleTy(), V);
}
/// Element \p I of float buffer \p Ptr of dtype \p T, as an f64.
Value *loadF64(KernelEmitter &K, DType T, Value *Ptr, Value *I) {
  return widen(K, K.load(T, Ptr, I));
}

Value *intrinsic(KernelEmitter &K, llvm::Intrinsic::ID Id, Value *V) {
  return K.B.CreateUnaryIntrinsic(Id, V);
}

/// std::max(A, B) for a constant B: A < B ? B : A (a NaN A stays).
Value *maxConst(KernelEmitter &K, Value *A, Value *B) {
  return K.B.CreateSelect(K.B.CreateFCmpOLT(A, B), B, A);
}

/// The larger of \p Acc and \p V, NaN winning, the first of equals kept.
Value *maxNaN(KernelEmitter &K, Value *Acc, Value *V) {
  Value *Take = K.B.CreateOr(K.B.CreateFCmpUNO(V, V), K.B.CreateFCmpOGT(V, Acc));
  return K.B.CreateSelect(Take, V, Acc);
}

/// The result: the f64 Sum / N rounded to the result's dtype.
void storeMean(KernelEmitter &K, Value *Sum, double N) {
  DType T = K.resultType().Elt;
  K.store(narrow(K, K.B.CreateFDiv(Sum, f64(K, N)), T), T, K.result(),
          K.i64(0));
}

/// mse: sum((a - b)^2) over the broadcast shape, in row-major order, / N.
void emitMse(KernelEmitter &K) {
  DType T = K.resultType().Elt;
  const ir::Shape &SA = K.operandType(0).Dims, &SB = K.operandType(1).Dims;
  ir::Shape S = *ir::broadcastShapes(SA, SB);
  std::vector<int64_t> StA = ir::broadcastStrides(SA, S),
                       StB = ir::broadcastStrides(SB, S);
  std::vector<StridedDim> Dims;
  for (size_t I = 0; I < S.size(); ++I)
    Dims.push_back({S[I], {StA[I], StB[I]}});
  Dims = simplifyStrided(Dims);
  Accum Sum(K);
  Sum.set(f64(K, 0));
  stridedNest(K, Dims, K.i64(0), K.i64(0), [&](Value *A, Value *B) {
    Value *Diff = K.B.CreateFSub(loadF64(K, T, K.operand(0), A),
                                 loadF64(K, T, K.operand(1), B));
    Sum.add(K.B.CreateFMul(Diff, Diff));
  });
  int64_t N = 1;
  for (int64_t D : S)
    N *= D;
  storeMean(K, Sum.get(), static_cast<double>(N));
}

/// bce: sum((t - 1) max(log(1 - p), -100) - t max(log p, -100)) / N.
void emitBce(KernelEmitter &K) {
  DType T = K.resultType().Elt;
  int64_t N = K.operandType(0).numElements();
  Accum Sum(K);
  Sum.set(f64(K, 0));
  Value *Floor = f64(K, -100), *One = f64(K, 1);
  K.loop(N, [&](Value *I) {
    Value *P = loadF64(K, T, K.operand(0), I);
    Value *Tg = loadF64(K, T, K.operand(1), I);
    Value *Log1mP = maxConst(
        K, intrinsic(K, llvm::Intrinsic::log, K.B.CreateFSub(One, P)), Floor);
    Value *LogP = maxConst(K, intrinsic(K, llvm::Intrinsic::log, P), Floor);
    Sum.add(K.B.CreateFSub(K.B.CreateFMul(K.B.CreateFSub(Tg, One), Log1mP),
                           K.B.CreateFMul(Tg, LogP)));
  });
  storeMean(K, Sum.get(), static_cast<double>(N));
}

/// bce_with_logits: sum(max(z, 0) - z t + log1p(exp(-|z|))) / N.
void emitBceWithLogits(KernelEmitter &K) {
  DType T = K.resultType().Elt;
  int64_t N = K.operandType(0).numElements();
  Accum Sum(K);
  Sum.set(f64(K, 0));
  K.loop(N, [&](Value *I) {
    Value *Z = loadF64(K, T, K.operand(0), I);
    Value *Tg = loadF64(K, T, K.operand(1), I);
    Value *E = intrinsic(
        K, llvm::Intrinsic::exp,
        K.B.CreateFNeg(intrinsic(K, llvm::Intrinsic::fabs, Z)));
    Value *L = K.callMath("log1p", {E});
    Value *V = K.B.CreateFSub(maxConst(K, Z, f64(K, 0)),
                              K.B.CreateFMul(Z, Tg));
    Sum.add(K.B.CreateFAdd(V, L));
  });
  storeMean(K, Sum.get(), static_cast<double>(N));
}

/// The maximum of row \p Base (length \p N) of \p X, NaN winning.
Value *rowMax(KernelEmitter &K, DType T, Value *X, Value *Base, int64_t N) {
  llvm::Type *Ty = K.eltType(T);
  llvm::AllocaInst *M = K.entryAlloca(Ty);
  K.B.CreateStore(K.constant(T, -std::numeric_limits<double>::infinity()), M);
  K.loop(N, [&](Value *I) {
    Value *V = K.load(T, X, K.B.CreateAdd(Base, I, "", true, true));
    K.B.CreateStore(maxNaN(K, K.B.CreateLoad(Ty, M), V), M);
  });
  return K.B.CreateLoad(Ty, M);
}

/// The index (i64) of the first largest element of row \p Base of \p X; a
/// NaN counts as the largest (Loss.cpp's argmaxRow).
Value *rowArgmax(KernelEmitter &K, DType T, Value *X, Value *Base, int64_t N) {
  llvm::Type *I64 = K.B.getInt64Ty(), *Ty = K.eltType(T);
  llvm::AllocaInst *BestV = K.entryAlloca(Ty), *BestI = K.entryAlloca(I64);
  K.B.CreateStore(K.load(T, X, Base), BestV);
  K.B.CreateStore(K.i64(0), BestI);
  K.loop(N - 1, [&](Value *Im1) {
    Value *I = K.B.CreateAdd(Im1, K.i64(1), "", true, true);
    Value *V = K.load(T, X, K.B.CreateAdd(Base, I, "", true, true));
    Value *Best = K.B.CreateLoad(Ty, BestV);
    // !isnan(Best) && (V > Best || isnan(V))
    Value *Take = K.B.CreateAnd(
        K.B.CreateFCmpORD(Best, Best),
        K.B.CreateOr(K.B.CreateFCmpUNO(V, V), K.B.CreateFCmpOGT(V, Best)));
    K.B.CreateStore(K.B.CreateSelect(Take, V, Best), BestV);
    K.B.CreateStore(K.B.CreateSelect(Take, I, K.B.CreateLoad(I64, BestI)),
                    BestI);
  });
  return K.B.CreateLoad(I64, BestI);
}

/// softmax_cross_entropy: mean over rows of -sum_c t[c] log_softmax(z)[c],
/// log_softmax = (z - m) - log(sum(exp(z - m))), m the row's maximum; for
/// class ids the row's term is -log_softmax(z)[y], after checking y.
void emitSoftmaxCrossEntropy(KernelEmitter &K) {
  DType T = K.resultType().Elt;
  int64_t Rows = K.operandType(0).Dims[0], C = K.operandType(0).Dims[1];
  bool Ids = K.operandType(1).Elt == DType::I32;
  Value *Z = K.operand(0), *Y = K.operand(1);
  Accum Sum(K), S(K), RowSum(K);
  Sum.set(f64(K, 0));
  K.loop(Rows, [&](Value *Row) {
    Value *Id = nullptr;
    if (Ids) {
      Id = K.B.CreateSExt(K.load(DType::I32, Y, Row), K.B.getInt64Ty());
      // Unsigned: a negative id compares above C.
      K.failIf(K.B.CreateICmpUGE(Id, K.i64(C)), kErrIdOutOfRange, Row);
    }
    Value *Base = K.addScaled(K.i64(0), Row, C);
    Value *M = widen(K, rowMax(K, T, Z, Base, C));
    S.set(f64(K, 0));
    K.loop(C, [&](Value *I) {
      Value *X = loadF64(K, T, Z, K.B.CreateAdd(Base, I, "", true, true));
      S.add(intrinsic(K, llvm::Intrinsic::exp, K.B.CreateFSub(X, M)));
    });
    Value *L = intrinsic(K, llvm::Intrinsic::log, S.get());
    if (Ids) {
      Value *X = loadF64(K, T, Z, K.B.CreateAdd(Base, Id, "", true, true));
      Sum.set(K.B.CreateFSub(Sum.get(), K.B.CreateFSub(K.B.CreateFSub(X, M), L)));
      return;
    }
    RowSum.set(f64(K, 0));
    K.loop(C, [&](Value *I) {
      Value *At = K.B.CreateAdd(Base, I, "", true, true);
      Value *LS = K.B.CreateFSub(K.B.CreateFSub(loadF64(K, T, Z, At), M), L);
      RowSum.add(K.B.CreateFMul(loadF64(K, T, Y, At), LS));
    });
    Sum.set(K.B.CreateFSub(Sum.get(), RowSum.get()));
  });
  storeMean(K, Sum.get(), static_cast<double>(Rows));
}

/// accuracy: the fraction of rows whose argmax equals the class id (or the
/// argmax of the float target row), computed in f64 as the interpreter does.
void emitAccuracy(KernelEmitter &K) {
  DType T = K.operandType(0).Elt;
  int64_t Rows = K.operandType(0).Dims[0], C = K.operandType(0).Dims[1];
  bool Ids = K.operandType(1).Elt == DType::I32;
  llvm::Type *I64 = K.B.getInt64Ty();
  llvm::AllocaInst *Hits = K.entryAlloca(I64);
  K.B.CreateStore(K.i64(0), Hits);
  K.loop(Rows, [&](Value *Row) {
    Value *Base = K.addScaled(K.i64(0), Row, C);
    Value *Got = rowArgmax(K, T, K.operand(0), Base, C);
    Value *Want =
        Ids ? K.B.CreateSExt(K.load(DType::I32, K.operand(1), Row), I64)
            : rowArgmax(K, T, K.operand(1), Base, C);
    Value *Hit = K.B.CreateZExt(K.B.CreateICmpEQ(Got, Want), I64);
    K.B.CreateStore(K.B.CreateAdd(K.B.CreateLoad(I64, Hits), Hit), Hits);
  });
  storeMean(K, K.B.CreateSIToFP(K.B.CreateLoad(I64, Hits), K.B.getDoubleTy()),
            static_cast<double>(Rows));
}

/// one_hot: out[i, c] = (y[i] == c) ? 1 : 0; an id outside [0, C) gives a
/// zero row.
void emitOneHot(KernelEmitter &K) {
  DType T = K.resultType().Elt;
  int64_t N = K.operandType(0).numElements();
  int64_t C = ir::getInt(K.node().Attrs, "classes");
  Value *One = K.constant(T, 1), *Zero = K.constant(T, 0);
  K.loop(N, [&](Value *I) {
    Value *Id = K.B.CreateSExt(K.load(DType::I32, K.operand(0), I),
                               K.B.getInt64Ty());
    Value *Base = K.addScaled(K.i64(0), I, C);
    K.loop(C, [&](Value *Cls) {
      Value *V = K.B.CreateSelect(K.B.CreateICmpEQ(Id, Cls), One, Zero);
      K.store(V, T, K.result(), K.B.CreateAdd(Base, Cls, "", true, true));
    });
  });
}

} // namespace

void emitLoss(KernelEmitter &K) {
  switch (K.op()) {
  case ir::Op::Mse:
    return emitMse(K);
  case ir::Op::Bce:
    return emitBce(K);
  case ir::Op::BceWithLogits:
    return emitBceWithLogits(K);
  case ir::Op::SoftmaxCrossEntropy:
    return emitSoftmaxCrossEntropy(K);
  case ir::Op::Accuracy:
    return emitAccuracy(K);
  case ir::Op::OneHot:
    return emitOneHot(K);
  default:
    llvm_unreachable("emitLoss: not a Loss-family op");
  }
}

} // namespace gradc::codegen
