//===- codegen/EmitLinalg.cpp - matmul and convolution kernels -----------===//
//
// Lowers the Linalg family (ir/ops/Linalg.cpp) to plain loop nests:
//
//   matmul              batch axes broadcast; per result row (the loop over
//                       batch and i) a k-j nest whose j loop is innermost
//                       and contiguous, accumulating into the zeroed row,
//                       so LLVM vectorizes it;
//   conv2d              direct loops (n, o), c, p, q, i, j: the result plane
//                       starts at the bias (or 0) and each tap adds
//                       x * w over the rows and columns where the tap falls
//                       inside the input (ranges computed per tap, so no
//                       bounds test in the inner loop);
//   conv2d_grad_input   loops (n, c), o, p, q, i, j, adding g * w into the
//                       input gradient;
//   conv2d_grad_weight  loops (o, c), n, p, q, i, j, summing x * g for one
//                       weight element in a register across i and j.
// The outer loop (rows; the pairs in parentheses), whose iterations write
// disjoint rows or planes of the result, is split across threads
// (parallelLoop).
//
// Every nest visits the (x, w, y) triples in the order of the interpreter's
// forEachConvTap / evalMatmul, so each element is accumulated in the same
// order: f64 results are bit-identical to the interpreter's. f32 taps are
// one fused multiply-add each (llvm.fma; no reassociation). A later issue
// replaces these loops with the packed GEMM/conv engine.
//
//===----------------------------------------------------------------------===//
#include "codegen/Codegen.h"
#include "codegen/Kernel.h"

#include <llvm/ADT/STLFunctionalExtras.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/Support/ErrorHandling.h>

