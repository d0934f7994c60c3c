//===- codegen/EmitReduce.cpp - Reductions and softmax as loops -----------===//
//
// Lowers the Reduce family (ir/ops/Reduce.cpp) to loops over static shapes:
// sum, mean, max, logsumexp over `axes`; softmax, log_softmax and argmax
// along `axis`. Each op reproduces its Eval: every output adds (or compares)
// its elements in increasing input order, starting from +0 (sums) or -inf
// (max, NaN winning); softmax, log_softmax and logsumexp subtract the
// maximum first. Like the interpreter, sums and the arithmetic around them
// are done in f64 for f32 results too (f32 values widen exactly) and rounded
// once, so results match the interpreter bit for bit — except an f32
// softmax, which stores exp(x - m) as f32 before dividing (within one ulp).
//
// sum, mean and max read their operand through KernelEmitter::loadOperand
// (each element exactly once), so a `reduce` fusion group computes its
// producers inside these loops (EmitFused.cpp).
//
// Loop shape: size-1 axes are dropped and neighbouring axes that walk both
// buffers as one are merged. When the innermost axis is kept, the reduced
// loops run outside a contiguous update of a tile of f64 sums (max: of the
// result itself), a loop the vectorizer handles; when it is reduced, each
// output is accumulated in a register over its contiguous run (an ordered,
// serial reduction: reassociation is never allowed).
//
//===----------------------------------------------------------------------===//
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

/// The larger of \p Acc and \p V, NaN winning, the first of equals kept
/// (Reduce.cpp's maxNaN: isnan(V) || V > Acc ? V : Acc).
Value *maxNaN(KernelEmitter &K, Value *Acc, Value *V) {
  Value *Take = K.B.CreateOr(K.B.CreateFCmpUNO(V, V), K.B.CreateFCmpOGT(V, Acc));
  return K.B.CreateSelect(Take, V, Acc);
}

Value *exp(KernelEmitter &K, Value *V) {
  return K.B.CreateUnaryIntrinsic(llvm::Intrinsic::exp, V);
}
Value *log(KernelEmitter &K, Value *V) {
  return K.B.CreateUnaryIntrinsic(llvm::Intrinsic::log, V);
}

/// The input and output strides of a reduction of operand 0 over `axes`.
std::vector<StridedDim> reductionDims(KernelEmitter &K) {
  const ir::Shape &X = K.operandType(0).Dims;
  ir::Shape Kept = X;
  for (int64_t A : ir::getInts(K.node().Attrs, "axes"))
    Kept[static_cast<size_t>(A)] = 1;
  std::vector<int64_t> InSt = ir::stridesOf(X);
  std::vector<int64_t> OutSt = ir::broadcastStrides(Kept, X);
  std::vector<StridedDim> Dims;
  for (size_t I = 0; I < X.size(); ++I)
    Dims.push_back({X[I], {InSt[I], OutSt[I]}});
  return simplifyStrided(Dims);
}

/// The number of elements reduced into each output.
double reducedCount(KernelEmitter &K) {
  return static_cast<double>(K.operandType(0).numElements()) /
         static_cast<double>(K.resultType().numElements());
}

/// f64 for the sums of float results (f32 included: the interpreter sums in
/// f64, and a serial f64 add costs what an f32 one does).
llvm::Type *accType(KernelEmitter &K) { return K.B.getDoubleTy(); }
Value *widen(KernelEmitter &K, Value *V) {
  return V->getType()->isDoubleTy() ? V
                                    : K.B.CreateFPExt(V, K.B.getDoubleTy());
}
/// \p V (f64) rounded to the result's dtype \p T.
Value *narrow(KernelEmitter &K, Value *V, DType T) {
  return T == DType::F64 ? V : K.B.CreateFPTrunc(V, K.eltType(T));
}

/// Splits reduction loops into the kept ones and the reduced ones, each in
/// their original order.
void splitDims(const std::vector<StridedDim> &Dims, std::vector<StridedDim> &Kept,
               std::vector<StridedDim> &Reduced) {
  for (const StridedDim &D : Dims)
    (D.St[1] != 0 ? Kept : Reduced).push_back(D);
}

