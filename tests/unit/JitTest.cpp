//===- tests/unit/JitTest.cpp - Each op: the JIT against the interpreter --===//
//
// Differential tests of the code generator (DESIGN.md example 11): every op
// of ir/Ops.def that a function can contain, in the attribute variants that
// change the loops, as a one-node function compiled by the JIT and run by
// ir::interpret on the same random operands (ties, NaN, infinities and
// signed zeros included where semantics differ on them), in f64 and in f32.
// An op without a case fails the test. batch_norm and dropout are lowered
// to other ops before any function exists and have no reference semantics
// of their own: the models of JitModelTest.cpp cover them. Also the forms
// of the function body (args, large constants, assigns) and runtime errors.
// Each case runs with one thread and, every splittable loop split, with 2,
// 3 and 4: the results must be the same to the bit.
//
// Tolerances, with a the JIT's value and b the interpreter's:
//   f64: |a - b| <= 1e-12 * max(|b|, 1). Elementwise code calls the same
//     libm functions in the same order, so it is exact; loops that sum may
//     add in another order, which moves results by a few ulps of the terms.
//   f32: |a - b| <= 1e-5 * sqrt(T) * max(|b|, 1), T the number of terms
//     summed per result. The interpreter computes each op in f64 and rounds
//     once; the JIT rounds every f32 operation (u = 2^-24 = 6e-8) and f32
//     libm calls are within 1-2 ulp: a chain of up to ~10 roundings (gelu,
//     sigmoid, softplus, the losses) stays below 1e-6 relative; a sum of T
//     terms of inputs in [-2, 2) adds rounding errors that grow like
//     sqrt(T) * u * sum|x| (random-walk accumulation), which 1e-5 * sqrt(T)
//     covers, with the max(|b|, 1) floor for results that cancel to near 0.
//     (Measured: the worst case uses 2% of it.)
//
//===----------------------------------------------------------------------===//
#include "GradCheck.h"
#include "JitTestUtil.h"

#include "codegen/Codegen.h"
#include "codegen/JIT.h"
#include "ir/Builder.h"
#include "ir/Fusion.h"
#include "ir/Interpreter.h"
#include "ir/OpDefs.h"
#include "ir/Verifier.h"
#include "runtime/Interp.h"

#include <gtest/gtest.h>
#include <llvm/IR/Instructions.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>
#include <llvm/Support/raw_ostream.h>

#include <cmath>
#include <cstdlib>
#include <cstring>

using namespace gradc;
using namespace gradc::ir;
using gradc::test::expectClose;
using gradc::test::Random;

namespace gradc::ir {
void PrintTo(Op O, std::ostream *OS) { *OS << mnemonic(O); }
} // namespace gradc::ir