namespace gradc::codegen {
using namespace llvm;
using ir::DType;
using ir::Shape;

namespace {

/// Acc + X * Y. f32 uses llvm.fma: one rounding per tap, the same
/// whatever the loop shape or vector width around it (a `contract` flag
/// would let the backend fuse some products and not others, so results
/// would depend on the batch size). f64 keeps a separate multiply and add:
/// bit-identical to the interpreter.
Value *mulAdd(IRBuilder<> &B, DType T, Value *Acc, Value *X, Value *Y) {
  if (T == DType::F32)
    return B.CreateIntrinsic(Intrinsic::fma, {X->getType()}, {X, Y, Acc});
  return B.CreateFAdd(Acc, B.CreateFMul(X, Y));
}

//===----------------------------------------------------------------------===//
// matmul
//===----------------------------------------------------------------------===//

/// Per axis of \p Out, the row-major stride of \p In broadcast to it (0
/// where In is broadcast), as ir::broadcastStrides.
std::vector<int64_t> batchStrides(const Shape &In, const Shape &Out) {
  std::vector<int64_t> St(Out.size(), 0);
  size_t Lead = Out.size() - In.size();
  int64_t Stride = 1;
  for (size_t A = In.size(); A-- > 0;) {
    if (In[A] != 1)
      St[Lead + A] = Stride;
    Stride *= In[A];
  }
  return St;
}

void emitMatmul(KernelEmitter &K) {
  IRBuilder<> &B = K.B;
  DType T = K.resultType().Elt;
  const Shape &AD = K.operandType(0).Dims, &BD = K.operandType(1).Dims,
              &OD = K.resultType().Dims;
  int64_t M = AD[AD.size() - 2], KK = AD.back(), N = BD.back();
  Shape Batch(OD.begin(), OD.end() - 2);
  std::vector<int64_t> SA = batchStrides(Shape(AD.begin(), AD.end() - 2), Batch),
                       SB = batchStrides(Shape(BD.begin(), BD.end() - 2), Batch);
  int64_t Rows = M;
  for (int64_t D : Batch)
    Rows *= D;

  // One iteration per result row (batch index and i): rows are written by
  // one thread each, every element accumulated in the interpreter's order.
  K.parallelLoop(Rows, KK * N, [&](Value *R) {
    Value *OffA = K.i64(0), *OffB = K.i64(0);
    Value *I = R;
    if (!Batch.empty()) {
      I = B.CreateURem(R, K.i64(M));
      Value *Rest = B.CreateUDiv(R, K.i64(M));
      for (size_t D = Batch.size(); D-- > 0;) {
        Value *Idx = D == 0 ? Rest : B.CreateURem(Rest, K.i64(Batch[D]));
        if (D > 0)
          Rest = B.CreateUDiv(Rest, K.i64(Batch[D]));
        if (SA[D])
          OffA = B.CreateAdd(OffA, B.CreateMul(Idx, K.i64(SA[D] * M * KK)));
        if (SB[D])
          OffB = B.CreateAdd(OffB, B.CreateMul(Idx, K.i64(SB[D] * KK * N)));
      }
    }
    // PO[i, j] += PA[i, p] * PB[p, j], in the interpreter's i, p, j order,
    // from +0.
    Value *RowA = B.CreateAdd(OffA, B.CreateMul(I, K.i64(KK)));
    Value *RowO = B.CreateMul(R, K.i64(N));
    K.loop(N, [&](Value *J) {
      K.store(K.constant(T, 0.0), T, K.result(), B.CreateAdd(RowO, J));
    });
    K.loop(KK, [&](Value *P) {
      Value *AV = K.load(T, K.operand(0), B.CreateAdd(RowA, P));
      Value *RowB = B.CreateAdd(OffB, B.CreateMul(P, K.i64(N)));
      K.loop(N, [&](Value *J) {
        Value *OI = B.CreateAdd(RowO, J);
        Value *BV = K.load(T, K.operand(1), B.CreateAdd(RowB, J));
        Value *Acc = K.load(T, K.result(), OI);
        K.store(mulAdd(B, T, Acc, AV, BV), T, K.result(), OI);
      });
    });
  });
}

//===----------------------------------------------------------------------===//
// conv2d, conv2d_grad_input, conv2d_grad_weight
//===----------------------------------------------------------------------===//

/// x [N, C, H, W], w [Cout, Cg, KH, KW], y [N, Cout, OH, OW] (ConvGeom of
/// ir/ops/Linalg.cpp).
struct ConvGeom {
  int64_t N, C, H, W, Cout, Cg, KH, KW, OH, OW;
  int64_t SH, SW, PH, PW, DH, DW, Groups;
};

ConvGeom convGeom(const KernelEmitter &K, const Shape &X, const Shape &W,
                  const Shape &Y) {
  const ir::AttrList &A = K.node().Attrs;
  const ir::IntList &S = ir::getInts(A, "stride"), &P = ir::getInts(A, "padding"),
                    &D = ir::getInts(A, "dilation");
  return {X[0], X[1], X[2], X[3], W[0], W[1], W[2], W[3], Y[2], Y[3],
          S[0], S[1], P[0], P[1], D[0], D[1], ir::getInt(A, "groups")};
}

/// The output positions [Lo, Hi) along one axis at which kernel tap \p Tap
/// (an i64) reads inside the input, 0 <= o*Stride + Off < In, and the input
/// position Off = Tap*Dil - Pad read at o = 0.
struct TapRange {
  Value *Lo, *Hi, *Off;
};

TapRange tapRange(KernelEmitter &K, Value *Tap, int64_t In, int64_t Out,
                  int64_t Stride, int64_t Pad, int64_t Dil) {
  IRBuilder<> &B = K.B;
  Value *Off = B.CreateSub(B.CreateMul(Tap, K.i64(Dil)), K.i64(Pad));
  // Lo = ceil(-Off / Stride) when Off < 0, else 0.
  Value *Lo = B.CreateSelect(
      B.CreateICmpSLT(Off, K.i64(0)),
      B.CreateSDiv(B.CreateSub(K.i64(Stride - 1), Off), K.i64(Stride)),
      K.i64(0));
  // Hi = min(Out, floor((In - 1 - Off) / Stride) + 1), or 0 when
  // In - 1 - Off < 0.
  Value *Last = B.CreateSub(K.i64(In - 1), Off);
  Value *Hi = B.CreateAdd(B.CreateSDiv(Last, K.i64(Stride)), K.i64(1));
  Hi = B.CreateSelect(B.CreateICmpSLT(Hi, K.i64(Out)), Hi, K.i64(Out));
  Hi = B.CreateSelect(B.CreateICmpSLT(Last, K.i64(0)), K.i64(0), Hi);
  return {Lo, Hi, Off};
}

/// The flat offsets of one tap: XBase + o_h*SH*W + o_w*SW reads x, YBase +
/// o_h*OW + o_w addresses y, for o_h, o_w in the ranges where the tap reads
/// inside x.
struct TapSpan {
  Value *XBase, *YBase;
  Value *ILo, *IHi, *JLo, *JHi;
};

/// Calls F(Span, WIndex) for the taps (p, q) that output channel \p O (of
/// example \p N) takes from channel \p C of its group, in the
/// interpreter's order.
template <typename Fn>
void forEachKernelTap(KernelEmitter &K, const ConvGeom &G, Value *N, Value *O,
                      Value *C, Fn &&F) {
  IRBuilder<> &B = K.B;
  int64_t PerGroup = G.Cout / G.Groups;
  Value *YPlane = B.CreateMul(B.CreateAdd(B.CreateMul(N, K.i64(G.Cout)), O),
                              K.i64(G.OH * G.OW));
  // The first input channel of o's group.
  Value *C0 = B.CreateMul(B.CreateUDiv(O, K.i64(PerGroup)), K.i64(G.Cg));
  Value *XChan = B.CreateAdd(B.CreateMul(N, K.i64(G.C)), B.CreateAdd(C0, C));
  Value *XPlane = B.CreateMul(XChan, K.i64(G.H * G.W));
  Value *WChan = B.CreateAdd(B.CreateMul(O, K.i64(G.Cg)), C);
  K.loop(G.KH, [&](Value *P) {
    TapRange RH = tapRange(K, P, G.H, G.OH, G.SH, G.PH, G.DH);
    K.loop(G.KW, [&](Value *Q) {
      TapRange RW = tapRange(K, Q, G.W, G.OW, G.SW, G.PW, G.DW);
      Value *WIdx = B.CreateAdd(
          B.CreateMul(B.CreateAdd(B.CreateMul(WChan, K.i64(G.KH)), P),
                      K.i64(G.KW)),
          Q);
      // x index at (o_h, o_w) = XPlane + (o_h*SH + OffH)*W + o_w*SW + OffW
      Value *XBase = B.CreateAdd(
          XPlane, B.CreateAdd(B.CreateMul(RH.Off, K.i64(G.W)), RW.Off));
      F(TapSpan{XBase, YPlane, RH.Lo, RH.Hi, RW.Lo, RW.Hi}, WIdx);
    });
  });
}

/// Index \p I of a loop over A x B as (I / B, I % B).
std::pair<Value *, Value *> split2(KernelEmitter &K, Value *I, int64_t B) {
  return {K.B.CreateUDiv(I, K.i64(B)), K.B.CreateURem(I, K.i64(B))};
}

/// Stores zero to elements [Base, Base + Count) of the result.
void zeroRange(KernelEmitter &K, DType T, Value *Base, int64_t Count) {
  K.loop(Count, [&](Value *I) {
    K.store(K.constant(T, 0.0), T, K.result(), K.B.CreateAdd(Base, I));
  });
}

/// Calls F(XIndex, YIndex) over the positions of one tap, row by row.
template <typename Fn>
void forEachPosition(KernelEmitter &K, const ConvGeom &G, const TapSpan &S,
                     Fn &&F) {
  IRBuilder<> &B = K.B;
  K.loopRange(S.ILo, S.IHi, [&](Value *I) {
    Value *XRow = B.CreateAdd(S.XBase, B.CreateMul(I, K.i64(G.SH * G.W)));
    Value *YRow = B.CreateAdd(S.YBase, B.CreateMul(I, K.i64(G.OW)));
    K.loopRange(S.JLo, S.JHi, [&](Value *J) {
      F(B.CreateAdd(XRow, B.CreateMul(J, K.i64(G.SW))), B.CreateAdd(YRow, J));
    });
  });
}

// Each kernel splits across threads the loop over the output it writes:
// conv2d the output planes (n, o); conv2d_grad_input the input planes
// (n, c), taking the output channels of c's group in increasing order;
// conv2d_grad_weight the filter planes (o, c), taking the examples in
// increasing order. Every element still sees its taps in the interpreter's
// order.

void emitConv2d(KernelEmitter &K) {
  IRBuilder<> &B = K.B;
  DType T = K.resultType().Elt;
  ConvGeom G = convGeom(K, K.operandType(0).Dims, K.operandType(1).Dims,
                        K.resultType().Dims);
  bool HasBias = K.numOperands() == 3;
  int64_t Work = G.Cg * G.KH * G.KW * G.OH * G.OW;
  K.parallelLoop(G.N * G.Cout, Work, [&](Value *Plane) {
    auto [N, O] = split2(K, Plane, G.Cout);
    Value *YPlane = B.CreateMul(Plane, K.i64(G.OH * G.OW));
    Value *Init = HasBias ? K.load(T, K.operand(2), O) : K.constant(T, 0.0);
    K.loop(G.OH * G.OW, [&](Value *I) {
      K.store(Init, T, K.result(), B.CreateAdd(YPlane, I));
    });
    K.loop(G.Cg, [&](Value *C) {
      forEachKernelTap(K, G, N, O, C, [&](const TapSpan &S, Value *WIdx) {
        Value *WV = K.load(T, K.operand(1), WIdx);
        forEachPosition(K, G, S, [&](Value *XI, Value *YI) {
          Value *XV = K.load(T, K.operand(0), XI);
          Value *Acc = K.load(T, K.result(), YI);
          K.store(mulAdd(B, T, Acc, XV, WV), T, K.result(), YI);
        });
      });
    });
  });
}

void emitConv2dGradInput(KernelEmitter &K) {
  IRBuilder<> &B = K.B;
  DType T = K.resultType().Elt;
  ConvGeom G = convGeom(K, K.resultType().Dims, K.operandType(1).Dims,
                        K.operandType(0).Dims);
  int64_t PerGroup = G.Cout / G.Groups;
  int64_t Work = PerGroup * G.KH * G.KW * G.OH * G.OW;
  K.parallelLoop(G.N * G.C, Work, [&](Value *Plane) {
    auto [N, XC] = split2(K, Plane, G.C);
    auto [Group, C] = split2(K, XC, G.Cg);
    zeroRange(K, T, B.CreateMul(Plane, K.i64(G.H * G.W)), G.H * G.W);
    Value *O0 = B.CreateMul(Group, K.i64(PerGroup));
    K.loop(PerGroup, [&](Value *OI) {
      forEachKernelTap(K, G, N, B.CreateAdd(O0, OI), C,
                       [&](const TapSpan &S, Value *WIdx) {
                         Value *WV = K.load(T, K.operand(1), WIdx);
                         forEachPosition(K, G, S, [&](Value *XI, Value *YI) {
                           Value *GV = K.load(T, K.operand(0), YI);
                           Value *Acc = K.load(T, K.result(), XI);
                           K.store(mulAdd(B, T, Acc, GV, WV), T, K.result(),
                                   XI);
                         });
                       });
    });
  });
}

void emitConv2dGradWeight(KernelEmitter &K) {
  IRBuilder<> &B = K.B;
  DType T = K.resultType().Elt;
  ConvGeom G = convGeom(K, K.operandType(0).Dims, K.resultType().Dims,
                        K.operandType(1).Dims);
  int64_t Work = G.N * G.KH * G.KW * G.OH * G.OW;
  K.parallelLoop(G.Cout * G.Cg, Work, [&](Value *Plane) {
    auto [O, C] = split2(K, Plane, G.Cg);
    zeroRange(K, T, B.CreateMul(Plane, K.i64(G.KH * G.KW)), G.KH * G.KW);
    AllocaInst *Acc = K.entryAlloca(K.eltType(T));
    K.loop(G.N, [&](Value *N) {
      forEachKernelTap(K, G, N, O, C, [&](const TapSpan &S, Value *WIdx) {
        B.CreateStore(K.load(T, K.result(), WIdx), Acc);
        forEachPosition(K, G, S, [&](Value *XI, Value *YI) {
          Value *XV = K.load(T, K.operand(0), XI);
          Value *GV = K.load(T, K.operand(1), YI);
          Value *Sum = B.CreateLoad(K.eltType(T), Acc);
          B.CreateStore(mulAdd(B, T, Sum, XV, GV), Acc);
        });
        K.store(B.CreateLoad(K.eltType(T), Acc), T, K.result(), WIdx);
      });
    });
  });
}

} // namespace

void emitLinalg(KernelEmitter &K) {
  switch (K.op()) {
  case ir::Op::Matmul:
    return emitMatmul(K);
  case ir::Op::Conv2d:
    return emitConv2d(K);
  case ir::Op::Conv2dGradInput:
    return emitConv2dGradInput(K);
  case ir::Op::Conv2dGradWeight:
    return emitConv2dGradWeight(K);
  default:
    report_fatal_error("emitLinalg: not a Linalg op");
  }
}

} // namespace gradc::codegen