/// max: Out[o] = maxNaN(Out[o], x[i]) in input order (exact in any dtype).
void emitMax(KernelEmitter &K) {
  DType T = K.resultType().Elt;
  llvm::Type *Ty = K.eltType(T);
  Value *Init = K.constant(T, -std::numeric_limits<double>::infinity());
  Value *Out = K.result(), *Zero = K.i64(0);
  std::vector<StridedDim> Dims = reductionDims(K);
  if (!Dims.empty() && Dims.back().St[1] != 0) {
    // Innermost axis kept: fold into the result, in input order.
    K.loop(K.resultType().numElements(),
           [&](Value *O) { K.store(Init, T, Out, O); });
    stridedNest(K, Dims, Zero, Zero, [&](Value *I, Value *O) {
      K.store(maxNaN(K, K.load(T, Out, O), K.loadOperand(0, I)), T, Out, O);
    });
    return;
  }
  std::vector<StridedDim> Kept, Reduced;
  splitDims(Dims, Kept, Reduced);
  llvm::AllocaInst *Acc = K.entryAlloca(Ty);
  stridedNest(K, Kept, Zero, Zero, [&](Value *Base, Value *O) {
    K.B.CreateStore(Init, Acc);
    stridedNest(K, Reduced, Base, O, [&](Value *I, Value *) {
      K.B.CreateStore(maxNaN(K, K.B.CreateLoad(Ty, Acc), K.loadOperand(0, I)), Acc);
    });
    K.store(K.B.CreateLoad(Ty, Acc), T, Out, O);
  });
}

/// The outputs of a tile of the innermost kept axis accumulated at once.
constexpr int64_t kTile = 512;

/// sum, mean: each output adds its inputs in input order from +0 in f64,
/// then (mean) divides by their count and rounds to the result's dtype:
/// exactly the interpreter's arithmetic.
void emitSum(KernelEmitter &K) {
  DType T = K.resultType().Elt;
  llvm::Type *AccTy = accType(K);
  Value *Out = K.result(), *Zero = K.i64(0);
  auto Finish = [&](Value *Acc) {
    if (K.op() == ir::Op::Mean)
      Acc = K.B.CreateFDiv(Acc, llvm::ConstantFP::get(AccTy, reducedCount(K)));
    return narrow(K, Acc, T);
  };
  std::vector<StridedDim> Dims = reductionDims(K), Kept, Reduced;
  if (!Dims.empty() && Dims.back().St[1] != 0) {
    // Innermost axis kept: for each tile of it, the reduced loops run
    // outside a contiguous, vectorizable update of a stack array of sums.
    StridedDim Last = Dims.back();
    Dims.pop_back();
    splitDims(Dims, Kept, Reduced);
    int64_t Tile = std::min(Last.Size, kTile);
    llvm::BasicBlock &Entry =
        K.B.GetInsertBlock()->getParent()->getEntryBlock();
    llvm::IRBuilder<> E(&Entry, Entry.getFirstInsertionPt());
    llvm::AllocaInst *Acc = E.CreateAlloca(AccTy, K.i64(Tile));
    Acc->setAlignment(llvm::Align(64));
    stridedNest(K, Kept, Zero, Zero, [&](Value *In, Value *O) {
      auto EmitTile = [&](Value *J0, int64_t Len) {
        Value *TileIn = K.addScaled(In, J0, Last.St[0]);
        Value *TileOut = K.addScaled(O, J0, Last.St[1]);
        K.loop(Len, [&](Value *J) {
          K.B.CreateStore(llvm::ConstantFP::get(AccTy, 0.0),
                          K.B.CreateInBoundsGEP(AccTy, Acc, J));
        });
        stridedNest(K, Reduced, TileIn, Zero, [&](Value *I, Value *) {
          K.loop(Len, [&](Value *J) {
            Value *P = K.B.CreateInBoundsGEP(AccTy, Acc, J);
            Value *V = widen(K, K.loadOperand(0, K.addScaled(I, J, Last.St[0])));
            K.B.CreateStore(K.B.CreateFAdd(K.B.CreateLoad(AccTy, P), V), P);
          });
        });
        K.loop(Len, [&](Value *J) {
          Value *S = K.B.CreateLoad(AccTy, K.B.CreateInBoundsGEP(AccTy, Acc, J));
          K.store(Finish(S), T, Out, K.addScaled(TileOut, J, Last.St[1]));
        });
      };
      int64_t Full = Last.Size / Tile, Rest = Last.Size % Tile;
      K.loop(Full, [&](Value *TI) {
        EmitTile(K.B.CreateMul(TI, K.i64(Tile), "", true, true), Tile);
      });
      if (Rest)
        EmitTile(K.i64(Full * Tile), Rest);
    });
    return;
  }
  // Innermost axis reduced (or none left): one register per output, the
  // kept loops outside, the reduced ones inside.
  splitDims(Dims, Kept, Reduced);
  llvm::AllocaInst *Acc = K.entryAlloca(AccTy);
  stridedNest(K, Kept, Zero, Zero, [&](Value *Base, Value *O) {
    K.B.CreateStore(llvm::ConstantFP::get(AccTy, 0.0), Acc);
    stridedNest(K, Reduced, Base, O, [&](Value *I, Value *) {
      Value *V = widen(K, K.loadOperand(0, I));
      K.B.CreateStore(K.B.CreateFAdd(K.B.CreateLoad(AccTy, Acc), V), Acc);
    });
    K.store(Finish(K.B.CreateLoad(AccTy, Acc)), T, Out, O);
  });
}

