//===- codegen/EmitElementwise.cpp - Elementwise ops as loops --------------===//
//
// Every elementwise op, broadcasting included, through the one definition of
// its meaning: ir::evalElementwise (ir/ops/Elementwise.h), instantiated here
// with an IRBuilder algebra whose values are llvm::Value *. The algebra
// follows the interpreter's DoubleSem exactly, NaN behaviour included:
// min/max pick A when A is NaN or wins the comparison, else B (fcmp + select,
// never minnum/maxnum); comparisons are ordered (NaN gives 0); select tests
// c != 0 (NaN counts as true). Transcendentals are llvm intrinsics (exp,
// log, sqrt, fabs, trunc, pow), which lower to the same libm calls as
// std::exp and friends, and libm calls for erf, tanh, expm1 and log1p, so f64
// results equal the interpreter's bit for bit. f32 ops compute in f32 (the
// interpreter computes in f64 and rounds once; see tests/unit/JitTest.cpp
// for the tolerance).
//
// Values are computed in the op's float type (the result's; for a cast to
// i32 the operand's): i32 operands convert with sitofp, other float widths
// with fpext/fptrunc. A result of i32 is stored with fptosi.sat, truncating
// toward zero and saturating (NaN gives 0) as the interp backend's output
// conversion does.
//
// Loops: size-1 axes of the result are dropped and neighbouring axes that
// every operand walks as one are merged, so `x + b` over [64, 128] + [128]
// is a 64 x 128 nest with a unit-stride inner loop and `x * 0.5` one loop.
// The outermost loop is split across threads (parallelLoop) when the op is
// big enough; a single loop is first cut into blocks of kBlock elements.
//
//===----------------------------------------------------------------------===//
#include "codegen/Kernel.h"

#include "ir/Interpreter.h"
#include "ir/ops/Elementwise.h"

#include <llvm/IR/Intrinsics.h>

namespace gradc::codegen {
namespace {

/// The IRBuilder algebra of evalElementwise, over values of type Ty.
struct LLVMSem {
  using Value = llvm::Value *;
  KernelEmitter &K;
  llvm::Type *Ty;

  llvm::IRBuilder<> &b() { return K.B; }
  bool isInt() const { return Ty->isIntegerTy(); }
  Value unary(llvm::Intrinsic::ID Id, Value A) {
    return b().CreateUnaryIntrinsic(Id, A);
  }
  /// A libm function of the type's width: "erf" or "erff".
  Value math(const char *Name, std::vector<Value> Args) {
    std::string N(Name);
    if (Ty->isFloatTy())
      N += 'f';
    return K.callMath(N, std::move(Args));
  }
  Value flag(Value Cond) {
    return b().CreateSelect(Cond, c(1), c(0));
  }