namespace {

/// Where an operand's values come from: uniform in [Lo, Hi); Integral
/// floors them (ties for max, eq, argmax); Special draws from NaN, the
/// infinities, signed zeros and a few ordinary numbers.
struct Dom {
  double Lo = -2.0, Hi = 2.0;
  enum Kind { Uniform, Integral, Special } K = Uniform;
};
const Dom Pos{0.5, 2.0}, Prob{0.05, 0.95}, Ties{-2, 3, Dom::Integral},
    Odd{0, 0, Dom::Special};

struct Case {
  Op O;
  std::vector<TensorType> Operands; // written in f64; the f32 variant swaps
  std::vector<NamedAttrValue> Attrs = {};
  std::vector<Dom> Domains = {}; // per operand; default [-2, 2)
  int64_t Terms = 0; // terms summed per result (f32 tolerance); 0: derived
};

TensorType f64(Shape S) { return {DType::F64, std::move(S)}; }
TensorType i32(Shape S) { return {DType::I32, std::move(S)}; }
TensorType f32(Shape S) { return {DType::F32, std::move(S)}; }
AttrValue I(int64_t V) { return V; }
AttrValue F(double V) { return V; }
AttrValue L(std::initializer_list<int64_t> V) { return IntList(V); }
AttrValue Bool(bool V) { return V; }

std::vector<Case> cases() {
  return {
      // Elementwise: broadcasting both ways, ties and special values.
      {Op::Identity, {f64({2, 3})}},
      {Op::Identity, {i32({5})}, {}, {{-9, 9}}},
      {Op::Add, {f64({2, 3}), f64({3})}},
      {Op::Add, {f64({4, 1, 3}), f64({5, 1})}},
      {Op::Add, {f64({}), f64({37})}},
      {Op::Sub, {f64({2, 1}), f64({1, 3})}},
      {Op::Mul, {f64({2, 3}), f64({2, 3})}},
      {Op::Mul, {f64({3, 4}), f64({})}, {}, {Odd, Odd}},
      {Op::Div, {f64({2, 3}), f64({3})}, {}, {{}, Pos}},
      {Op::Div, {f64({4}), f64({4})}, {}, {Odd, Odd}},
      {Op::Neg, {f64({4})}, {}, {Odd}},
      {Op::Maximum, {f64({2, 3}), f64({3})}},
      {Op::Maximum, {f64({6, 5}), f64({6, 5})}, {}, {Odd, Odd}},
      {Op::Minimum, {f64({3}), f64({2, 3})}, {}, {Ties, Ties}},
      {Op::Minimum, {f64({6, 5}), f64({6, 5})}, {}, {Odd, Odd}},
      {Op::Pow, {f64({2, 3}), f64({2, 3})}, {}, {Pos, {}}},
      {Op::Pow, {f64({8}), f64({8})}, {}, {Odd, Odd}},
      {Op::Exp, {f64({2, 3})}},
      {Op::Exp, {f64({10})}, {}, {Odd}},
      {Op::Log, {f64({2, 3})}, {}, {Pos}},
      {Op::Log, {f64({10})}, {}, {Odd}},
      {Op::Sqrt, {f64({2, 3})}, {}, {Pos}},
      {Op::Rsqrt, {f64({2, 3})}, {}, {Pos}},
      {Op::Abs, {f64({2, 3})}, {}, {Odd}},
      {Op::Square, {f64({2, 3})}},
      {Op::Sign, {f64({3, 4})}, {}, {Ties}},
      {Op::Sign, {f64({10})}, {}, {Odd}},
      {Op::Relu, {f64({2, 3})}},
      {Op::Relu, {f64({10})}, {}, {Odd}},
      {Op::Sigmoid, {f64({2, 3})}},
      {Op::Sigmoid, {f64({10})}, {}, {{-100, 100}}},
      {Op::Tanh, {f64({2, 3})}},
      {Op::Softplus, {f64({2, 3})}},
      {Op::Softplus, {f64({2, 3})}, {}, {{19.0, 22.0}}},
      {Op::Gelu, {f64({2, 3})}},
      {Op::LeakyRelu, {f64({2, 3})}, {{"slope", F(0.2)}}},
      {Op::Elu, {f64({2, 3})}, {{"alpha", F(1.5)}}},
      {Op::Clamp, {f64({2, 3})}, {{"lo", F(-0.5)}, {"hi", F(0.7)}}},
      {Op::Clamp, {f64({10})}, {{"lo", F(-0.5)}, {"hi", F(0.7)}}, {Odd}},
      {Op::Cast, {f64({2, 3})}, {{"to", DType::F64}}},
      {Op::Cast, {f64({2, 3})}, {{"to", DType::F32}}},
      {Op::Cast, {f32({2, 3})}, {{"to", DType::F64}}},
      {Op::Cast, {f64({2, 5})}, {{"to", DType::I32}}, {{-9, 9}}},
      {Op::Cast, {f64({10})}, {{"to", DType::I32}}, {Odd}},
      {Op::Cast, {i32({2, 3})}, {{"to", DType::F64}}, {{-9, 9}}},
      {Op::Cast, {i32({4})}, {{"to", DType::I32}}, {{-9, 9}}},
      {Op::Erf, {f64({2, 3})}},
      {Op::Gt, {f64({2, 3}), f64({3})}, {}, {Ties, Ties}},
      {Op::Gt, {f64({6, 5}), f64({6, 5})}, {}, {Odd, Odd}},
      {Op::Ge, {f64({2, 3}), f64({2, 1})}, {}, {Ties, Ties}},
      {Op::Eq, {f64({4, 3}), f64({3})}, {}, {Ties, Ties}},
      {Op::Eq, {f64({6, 5}), f64({6, 5})}, {}, {Odd, Odd}},
      {Op::Select, {f64({2, 3}), f64({2, 3}), f64({3})}, {}, {Ties, {}, {}}},
      {Op::Select, {f64({10}), f64({10}), f64({})}, {}, {Odd, {}, {}}},
      // Reductions: all axes, some axes, keepdims, ties.
      {Op::Sum, {f64({2, 3, 4})}},
      {Op::Sum, {f64({2, 3, 4})}, {{"axes", L({0, 2})}, {"keepdims", Bool(true)}}},
      {Op::Sum, {f64({5, 7})}, {{"axes", L({0})}}},
      {Op::Mean, {f64({2, 3, 4})}, {{"axes", L({1})}}},
      {Op::Mean, {f64({2, 3})}, {{"keepdims", Bool(true)}}},
      {Op::Max, {f64({2, 3, 4})}, {{"axes", L({-1})}}},
      {Op::Max, {f64({3, 4})}, {}, {Ties}},
      {Op::Max, {f64({4, 5})}, {{"axes", L({0})}}, {Odd}},
      {Op::LogSumExp, {f64({2, 3, 4})}, {{"axes", L({1, 2})}}},
      {Op::LogSumExp, {f64({3, 4})}, {{"keepdims", Bool(true)}}},
      {Op::Softmax, {f64({2, 3, 4})}, {{"axis", I(1)}}},
      {Op::Softmax, {f64({3, 5})}},
      {Op::LogSoftmax, {f64({2, 3, 4})}, {{"axis", I(0)}}},
      {Op::LogSoftmax, {f64({3, 5})}},
      {Op::Argmax, {f64({3, 5})}, {}, {Ties}},
      {Op::Argmax, {f64({2, 3, 4})}, {{"axis", I(1)}}},
      {Op::Argmax, {f64({4, 3})}, {}, {Odd}},
      // Movement.
      {Op::Transpose, {f64({2, 3, 4})}, {{"perm", L({2, 0, 1})}}},
      {Op::Transpose, {f64({2, 3})}},
      {Op::Reshape, {f64({2, 3, 4})}, {{"shape", L({4, -1})}}},
      {Op::Reshape, {i32({6})}, {{"shape", L({2, 3})}}, {{-9, 9}}},
      {Op::Flatten, {f64({2, 3, 4})}},
      {Op::Concat, {f64({2, 3}), f64({2, 2}), f64({2, 1})}, {{"axis", I(1)}}},
      {Op::Concat, {f64({1, 3}), f64({2, 3})}},
      {Op::Slice, {f64({5, 3})}, {{"axis", I(0)}, {"start", I(1)}, {"end", I(4)}}},
      {Op::Slice, {f64({2, 6})}, {{"axis", I(1)}, {"start", I(-2)}}},
      {Op::Broadcast, {f64({3, 1})}, {{"shape", L({2, 3, 4})}}},
      {Op::Broadcast, {f64({})}, {{"shape", L({5})}}},
      // Linear algebra.
      {Op::Matmul, {f64({3, 4}), f64({4, 2})}, {}, {}, 4},
      {Op::Matmul, {f64({2, 3, 4}), f64({4, 5})}, {}, {}, 4},
      {Op::Matmul, {f64({2, 1, 3, 4}), f64({3, 4, 2})}, {}, {}, 4},
      {Op::Matmul, {f64({17, 33}), f64({33, 19})}, {}, {}, 33},
      {Op::MatmulT, {f64({33, 17}), f64({33, 19})}, {{"transpose_a", Bool(true)}}, {}, 33},
      {Op::MatmulT, {f64({17, 33}), f64({19, 33})}, {{"transpose_b", Bool(true)}}, {}, 33},
      {Op::MatmulT, {f64({2, 4, 3}), f64({2, 5, 4})},
       {{"transpose_a", Bool(true)}, {"transpose_b", Bool(true)}}, {}, 4},
      {Op::Conv2d, {f64({2, 3, 5, 5}), f64({4, 3, 3, 3})}, {}, {}, 27},
      {Op::Conv2d, {f64({1, 2, 6, 7}), f64({2, 2, 3, 2}), f64({2})},
       {{"stride", L({2, 1})}, {"padding", L({1, 2})}}, {}, 13},
      {Op::Conv2d, {f64({1, 4, 7, 7}), f64({6, 2, 2, 3})},
       {{"dilation", L({2, 1})}, {"groups", I(2)}, {"padding", I(1)}}, {}, 12},
      {Op::Conv2dGradInput, {f64({1, 2, 3, 3}), f64({2, 3, 3, 3})},
       {{"input_size", L({5, 5})}}, {}, 18},
      {Op::Conv2dGradInput, {f64({1, 4, 3, 4}), f64({4, 1, 2, 2})},
       {{"input_size", L({6, 8})}, {"stride", I(2)}, {"groups", I(2)}}, {}, 8},
      {Op::Conv2dGradWeight, {f64({1, 3, 5, 5}), f64({1, 2, 3, 3})},
       {{"kernel", L({3, 3})}}, {}, 9},
      {Op::Conv2dGradWeight, {f64({2, 4, 6, 6}), f64({2, 2, 4, 4})},
       {{"kernel", L({2, 2})}, {"stride", I(2)}, {"padding", I(1)}, {"groups", I(2)}},
       {}, 32},
      // Layers.
      {Op::MaxPool2d, {f64({1, 2, 5, 5})}, {{"kernel", I(2)}}},
      {Op::MaxPool2d, {f64({1, 1, 6, 6})}, {{"kernel", I(3)}, {"stride", I(2)}, {"padding", I(1)}}},
      {Op::MaxPool2d, {f64({2, 2, 4, 4})}, {{"kernel", I(2)}}, {Ties}},
      {Op::AvgPool2d, {f64({1, 2, 4, 4})}, {{"kernel", I(2)}}},
      {Op::AvgPool2d, {f64({1, 1, 5, 5})}, {{"kernel", I(3)}, {"stride", I(2)}, {"padding", I(1)}}},
      {Op::MaxPool2dGrad, {f64({1, 2, 5, 5}), f64({1, 2, 2, 2})}, {{"kernel", I(2)}}},
      {Op::MaxPool2dGrad, {f64({1, 1, 6, 6}), f64({1, 1, 3, 3})},
       {{"kernel", I(3)}, {"stride", I(2)}, {"padding", I(1)}}, {Ties, {}}},
      {Op::AvgPool2dGrad, {f64({1, 1, 3, 3})},
       {{"kernel", I(3)}, {"stride", I(2)}, {"padding", I(1)}, {"input_size", L({5, 5})}}},
      {Op::AvgPool2dGrad, {f64({2, 3, 2, 2})}, {{"kernel", I(2)}, {"input_size", L({4, 4})}}},
      {Op::Embedding, {i32({2, 3}), f64({5, 4})}, {}, {{0, 5}, {}}},
      {Op::EmbeddingGrad, {i32({2, 3}), f64({2, 3, 4})}, {{"num", I(5)}}, {{0, 5}, {}}},
      {Op::DropoutMask, {f64({}), f64({})},
       {{"p", F(0.3)}, {"salt", I(-7)}, {"shape", L({4, 33})}, {"dtype", DType::F64}},
       {{0, 1000, Dom::Integral}, {0, 50, Dom::Integral}}},
      // Losses.
      {Op::Mse, {f64({3, 4}), f64({4})}},
      {Op::Bce, {f64({6}), f64({6})}, {}, {Prob, Prob}},
      {Op::Bce, {f64({4}), f64({4})}, {}, {{0, 2, Dom::Integral}, Prob}},
      {Op::BceWithLogits, {f64({2, 3}), f64({2, 3})}, {}, {{}, Prob}},
      {Op::SoftmaxCrossEntropy, {f64({4, 3}), i32({4})}, {}, {{}, {0, 3}}},
      {Op::SoftmaxCrossEntropy, {f64({4, 3}), f64({4, 3})}, {}, {{}, Prob}},
      {Op::Accuracy, {f64({6, 3}), i32({6})}, {}, {Ties, {0, 3}}},
      {Op::Accuracy, {f64({5, 4}), f64({5, 4})}, {}, {Ties, Ties}},
      {Op::OneHot, {i32({2, 3})}, {{"classes", I(4)}, {"dtype", DType::F64}}, {{-1, 5}}},
  };
}

/// The f32 variant of \p C: every f64 operand and dtype attribute made f32.
Case toF32(Case C) {
  for (TensorType &T : C.Operands)
    if (T.Elt == DType::F64)
      T.Elt = DType::F32;
  for (NamedAttrValue &A : C.Attrs)
    if (auto *D = std::get_if<DType>(&A.Value); D && *D == DType::F64)
      *D = DType::F32;
  return C;
}

double draw(Random &R, const Dom &D, DType T) {
  if (D.K == Dom::Special) {
    static const double V[] = {NAN, INFINITY, -INFINITY, 0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0};
    double X = V[R.next() % std::size(V)];
    return T == DType::I32 && !std::isfinite(X) ? 0.0 : X;
  }
  double X = R.uniform(D.Lo, D.Hi);
  if (T == DType::I32 || D.K == Dom::Integral)
    X = std::floor(X);
  return T == DType::F32 ? static_cast<double>(static_cast<float>(X)) : X;
}

/// A 64-byte aligned block of bytes, zeroed.
struct Block {
  explicit Block(size_t N) : Bytes(N + 128, 0) {}
  uint8_t *at(size_t Offset) {
    auto P = reinterpret_cast<uintptr_t>(Bytes.data());
    return reinterpret_cast<uint8_t *>((P + 63) / 64 * 64) + Offset;
  }
  std::vector<uint8_t> Bytes;
};

codegen::Jit &theJit() {
  static std::unique_ptr<codegen::Jit> J = [] {
    auto X = codegen::Jit::create();
    if (!X) {
      ADD_FAILURE() << llvm::toString(X.takeError());
      std::abort();
    }
    return std::move(*X);
  }();
  return *J;
}

/// What a compiled function gave: its return code, ErrorInfo, results and
/// the state after the call.
struct JitRun {
  int64_t Rc = -1;
  int64_t ErrorInfo[2] = {-1, -1};
  std::vector<Tensor> Results;
  TensorMap State;
};

/// Fails when a call of a kernel passes overlapping bytes of one buffer to
/// two pointer parameters, one of them noalias, unless both are read-only:
/// the layout and the memory plan promise that never happens (an in-place
/// update passes its State slot once).
void expectNoFalseNoalias(const llvm::Module &LM) {
  const llvm::DataLayout &DL = LM.getDataLayout();
  for (const llvm::Function &Fn : LM)
    for (const llvm::BasicBlock &BB : Fn)
      for (const llvm::Instruction &I : BB) {
        const auto *CI = llvm::dyn_cast<llvm::CallInst>(&I);
        const llvm::Function *K = CI ? CI->getCalledFunction() : nullptr;
        if (!K || K->isDeclaration() || K->isIntrinsic())
          continue;
        auto Range = [&](unsigned A, llvm::APInt &Off) {
          Off = llvm::APInt(64, 0);
          return CI->getArgOperand(A)->stripAndAccumulateConstantOffsets(DL, Off, true);
        };
        for (unsigned A = 0; A < CI->arg_size(); ++A)
          for (unsigned B = A + 1; B < CI->arg_size(); ++B) {
            if (!K->hasParamAttribute(A, llvm::Attribute::NoAlias) &&
                !K->hasParamAttribute(B, llvm::Attribute::NoAlias))
              continue;
            if (K->hasParamAttribute(A, llvm::Attribute::ReadOnly) &&
                K->hasParamAttribute(B, llvm::Attribute::ReadOnly))
              continue;
            llvm::APInt OA, OB;
            if (Range(A, OA) != Range(B, OB))
              continue;
            int64_t BytesA = static_cast<int64_t>(K->getParamDereferenceableBytes(A));
            int64_t BytesB = static_cast<int64_t>(K->getParamDereferenceableBytes(B));
            int64_t SA = OA.getSExtValue(), SB = OB.getSExtValue();
            if (SA < SB + std::max<int64_t>(BytesB, 1) && SB < SA + std::max<int64_t>(BytesA, 1))
              ADD_FAILURE() << Fn.getName().str() << " passes overlapping bytes to "
                            << K->getName().str() << "'s noalias parameters " << A << " and " << B;
          }
      }
}

/// Compiles \p M and calls `gradc_<Fn.Name>` through the ABI of Codegen.h:
/// State arena from \p State, inputs from \p In (64-byte aligned, as the ABI
/// requires), \p Args, scratch full of NaN bytes (a kernel must not count on
/// zeroed memory).
void runJit(const Module &M, const Function &Fn, const TensorMap &In,
            const TensorMap &State, const std::vector<double> &Args, JitRun &Out,
            const codegen::EmitOptions &Opts = {}, bool *Split = nullptr) {
  codegen::Layout L = codegen::computeLayout(M);
  codegen::Jit &J = theJit();
  std::unique_ptr<llvm::Module> LM =
      codegen::emitModule(M, L, J.context(), J.targetMachine(), Opts);
  expectNoFalseNoalias(*LM);
  if (Split)
    *Split = LM->getFunction("gradc_rt_parallel_for") != nullptr;
  if (std::getenv("GRADC_JIT_TEST_PRINT")) // the IR of each case, for debugging
    LM->print(llvm::errs(), nullptr);
  auto Fns = J.compile(std::move(LM));
  ASSERT_TRUE(!!Fns) << llvm::toString(Fns.takeError());
  auto Entry = reinterpret_cast<int64_t (*)(uint8_t *, uint8_t *, const void *const *,
                                            const double *, void *const *, int64_t *)>(
      Fns->at("gradc_" + Fn.Name));
  uint64_t ScratchBytes = L.Functions.at(Fn.Name).ScratchBytes;
  Block StateMem(L.StateBytes), Scratch(ScratchBytes);
  std::memset(Scratch.at(0), 0xFF, ScratchBytes);
  for (auto &[Name, T] : State)
    runtime::doublesToBytes(T.Type.Elt, T.Data.data(), T.size(),
                            StateMem.at(L.State.at(Name).Offset));
  std::vector<Block> InMem;
  std::vector<const void *> InPtrs;
  for (const std::string &Name : L.Inputs) {
    auto It = In.find(Name);
    InMem.emplace_back(It == In.end() ? 0 : It->second.size() * 8);
    if (It != In.end())
      runtime::doublesToBytes(It->second.Type.Elt, It->second.Data.data(),
                              It->second.size(), InMem.back().at(0));
    InPtrs.push_back(It == In.end() ? nullptr : InMem.back().at(0));
  }
  std::vector<Block> ResMem;
  std::vector<void *> ResPtrs;
  for (const ir::Result &R : Fn.Results) {
    const TensorType &T = Fn.type(R.Value);
    ResMem.emplace_back(static_cast<size_t>(T.numElements()) * dtypeSize(T.Elt));
  }
  for (Block &B : ResMem)
    ResPtrs.push_back(B.at(0));
  Out.Rc = Entry(StateMem.at(0), Scratch.at(0), InPtrs.data(), Args.data(), ResPtrs.data(),
                 Out.ErrorInfo);
  reinterpret_cast<void (*)()>(Fns->at("gradc_shutdown"))();
  for (size_t I = 0; I < Fn.Results.size(); ++I) {
    Tensor T(Fn.type(Fn.Results[I].Value));
    runtime::bytesToDoubles(T.Type.Elt, ResMem[I].at(0), T.size(), T.Data.data());
    Out.Results.push_back(std::move(T));
  }
  for (auto &[Name, T0] : State) {
    Tensor T(T0.Type);
    runtime::bytesToDoubles(T.Type.Elt, StateMem.at(L.State.at(Name).Offset), T.size(),
                            T.Data.data());
    Out.State[Name] = std::move(T);
  }
}

/// \p T as the interp backend hands it out: converted to its dtype's bytes
/// (i32 rounded and saturated) and back.
Tensor asInterpBytes(Tensor T) {
  std::vector<uint8_t> Tmp(T.size() * 8);
  runtime::doublesToBytes(T.Type.Elt, T.Data.data(), T.size(), Tmp.data());
  runtime::bytesToDoubles(T.Type.Elt, Tmp.data(), T.size(), T.Data.data());
  return T;
}

/// Compiles the one-node function of \p C, runs it on random operands with
/// the JIT and the interpreter, and compares.
void checkCase(const Case &C, uint64_t Seed) {
  std::string What(mnemonic(C.O));
  Module M;
  M.Name = "case";
  M.Functions.push_back({"f", {}, {}, {}});
  Function &Fn = M.Functions.back();
  Builder B(Fn);
  // Float operands alternate between inputs (caller's buffers) and params
  // (State); i32 ones are inputs.
  auto IsParam = [&](size_t I) { return I % 2 && isFloat(C.Operands[I].Elt); };
  for (size_t I = 0; I < C.Operands.size(); ++I)
    M.Symbols.push_back({IsParam(I) ? SymbolKind::Param : SymbolKind::Input,
                         "p" + std::to_string(I), C.Operands[I], {"zeros", {}}, {}});
  std::vector<ValueId> Reads;
  for (const Symbol &S : M.Symbols)
    Reads.push_back(B.symbolRef(S, {}));
  AttrList Attrs;
  std::string Err;
  int ErrArg;
  ASSERT_TRUE(bindAttrs(What, getOpDef(C.O).Attrs, {}, C.Attrs, Attrs, Err, ErrArg)) << Err;
  BuildError BE;
  auto Out = B.create(C.O, Reads, Attrs, {}, BE);
  ASSERT_TRUE(Out) << What << ": " << BE.Message;
  What += " " + formatAttrs(Fn.node(*Out).Attrs) + " on";
  for (const TensorType &T : C.Operands)
    What += " " + formatType(T);
  Fn.Results.push_back({ResultKind::Output, "out", *Out});
  for (const std::string &Problem : verifyModule(M))
    ADD_FAILURE() << What << ": " << Problem;
  if (!verifyModule(M).empty())
    return;

  // Operands, shared by both sides.
  Random R(Seed);
  TensorMap In, State;
  for (size_t I = 0; I < C.Operands.size(); ++I) {
    Dom D = I < C.Domains.size() ? C.Domains[I] : Dom();
    Tensor T(C.Operands[I]);
    for (double &V : T.Data)
      V = draw(R, D, T.Type.Elt);
    (IsParam(I) ? State : In)[M.Symbols[I].Name] = T;
  }
  TensorMap StateCopy = State;
  RunResult Ref = interpret(M, Fn, In, StateCopy);

  JitRun Run;
  codegen::EmitOptions One;
  One.Threads = 1;
  runJit(M, Fn, In, State, {}, Run, One);
  if (::testing::Test::HasFatalFailure())
    return;
  // Any thread count, every splittable loop split: the same bits (when the
  // op has a loop to split; the code is the one-thread code otherwise).
  for (unsigned Threads : {2u, 3u, 4u}) {
    JitRun Par;
    codegen::EmitOptions Opts;
    Opts.Threads = Threads;
    Opts.MinParallelWork = 1;
    bool Split = false;
    runJit(M, Fn, In, State, {}, Par, Opts, &Split);
    if (::testing::Test::HasFatalFailure())
      return;
    std::string With = What + " with " + std::to_string(Threads) + " threads";
    EXPECT_EQ(Par.Rc, Run.Rc) << With;
    EXPECT_EQ(Par.ErrorInfo[0], Run.ErrorInfo[0]) << With;
    EXPECT_EQ(Par.ErrorInfo[1], Run.ErrorInfo[1]) << With;
    ASSERT_EQ(Par.Results.size(), Run.Results.size()) << With;
    for (size_t I = 0; I < Run.Results.size(); ++I)
      EXPECT_EQ(std::memcmp(Par.Results[I].Data.data(), Run.Results[I].Data.data(),
                            Run.Results[I].size() * sizeof(double)),
                0)
          << With << ": result " << I << " differs in some bit";
    if (!Split)
      break;
  }
  const TensorType &RT = Fn.type(*Out);
  if (!Ref.Ok) {
    EXPECT_EQ(Run.Rc, codegen::kErrIdOutOfRange) << What << ": the interpreter says " << Ref.Error;
    EXPECT_EQ(Run.ErrorInfo[0], static_cast<int64_t>(*Out)) << What;
    return;
  }
  ASSERT_EQ(Run.Rc, 0) << What << ": runtime error at node " << Run.ErrorInfo[0]
                       << ", element " << Run.ErrorInfo[1];
  const Tensor &Got = Run.Results[0];
  Tensor Want = asInterpBytes(Ref.Results[0]);
  int64_t Terms = C.Terms;
  if (!Terms)
    for (const TensorType &T : C.Operands)
      Terms = std::max(Terms, T.numElements() / std::max<int64_t>(RT.numElements(), 1));
  double Rtol = RT.Elt == DType::F64 ? 1e-12 : 1e-5 * std::sqrt(std::max<double>(Terms, 1));
  expectClose(Got, Want, Rtol, 1.0, What);
  // State (params) is untouched by a function without assigns.
  for (auto &[Name, T] : State)
    expectClose(Run.State.at(Name), T, 0, 1, What + ": operand " + Name);
}

/// Every op a function can contain: all but the sources, and batch_norm and
/// dropout, which lowering replaces before functions exist.
std::vector<Op> jitOps() {
  std::vector<Op> Ops;
#define GRADC_OP(Name, Mnemonic, Min, Max, Family, Flags)                      \
  if (OpFamily::Family != OpFamily::Source && Op::Name != Op::BatchNorm &&     \
      Op::Name != Op::Dropout)                                                 \
    Ops.push_back(Op::Name);
#include "ir/Ops.def"
  return Ops;
}

class OpJit : public ::testing::TestWithParam<Op> {};

TEST_P(OpJit, MatchesInterpreterInF64AndF32) {
  Op O = GetParam();
  int Count = 0;
  uint64_t Seed = 1;
  for (const Case &C : cases()) {
    ++Seed;
    if (C.O != O)
      continue;
    ++Count;
    {
      SCOPED_TRACE("f64");
      checkCase(C, Seed);
    }
    SCOPED_TRACE("f32");
    checkCase(toF32(C), Seed);
  }
  EXPECT_GT(Count, 0) << "no JIT case for '" << mnemonic(O)
                      << "': add one to cases() in JitTest.cpp";
}

INSTANTIATE_TEST_SUITE_P(AllOps, OpJit, ::testing::ValuesIn(jitOps()),
                         [](const ::testing::TestParamInfo<Op> &Info) {
                           return std::string(mnemonic(Info.param));
                         });

TEST(OpJit, IdsOutOfRangeAreRuntimeErrors) {
  checkCase({Op::Embedding, {i32({2, 3}), f64({5, 4})}, {}, {{-2, 7}, {}}}, 11);
  checkCase({Op::EmbeddingGrad, {i32({4}), f64({4, 2})}, {{"num", I(3)}}, {{0, 6}, {}}}, 12);
  checkCase({Op::SoftmaxCrossEntropy, {f64({4, 3}), i32({4})}, {}, {{}, {-3, 3}}}, 13);
}

/// The forms of the emitter's function body: a constant too large to be a
/// global (filled in scratch) and a scalar one, an f64 scalar arg read in
/// place and an f32 arg converted into scratch, params swapped by two
/// assigns (each must see the other's old value), a state counter, and
/// results that read params the function assigns (they see the old values).
TEST(OpJit, ArgsConstantsAndAssignsFollowTheInterpreter) {
  Module M;
  M.Name = "forms";
  auto Sym = [&](SymbolKind K, std::string N, TensorType T) {
    M.Symbols.push_back({K, std::move(N), std::move(T), {"zeros", {}}, {}});
  };
  Sym(SymbolKind::Input, "x", f32({40, 40}));
  Sym(SymbolKind::Param, "a", f32({40, 40}));
  Sym(SymbolKind::Param, "b", f32({40, 40}));
  Sym(SymbolKind::State, "n", f64({}));
  Sym(SymbolKind::Arg, "lr", f64({}));
  Sym(SymbolKind::Arg, "k", f32({}));
  M.Functions.push_back({"f", {}, {}, {}});
  Function &F = M.Functions.back();
  Builder B(F);
  std::vector<ValueId> S;
  for (const Symbol &Sy : M.Symbols)
    S.push_back(B.symbolRef(Sy, {}));
  F.Nodes.push_back({Op::Constant, f32({40, 40}), {}, {{"value", AttrValue(0.5)}}, "", "", {}});
  ValueId Big = static_cast<ValueId>(F.Nodes.size() - 1);
  ValueId R = B.make(Op::Add, {B.make(Op::Mul, {S[0], Big}), S[5]});
  R = B.make(Op::Add, {R, B.constant(3.0, DType::F32, {})});
  B.assign(M.Symbols[1], S[2], {});
  B.assign(M.Symbols[2], S[1], {});
  B.assign(M.Symbols[3], B.make(Op::Add, {S[3], S[4]}), {});
  F.Results = {{ResultKind::Output, "r", R}, {ResultKind::Output, "a", S[1]},
               {ResultKind::Output, "lr", S[4]}};
  for (const std::string &Problem : verifyModule(M))
    ADD_FAILURE() << Problem;

  Random Rng(3);
  TensorMap In, State;
  auto Fill = [&](TensorMap &To, const Symbol &Sy) {
    Tensor T(Sy.Type);
    for (double &V : T.Data)
      V = draw(Rng, {}, Sy.Type.Elt);
    To[Sy.Name] = T;
  };
  Fill(In, M.Symbols[0]);
  for (size_t I : {1, 2, 3})
    Fill(State, M.Symbols[I]);
  In["lr"] = Tensor(f64({}));
  In["lr"].Data[0] = 0.25;
  In["k"] = Tensor(f32({}));
  In["k"].Data[0] = 1.5;
  TensorMap RefState = State;
  RunResult Ref = interpret(M, F, In, RefState);
  ASSERT_TRUE(Ref.Ok) << Ref.Error;
  JitRun Run;
  runJit(M, F, In, State, {0.25, 1.5}, Run);
  ASSERT_EQ(Run.Rc, 0);
  for (size_t I = 0; I < Ref.Results.size(); ++I)
    expectClose(Run.Results[I], Ref.Results[I], 0, 1, "result " + F.Results[I].Name);
  for (auto &[Name, T] : RefState)
    expectClose(Run.State.at(Name), T, 0, 1, "state " + Name);
}

/// In-place updates (codegen/MemoryPlan.cpp): `assign @a %v` with %v an
/// elementwise function of the old `a` is computed straight into a's State
/// slot only when that is safe. Each variant adds to `v = a - x * 0.5` (or
/// the chain `v = a * 0.9 + x * 0.5`) something that may forbid it; the JIT
/// must agree with the interpreter on results and state either way (and
/// leave the state alone on an error).
struct InPlaceCase {
  const char *Name;
  bool InPlace; // what the plan must decide
};

void PrintTo(const InPlaceCase &C, std::ostream *OS) { *OS << C.Name; }

class InPlaceJit : public ::testing::TestWithParam<InPlaceCase> {};

TEST_P(InPlaceJit, FollowsTheInterpreter) {
  const std::string Variant = GetParam().Name;
  Module M;
  M.Name = "inplace";
  auto Sym = [&](SymbolKind K, std::string N, TensorType T) {
    M.Symbols.push_back({K, std::move(N), std::move(T), {"zeros", {}}, {}});
  };
  Sym(SymbolKind::Input, "x", f64({40, 40}));
  Sym(SymbolKind::Input, "ids", i32({4}));
  Sym(SymbolKind::Param, "a", f64({40, 40}));
  Sym(SymbolKind::Param, "b", f64({40, 40}));
  Sym(SymbolKind::Param, "e", f64({5, 3}));
  M.Functions.push_back({"f", {}, {}, {}});
  Function &F = M.Functions.back();
  Builder B(F);
  ValueId X = B.symbolRef(M.Symbols[0], {}), Ids = B.symbolRef(M.Symbols[1], {});
  ValueId A = B.symbolRef(M.Symbols[2], {}), E = B.symbolRef(M.Symbols[4], {});
  ValueId G = B.make(Op::Mul, {X, B.constant(0.5, DType::F64, {})});
  if (Variant == "reads_before")
    G = B.make(Op::Mul, {G, A}); // a read before the update: harmless
  ValueId Other = B.make(Op::Add, {X, X}); // a second value for a
  // A chain: the first link computes into a's slot, the second reads it.
  ValueId Link = B.make(Op::Mul, {A, B.constant(0.9, DType::F64, {})});
  ValueId V = Variant == "matmul"           ? B.make(Op::Matmul, {A, G})
              : Variant.starts_with("chain") ? B.make(Op::Add, {Link, G})
                                             : B.make(Op::Sub, {A, G});
  ValueId Out = V;
  if (Variant == "chain_link_read_after")
    Out = B.make(Op::Mul, {Link, B.constant(2.0, DType::F64, {})});
  if (Variant == "read_after")
    Out = B.make(Op::Mul, {A, B.constant(2.0, DType::F64, {})});
  if (Variant == "copied_after")
    B.assign(M.Symbols[3], A, {});
  if (Variant == "may_fail_after" || Variant == "fails_after")
    Out = B.make(Op::Sum, {B.make(Op::Embedding, {Ids, E})});
  B.assign(M.Symbols[2], V, {});
  if (Variant == "assigned_twice")
    B.assign(M.Symbols[2], Other, {});
  F.Results = {{ResultKind::Output, "out", Out}};
  if (Variant == "result_is_old")
    F.Results.push_back({ResultKind::Output, "old", A});
  for (const std::string &Problem : verifyModule(M))
    ADD_FAILURE() << Problem;
  codegen::Layout L = codegen::computeLayout(M);
  EXPECT_EQ(L.Functions.at("f").InPlace[V] == "a", GetParam().InPlace) << Variant;
  if (Variant == "chain") {
    EXPECT_EQ(L.Functions.at("f").InPlace[Link], "a");
  }

  Random Rng(9);
  TensorMap In, State;
  for (const Symbol &Sy : M.Symbols) {
    Tensor T(Sy.Type);
    for (double &D : T.Data)
      D = Sy.Name == "ids" ? std::floor(Rng.uniform(0, 5)) : draw(Rng, {}, Sy.Type.Elt);
    (Sy.Kind == SymbolKind::Input ? In : State)[Sy.Name] = T;
  }
  if (Variant == "fails_after")
    In["ids"].Data[2] = 7;
  TensorMap RefState = State;
  RunResult Ref = interpret(M, F, In, RefState);
  // One thread, then 3 with every splittable loop split (an in-place
  // kernel's parallel body gets the shared pointer once).
  for (unsigned Threads : {1u, 3u}) {
    JitRun Run;
    runJit(M, F, In, State, {}, Run, {Threads, 1});
    std::string With = Variant + " with " + std::to_string(Threads) + " threads: ";
    if (Variant == "fails_after") {
      ASSERT_FALSE(Ref.Ok);
      EXPECT_EQ(Run.Rc, codegen::kErrIdOutOfRange);
      for (auto &[Name, T] : State)
        expectClose(Run.State.at(Name), T, 0, 1, With + "state after an error: " + Name);
      continue;
    }
    ASSERT_TRUE(Ref.Ok) << Ref.Error;
    ASSERT_EQ(Run.Rc, 0);
    for (size_t I = 0; I < Ref.Results.size(); ++I)
      expectClose(Run.Results[I], Ref.Results[I], 1e-12, 1, With + "result " + F.Results[I].Name);
    for (auto &[Name, T] : RefState)
      expectClose(Run.State.at(Name), T, 1e-12, 1, With + "state " + Name);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Variants, InPlaceJit,
    ::testing::Values(InPlaceCase{"safe", true}, InPlaceCase{"reads_before", true},
                      InPlaceCase{"read_after", false}, InPlaceCase{"copied_after", false},
                      InPlaceCase{"result_is_old", false},
                      InPlaceCase{"assigned_twice", false},
                      InPlaceCase{"may_fail_after", false},
                      InPlaceCase{"fails_after", false}, InPlaceCase{"matmul", false},
                      InPlaceCase{"chain", true}, InPlaceCase{"chain_link_read_after", false}),
    [](const ::testing::TestParamInfo<InPlaceCase> &Info) { return std::string(Info.param.Name); });

/// In-place updates through fusion groups (MemoryPlan.cpp, rule (a)): a
/// `loop` group that reads `param @a` and computes a's new value writes it
/// straight into a's slot, the kernel reading each element before writing
/// it at the same index (the slot is passed once, so no noalias claim is
/// false); a reduce group, which reads other elements of the slot, or a
/// later reader of the old value, keeps the copy. Groups are made by hand
/// so that each variant has exactly the kernels it names. Each variant runs
/// with one thread and with 3 (every splittable loop split): the JIT must
/// match the interpreter to the bit in both, in place or not.
struct FusedCase {
  const char *Name;
  bool InPlace;  // the plan computes @a's new value into its slot
  bool InPlaceB; // the same for @b
};

void PrintTo(const FusedCase &C, std::ostream *OS) { *OS << C.Name; }

class FusedInPlaceJit : public ::testing::TestWithParam<FusedCase> {};

TEST_P(FusedInPlaceJit, FollowsTheInterpreter) {
  const std::string Variant = GetParam().Name;
  bool Reduce = Variant == "reduce";
  Module M;
  M.Name = "fused_inplace";
  auto Sym = [&](SymbolKind K, std::string N, TensorType T) {
    M.Symbols.push_back({K, std::move(N), std::move(T), {"zeros", {}}, {}});
  };
  Sym(SymbolKind::Input, "x", f64({40, 40}));
  Sym(SymbolKind::Param, "a", Reduce ? f64({40}) : f64({40, 40}));
  Sym(SymbolKind::Param, "b", f64({40, 40}));
  M.Functions.push_back({"f", {}, {}, {}});
  Function &F = M.Functions.back();
  Builder B(F);
  ValueId X = B.symbolRef(M.Symbols[0], {}), A = B.symbolRef(M.Symbols[1], {});
  ValueId Bp = B.symbolRef(M.Symbols[2], {});
  ValueId Half = B.constant(0.5, DType::F64, {}), Two = B.constant(2.0, DType::F64, {});
  ValueId Decay = B.constant(0.9, DType::F64, {});
  auto Group = [&](FusionKind K, ValueId Begin) {
    F.Groups.push_back({K, Begin, static_cast<ValueId>(F.Nodes.size())});
  };
  ValueId V = 0, Out = 0, Link = 0, W = 0;
  if (Reduce) {
    // new a[i] = sum_j x[i, j] * a[j]: every element of a is read for every i.
    ValueId P = B.make(Op::Mul, {X, A});
    V = B.make(Op::Sum, {P}, {{"axes", L({1})}});
    Group(FusionKind::Reduce, P);
    Out = V;
  } else if (Variant == "chain_of_groups") {
    // Two loops: the first writes the link into a's slot, the second reads
    // it there and writes a's new value over it.
    Link = B.make(Op::Mul, {A, Decay});
    ValueId L2 = B.make(Op::Add, {Link, X});
    Group(FusionKind::Loop, Link);
    ValueId G = B.make(Op::Mul, {X, Half});
    V = B.make(Op::Sub, {L2, G});
    Group(FusionKind::Loop, G);
    Link = L2;
    Out = G;
  } else {
    ValueId G = B.make(Op::Mul, {X, Half});
    V = B.make(Op::Sub, {A, G});
    Out = G;
    if (Variant == "old_read_in_group") // after the update, in the same loop
      Out = B.make(Op::Mul, {A, Two});
    if (Variant == "two_params") // one loop updates a and b
      W = B.make(Op::Add, {Bp, B.make(Op::Mul, {G, Bp})});
    Group(FusionKind::Loop, G);
    if (Variant == "old_read_after") // its own kernel, after the loop
      Out = B.make(Op::Mul, {A, Two});
  }
  B.assign(M.Symbols[1], V, {});
  if (W)
    B.assign(M.Symbols[2], W, {});
  F.Results = {{ResultKind::Output, "out", Out}};
  for (const std::string &Problem : verifyModule(M))
    ADD_FAILURE() << Problem;
  codegen::Layout L = codegen::computeLayout(M);
  const codegen::FunctionLayout &FL = L.Functions.at("f");
  EXPECT_EQ(FL.InPlace[V] == "a", GetParam().InPlace) << Variant;
  if (Link) {
    EXPECT_EQ(FL.InPlace[Link], "a");
  }
  if (W) {
    EXPECT_EQ(FL.InPlace[W] == "b", GetParam().InPlaceB) << Variant;
  }

  Random Rng(11);
  TensorMap In, State;
  for (const Symbol &Sy : M.Symbols) {
    Tensor T(Sy.Type);
    for (double &D : T.Data)
      D = draw(Rng, {}, Sy.Type.Elt);
    (Sy.Kind == SymbolKind::Input ? In : State)[Sy.Name] = T;
  }
  TensorMap RefState = State;
  RunResult Ref = interpret(M, F, In, RefState);
  ASSERT_TRUE(Ref.Ok) << Ref.Error;
  for (unsigned Threads : {1u, 3u}) {
    JitRun Run;
    runJit(M, F, In, State, {}, Run, {Threads, 1});
    ASSERT_EQ(Run.Rc, 0);
    std::string With = Variant + " with " + std::to_string(Threads) + " threads: ";
    // Elementwise code is exact; the reduction may add in another order.
    double Tol = Reduce ? 1e-12 : 0;
    for (size_t I = 0; I < Ref.Results.size(); ++I)
      expectClose(Run.Results[I], Ref.Results[I], Tol, 1, With + "result " + F.Results[I].Name);
    for (auto &[Name, T] : RefState)
      expectClose(Run.State.at(Name), T, Tol, 1, With + "state " + Name);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Variants, FusedInPlaceJit,
    ::testing::Values(FusedCase{"loop", true, false}, FusedCase{"old_read_in_group", true, false},
                      FusedCase{"old_read_after", false, false},
                      FusedCase{"two_params", true, true},
                      FusedCase{"chain_of_groups", true, false},
                      FusedCase{"reduce", false, false}),
    [](const ::testing::TestParamInfo<FusedCase> &Info) { return std::string(Info.param.Name); });

} // namespace