/// logsumexp: per output, m = max (0 when infinite), then
/// m + log(sum(exp(x - m))), the sum in input order; in f64 like the
/// interpreter, rounded once.
void emitLogSumExp(KernelEmitter &K) {
  DType T = K.resultType().Elt;
  llvm::Type *Ty = K.eltType(T), *AccTy = accType(K);
  Value *X = K.operand(0), *Zero = K.i64(0);
  std::vector<StridedDim> Kept, Reduced;
  splitDims(reductionDims(K), Kept, Reduced);
  llvm::AllocaInst *Max = K.entryAlloca(Ty), *Sum = K.entryAlloca(AccTy);
  stridedNest(K, Kept, Zero, Zero, [&](Value *Base, Value *O) {
    K.B.CreateStore(K.constant(T, -std::numeric_limits<double>::infinity()),
                    Max);
    stridedNest(K, Reduced, Base, O, [&](Value *I, Value *) {
      K.B.CreateStore(maxNaN(K, K.B.CreateLoad(Ty, Max), K.load(T, X, I)), Max);
    });
    Value *M = widen(K, K.B.CreateLoad(Ty, Max));
    Value *IsInf = K.B.CreateFCmpOEQ(
        K.B.CreateUnaryIntrinsic(llvm::Intrinsic::fabs, M),
        llvm::ConstantFP::getInfinity(AccTy));
    M = K.B.CreateSelect(IsInf, llvm::ConstantFP::get(AccTy, 0.0), M);
    K.B.CreateStore(llvm::ConstantFP::get(AccTy, 0.0), Sum);
    stridedNest(K, Reduced, Base, O, [&](Value *I, Value *) {
      Value *E = exp(K, K.B.CreateFSub(widen(K, K.load(T, X, I)), M));
      K.B.CreateStore(K.B.CreateFAdd(K.B.CreateLoad(AccTy, Sum), E), Sum);
    });
    Value *R = K.B.CreateFAdd(M, log(K, K.B.CreateLoad(AccTy, Sum)));
    K.store(narrow(K, R, T), T, K.result(), O);
  });
}

/// Operand 0 viewed as [Outer, Len, Inner] around `axis`.
struct Lines {
  int64_t Outer = 1, Len = 1, Inner = 1;
};

Lines linesOf(KernelEmitter &K) {
  const ir::Shape &X = K.operandType(0).Dims;
  size_t Axis = static_cast<size_t>(ir::getInt(K.node().Attrs, "axis"));
  Lines L;
  L.Len = X[Axis];
  for (size_t I = 0; I < Axis; ++I)
    L.Outer *= X[I];
  for (size_t I = Axis + 1; I < X.size(); ++I)
    L.Inner *= X[I];
  return L;
}

/// Calls \p F(Base, LineIndex) for every line along `axis`, LineIndex
/// counting the lines in the result order of argmax (outer, inner).
void forEachLine(KernelEmitter &K, const Lines &L,
                 const std::function<void(Value *, Value *)> &F) {
  K.loop(L.Outer, [&](Value *O) {
    Value *Base = K.addScaled(K.i64(0), O, L.Len * L.Inner);
    Value *Line = K.addScaled(K.i64(0), O, L.Inner);
    if (L.Inner == 1)
      return F(Base, Line);
    K.loop(L.Inner, [&](Value *J) {
      F(K.B.CreateAdd(Base, J, "", true, true),
        K.B.CreateAdd(Line, J, "", true, true));
    });
  });
}