  Value c(double D) { return llvm::ConstantFP::get(Ty, D); }
  Value add(Value A, Value B) { return b().CreateFAdd(A, B); }
  Value sub(Value A, Value B) { return b().CreateFSub(A, B); }
  Value mul(Value A, Value B) { return b().CreateFMul(A, B); }
  Value div(Value A, Value B) { return b().CreateFDiv(A, B); }
  // DoubleSem: isnan(A) || A < B ? A : B
  Value min(Value A, Value B) {
    Value Pick = b().CreateOr(b().CreateFCmpUNO(A, A), b().CreateFCmpOLT(A, B));
    return b().CreateSelect(Pick, A, B);
  }
  // DoubleSem: isnan(A) || A > B ? A : B
  Value max(Value A, Value B) {
    Value Pick = b().CreateOr(b().CreateFCmpUNO(A, A), b().CreateFCmpOGT(A, B));
    return b().CreateSelect(Pick, A, B);
  }
  Value pow(Value A, Value B) {
    return b().CreateBinaryIntrinsic(llvm::Intrinsic::pow, A, B);
  }
  Value neg(Value A) { return b().CreateFNeg(A); }
  Value exp(Value A) { return unary(llvm::Intrinsic::exp, A); }
  Value expm1(Value A) { return math("expm1", {A}); }
  Value log(Value A) { return unary(llvm::Intrinsic::log, A); }
  Value log1p(Value A) { return math("log1p", {A}); }
  Value sqrt(Value A) { return unary(llvm::Intrinsic::sqrt, A); }
  Value abs(Value A) { return unary(llvm::Intrinsic::fabs, A); }
  Value tanh(Value A) { return math("tanh", {A}); }
  Value erf(Value A) { return math("erf", {A}); }
  // An integer is its own truncation (cast i32 -> i32).
  Value trunc(Value A) {
    return isInt() ? A : unary(llvm::Intrinsic::trunc, A);
  }
  Value gt(Value A, Value B) { return flag(b().CreateFCmpOGT(A, B)); }
  Value ge(Value A, Value B) { return flag(b().CreateFCmpOGE(A, B)); }
  Value eq(Value A, Value B) { return flag(b().CreateFCmpOEQ(A, B)); }
  // C++'s C != 0 is true for NaN: an unordered-or-not-equal test.
  Value select(Value C, Value A, Value B) {
    return b().CreateSelect(b().CreateFCmpUNE(C, this->c(0)), A, B);
  }
};

/// Converts \p V (of dtype \p From) to the compute type \p To.
llvm::Value *toCompute(KernelEmitter &K, llvm::Value *V, ir::DType From,
                       llvm::Type *To) {
  if (V->getType() == To)
    return V;
  if (From == ir::DType::I32)
    return K.B.CreateSIToFP(V, To);
  return K.B.CreateFPCast(V, To);
}

/// Converts a computed value to the result's dtype \p To.
llvm::Value *fromCompute(KernelEmitter &K, llvm::Value *V, ir::DType To) {
  llvm::Type *Ty = K.eltType(To);
  if (V->getType() == Ty)
    return V;
  if (To == ir::DType::I32)
    return K.B.CreateIntrinsic(llvm::Intrinsic::fptosi_sat,
                               {Ty, V->getType()}, {V});
  return K.B.CreateFPCast(V, Ty);
}

/// The elements of one block of a long flat loop split across threads.
constexpr int64_t kBlock = 8192;

/// One axis of the loop nest: its size and each operand's element stride.
struct Axis {
  int64_t Size;
  std::vector<int64_t> St; // per operand, then the result's
};

} // namespace

llvm::Value *emitElementwiseScalar(KernelEmitter &K, const ir::Node &Nd,
                                   std::span<llvm::Value *const> Ops,
                                   std::span<const ir::DType> OpTypes) {
  // The compute type: the result's float type, or the operand's for a cast
  // to i32 (and i32 itself for identity and cast on i32).
  ir::DType CT = Nd.Type.Elt;
  if (CT == ir::DType::I32 && Ops.size() == 1)
    CT = OpTypes[0];
  llvm::Type *Ty = K.eltType(CT);
  LLVMSem Sem{K, Ty};
  std::vector<llvm::Value *> X;
  for (size_t I = 0; I < Ops.size(); ++I)
    X.push_back(toCompute(K, Ops[I], OpTypes[I], Ty));
  llvm::Value *V = ir::evalElementwise(Sem, Nd.Opcode, Nd.Attrs,
                                       std::span<llvm::Value *const>(X));
  return fromCompute(K, V, Nd.Type.Elt);
}

void broadcastNest(
    KernelEmitter &K, const ir::Shape &Dims, const std::vector<ir::Shape> &Ins,
    const std::function<void(const std::vector<llvm::Value *> &)> &Body) {
  // Strides of every input broadcast to Dims, and the full shape's own.
  size_t N = Ins.size();
  std::vector<std::vector<int64_t>> St;
  for (const ir::Shape &In : Ins)
    St.push_back(ir::broadcastStrides(In, Dims));
  St.push_back(ir::stridesOf(Dims));

  // Drop size-1 axes; merge axis A into the previous one when every buffer
  // walks the pair as one run (stride[prev] == stride[A] * size[A]).
  std::vector<Axis> Axes;
  for (size_t A = 0; A < Dims.size(); ++A) {
    if (Dims[A] == 1)
      continue;
    Axis X{Dims[A], {}};
    for (auto &S : St)
      X.St.push_back(S[A]);
    if (!Axes.empty()) {
      Axis &P = Axes.back();
      bool Merge = true;
      for (size_t I = 0; I < X.St.size(); ++I)
        Merge &= P.St[I] == X.St[I] * X.Size;
      if (Merge) {
        P.Size *= X.Size;
        P.St = X.St;
        continue;
      }
    }
    Axes.push_back(std::move(X));
  }

  std::vector<llvm::Value *> Offs(N + 1, K.i64(0));
  // Offsets of every buffer at index I of axis A, from the enclosing ones.
  auto Step = [&](size_t A, const std::vector<llvm::Value *> &Saved,
                  llvm::Value *I) {
    for (size_t J = 0; J <= N; ++J) {
      int64_t S = Axes[A].St[J];
      if (S == 0)
        continue;
      llvm::Value *D = S == 1 ? I : K.B.CreateMul(I, K.i64(S), "", true, true);
      Offs[J] = K.B.CreateAdd(Saved[J], D, "", true, true);
    }
  };
  std::function<void(size_t)> Level = [&](size_t A) {
    if (A == Axes.size())
      return Body(Offs);
    std::vector<llvm::Value *> Saved = Offs;
    auto Body = [&](llvm::Value *I) {
      Step(A, Saved, I);
      Level(A + 1);
    };
    int64_t Inner = 1;
    for (size_t B = A + 1; B < Axes.size(); ++B)
      Inner *= Axes[B].Size;
    int64_t Size = Axes[A].Size, Blocks = (Size + kBlock - 1) / kBlock;
    if (A > 0)
      K.loop(Size, Body);
    else if (Axes.size() > 1 || !K.parallelWorthwhile(Blocks, kBlock))
      K.parallelLoop(Size, Inner, Body);
    else
      // One long axis: split into blocks of kBlock elements.
      K.parallelLoop(Blocks, kBlock, [&](llvm::Value *Blk) {
        llvm::Value *Lo = K.B.CreateMul(Blk, K.i64(kBlock), "", true, true);
        llvm::Value *Hi = K.B.CreateAdd(Lo, K.i64(kBlock), "", true, true);
        Hi = K.B.CreateSelect(K.B.CreateICmpSLT(Hi, K.i64(Size)), Hi,
                              K.i64(Size));
        K.loopRange(Lo, Hi, Body);
      });
    Offs = Saved;
  };
  Level(0);
}

void emitElementwise(KernelEmitter &K) {
  const ir::TensorType &RT = K.resultType();
  size_t N = K.numOperands();
  std::vector<ir::DType> OpTypes;
  std::vector<ir::Shape> Ins;
  for (size_t I = 0; I < N; ++I) {
    OpTypes.push_back(K.operandType(I).Elt);
    Ins.push_back(K.operandType(I).Dims);
  }
  broadcastNest(K, RT.Dims, Ins, [&](const std::vector<llvm::Value *> &Offs) {
    std::vector<llvm::Value *> X;
    for (size_t I = 0; I < N; ++I)
      X.push_back(K.load(OpTypes[I], K.operand(I), Offs[I]));
    K.store(emitElementwiseScalar(K, K.node(), X, OpTypes), RT.Elt, K.result(),
            Offs[N]);
  });
}

} // namespace gradc::codegen
