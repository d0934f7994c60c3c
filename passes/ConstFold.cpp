//===- passes/ConstFold.cpp - Constant folding -------------------------------===//
//
// Algorithm: one forward sweep (passes/Rewriter.h). A node whose operands are
// all constants is evaluated with its op's Eval, the interpreter's one
// definition of what the op means (ir::evalNode, f64 arithmetic with the
// result rounded to f32 for f32 ops, as the interpreter does), and replaced
// by a constant when all of these hold:
//
//   - the op is pure: not a source, not OF_SideEffect, not OF_Random;
//   - every backend computes exactly the folded value, so folding never
//     changes a result (foldsExactly below). f64: every op (the JIT
//     reproduces the interpreter bit for bit in f64). f32: the JIT computes
//     elementwise ops in f32, and an f64 result rounded once to f32 equals
//     the f32 operation only for ops that are one correctly rounded IEEE
//     operation or none (add sub mul div sqrt square, and the exact ones:
//     neg abs sign relu maximum minimum comparisons select cast identity);
//     exp, tanh, sigmoid and the other compound ops are left alone in f32.
//     Movement ops are exact; reductions (but softmax) and losses are
//     computed in f64 and rounded once on every backend; f32 matmul and
//     conv (fused multiply-adds in f32) and the NN family are not folded;
//   - the result is a splat with a finite value: an IR constant is one
//     number and a type (`constant {value = 0.5} : f32[64, 10]`), so a
//     non-uniform result (a slice of a concat of two splats) cannot be one,
//     and a NaN or infinity is left to run time;
//   - the evaluation is cheap: the size cap. Elementwise ops are evaluated
//     on one element (every element of a splat computes the same value) and
//     movement ops of a splat give the splat (they move values without
//     arithmetic), whatever the shape; any other op is evaluated at its
//     real shape only when each operand and the result have at most
//     kMaxFoldElements (65536) elements. Because a folded constant is one
//     number, folding never makes the IR bigger, however large its type.
//
//===----------------------------------------------------------------------===//
#include "ir/Interpreter.h"
#include "passes/PassManager.h"
#include "passes/Rewriter.h"

#include <cmath>

namespace gradc::passes {
using namespace ir;

/// Most elements an operand or result may have for a non-elementwise op to
/// be evaluated at compile time.
constexpr int64_t kMaxFoldElements = int64_t(1) << 16;

/// Whether every backend computes op \p O with result dtype \p T exactly as
/// the interpreter does (see the header).
static bool foldsExactly(Op O, DType T) {
  const OpInfo &Info = getOpInfo(O);
  if (Info.Family == OpFamily::Source || Info.has(OF_SideEffect) ||
      Info.has(OF_Random) || !getOpDef(O).Eval)
    return false;
  if (T != DType::F32)
    return true;
  switch (Info.Family) {
  case OpFamily::Movement:
  case OpFamily::Loss:
    return true;
  case OpFamily::Reduce:
    return O != Op::Softmax;
  case OpFamily::Elementwise:
    switch (O) {
    case Op::Identity: case Op::Add: case Op::Sub: case Op::Mul: case Op::Div:
    case Op::Neg: case Op::Maximum: case Op::Minimum: case Op::Abs:
    case Op::Square: case Op::Sign: case Op::Relu: case Op::Sqrt:
    case Op::Cast: case Op::Gt: case Op::Ge: case Op::Eq: case Op::Select:
      return true;
    default:
      return false;
    }
  default:
    return false;
  }
}

/// Evaluates \p N on the splat constants \p Ins; the folded value, or
/// nullopt when it cannot be folded (see the header).
static std::optional<double> evaluate(const Node &N,
                                      const std::vector<const Node *> &Ins) {
  OpFamily Fam = getOpInfo(N.Opcode).Family;
  double First = getFloat(Ins[0]->Attrs, "value");
  if (Fam == OpFamily::Movement) {
    for (const Node *I : Ins)
      if (std::bit_cast<uint64_t>(getFloat(I->Attrs, "value")) !=
          std::bit_cast<uint64_t>(First))
        return std::nullopt; // a concat of different splats
    return First;
  }
  // Elementwise: one element of each splat gives the one element of the
  // result. Otherwise the real shapes, within the cap.
  bool OneElement = Fam == OpFamily::Elementwise;
  Node Eval = N;
  if (OneElement)
    Eval.Type.Dims.clear();
  else if (N.Type.numElements() > kMaxFoldElements)
    return std::nullopt;
  std::vector<Tensor> Values;
  Values.reserve(Ins.size());
  for (const Node *I : Ins) {
    TensorType T = I->Type;
    if (OneElement)
      T.Dims.clear();
    else if (T.numElements() > kMaxFoldElements)
      return std::nullopt;
    Tensor V(T);
    // As the interpreter materializes a constant: the value in the dtype.
    double D = getFloat(I->Attrs, "value");
    if (T.Elt == DType::F32)
      D = static_cast<float>(D);
    std::fill(V.Data.begin(), V.Data.end(), D);
    Values.push_back(std::move(V));
  }
  std::vector<const Tensor *> Ptrs;
  for (const Tensor &V : Values)
    Ptrs.push_back(&V);
  Tensor Out;
  std::string Err;
  if (!evalNode(Eval, Ptrs, Out, Err)) // a runtime error stays one
    return std::nullopt;
  if (Out.Data.empty())
    return std::nullopt;
  double R = Out.Data[0];
  for (double D : Out.Data)
    if (std::bit_cast<uint64_t>(D) != std::bit_cast<uint64_t>(R))
      return std::nullopt;
  if (!std::isfinite(R))
    return std::nullopt;
  return R;
}

static bool foldFunction(Function &F) {
  return rewriteFunction(F, [](Rewriter &R,
                               const Node &N) -> std::optional<ValueId> {
    if (N.Operands.empty() || !foldsExactly(N.Opcode, N.Type.Elt))
      return std::nullopt;
    std::vector<const Node *> Ins;
    for (ValueId O : N.Operands) {
      if (R.node(O).Opcode != Op::Constant)
        return std::nullopt;
      Ins.push_back(&R.node(O));
    }
    std::optional<double> V = evaluate(N, Ins);
    if (!V)
      return std::nullopt;
    return R.constant(*V, N.Type, N.L);
  });
}

bool runConstFold(Module &M, PassContext &) {
  bool Changed = false;
  for (Function &F : M.Functions)
    Changed |= foldFunction(F);
  return Changed;
}

} // namespace gradc::passes