/// softmax, log_softmax along `axis`, line by line as evalSoftmax and
/// evalLogSoftmax: m = max (NaN winning), s = sum(exp(x - m)) in f64;
/// softmax stores exp(x - m) then divides it by s; log_softmax gives
/// (x - m) - log(s). Everything is computed in f64 and rounded once, except
/// that an f32 softmax stores exp(x - m) rounded to f32 before the division
/// (within one f32 ulp of the interpreter).
void emitSoftmax(KernelEmitter &K) {
  DType T = K.resultType().Elt;
  llvm::Type *Ty = K.eltType(T), *AccTy = accType(K);
  Value *X = K.operand(0), *Y = K.result();
  Lines L = linesOf(K);
  llvm::AllocaInst *Max = K.entryAlloca(Ty), *Sum = K.entryAlloca(AccTy);
  bool Log = K.op() == ir::Op::LogSoftmax;
  forEachLine(K, L, [&](Value *Base, Value *) {
    auto At = [&](Value *Kx) { return K.addScaled(Base, Kx, L.Inner); };
    auto Shifted = [&](Value *Kx, Value *M) {
      return K.B.CreateFSub(widen(K, K.load(T, X, At(Kx))), M);
    };
    K.B.CreateStore(K.constant(T, -std::numeric_limits<double>::infinity()),
                    Max);
    K.loop(L.Len, [&](Value *Kx) {
      K.B.CreateStore(maxNaN(K, K.B.CreateLoad(Ty, Max), K.load(T, X, At(Kx))),
                      Max);
    });
    Value *M = widen(K, K.B.CreateLoad(Ty, Max));
    K.B.CreateStore(llvm::ConstantFP::get(AccTy, 0.0), Sum);
    K.loop(L.Len, [&](Value *Kx) {
      Value *E = exp(K, Shifted(Kx, M));
      if (!Log)
        K.store(narrow(K, E, T), T, Y, At(Kx));
      K.B.CreateStore(K.B.CreateFAdd(K.B.CreateLoad(AccTy, Sum), E), Sum);
    });
    Value *S = K.B.CreateLoad(AccTy, Sum);
    if (Log) {
      Value *LogS = log(K, S);
      K.loop(L.Len, [&](Value *Kx) {
        K.store(narrow(K, K.B.CreateFSub(Shifted(Kx, M), LogS), T), T, Y,
                At(Kx));
      });
      return;
    }
    K.loop(L.Len, [&](Value *Kx) {
      Value *E = widen(K, K.load(T, Y, At(Kx)));
      K.store(narrow(K, K.B.CreateFDiv(E, S), T), T, Y, At(Kx));
    });
  });
}

/// argmax along `axis`: the first index of the largest element, a NaN
/// counting as the largest (once the best is NaN it stays).
void emitArgmax(KernelEmitter &K) {
  DType T = K.operandType(0).Elt;
  llvm::Type *Ty = K.eltType(T);
  Value *X = K.operand(0);
  Lines L = linesOf(K);
  llvm::AllocaInst *BestV = K.entryAlloca(Ty), *BestI = K.entryAlloca(K.B.getInt64Ty());
  forEachLine(K, L, [&](Value *Base, Value *Line) {
    K.B.CreateStore(K.load(T, X, Base), BestV);
    K.B.CreateStore(K.i64(0), BestI);
    K.loop(L.Len - 1, [&](Value *Km1) {
      Value *Kx = K.B.CreateAdd(Km1, K.i64(1), "", true, true);
      Value *V = K.load(T, X, K.addScaled(Base, Kx, L.Inner));
      Value *Best = K.B.CreateLoad(Ty, BestV);
      // !isnan(Best) && (isnan(V) || V > Best)
      Value *Take = K.B.CreateAnd(
          K.B.CreateFCmpORD(Best, Best),
          K.B.CreateOr(K.B.CreateFCmpUNO(V, V), K.B.CreateFCmpOGT(V, Best)));
      K.B.CreateStore(K.B.CreateSelect(Take, V, Best), BestV);
      K.B.CreateStore(
          K.B.CreateSelect(Take, Kx, K.B.CreateLoad(K.B.getInt64Ty(), BestI)),
          BestI);
    });
    Value *Idx = K.B.CreateTrunc(K.B.CreateLoad(K.B.getInt64Ty(), BestI),
                                 K.B.getInt32Ty());
    K.store(Idx, DType::I32, K.result(), Line);
  });
}

} // namespace

void emitReduce(KernelEmitter &K) {
  switch (K.op()) {
  case ir::Op::Sum:
  case ir::Op::Mean:
    return emitSum(K);
  case ir::Op::Max:
    return emitMax(K);
  case ir::Op::LogSumExp:
    return emitLogSumExp(K);
  case ir::Op::Softmax:
  case ir::Op::LogSoftmax:
    return emitSoftmax(K);
  case ir::Op::Argmax:
    return emitArgmax(K);
  default:
    llvm_unreachable("emitReduce: not a Reduce-family op");
  }
}

} // namespace gradc::codegen
