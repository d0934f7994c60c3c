//===- frontend/IRGenExpr.cpp - Expressions -------------------------------===//
//
// The expression half of IRGen: an explicit-stack post-order evaluator that
// folds numbers, gives a number the dtype of the tensor it meets, binds call
// arguments to operands and attributes, lowers 1-D matmul operands the NumPy
// way and reports shape errors from the op table where they belong.
//
//===----------------------------------------------------------------------===//
#include "frontend/IRGen.h"

#include <cassert>
#include <cmath>

namespace gradc::frontend {

using namespace ir;

static AttrList defaultAttrs(Op O) {
  AttrList Out;
  std::string Err;
  int ErrArg;
  [[maybe_unused]] bool Ok =
      bindAttrs(mnemonic(O), getOpDef(O).Attrs, {}, {}, Out, Err, ErrArg);
  assert(Ok && "op has required attributes");
  return Out;
}

static Op binaryOpcode(BinaryOp Op) {
  switch (Op) {
  case BinaryOp::Add:
    return Op::Add;
  case BinaryOp::Sub:
    return Op::Sub;
  case BinaryOp::Mul:
    return Op::Mul;
  case BinaryOp::Div:
    return Op::Div;
  case BinaryOp::Matmul:
    return Op::Matmul;
  }
  return Op::Add;
}

Loc IRGen::beginOf(const Value &V) const { return AST.expr(V.E).Begin; }
Loc IRGen::locOf(const Value &V) const { return AST.expr(V.E).L; }

std::string IRGen::describeValue(const Value &V) const {
  switch (V.K) {
  case Value::Number:
    return formatNumber(V.Num);
  case Value::Tensor:
    return "a tensor " + formatType(F->type(V.Node));
  case Value::List:
    return "a list";
  case Value::Bool:
    return V.B ? "'true'" : "'false'";
  case Value::DType:
    return fmt::format("the dtype '{}'", dtypeName(V.DT));
  }
  return "?";
}

std::optional<Value> IRGen::eval(ExprId Root, EvalMode Mode) {
  // Post-order with explicit stacks: a chain of binary operators can be as
  // long as the file.
  std::vector<std::pair<ExprId, bool>> Work{{Root, false}};
  std::vector<Value> Vals;
  while (!Work.empty()) {
    auto [Id, Visited] = Work.back();
    Work.pop_back();
    const Expr &E = AST.expr(Id);
    if (!Visited) {
      if (!preVisit(Id, Mode))
        return std::nullopt;
      Work.push_back({Id, true});
      for (size_t I = E.Kids.size(); I-- > 0;)
        Work.push_back({E.Kids[I], false});
      continue;
    }
    size_t N = E.Kids.size();
    std::vector<Value> Kids(std::make_move_iterator(Vals.end() - N),
                            std::make_move_iterator(Vals.end()));
    Vals.erase(Vals.end() - N, Vals.end());
    std::optional<Value> V = evalNode(Id, Mode, Kids);
    if (!V)
      return std::nullopt;
    V->E = Id;
    Vals.push_back(std::move(*V));
  }
  return std::move(Vals.back());
}

bool IRGen::preVisit(ExprId Id, EvalMode Mode) {
  const Expr &E = AST.expr(Id);
  switch (E.Kind) {
  case ExprKind::Call:
    if (Mode != EvalMode::Tensor) {
      error(E.L, "calls are not allowed here: expected a number or a constant");
      return false;
    }
    if (std::optional<Op> O = lookupOp(E.Text);
        !O || getOpInfo(*O).has(OF_Internal)) {
      error(E.L, "unknown op '{}'", E.Text);
      return false;
    }
    return true;
  case ExprKind::List:
  case ExprKind::Bool:
  case ExprKind::DType:
    if (Mode == EvalMode::Const) {
      error(E.L, "expected a number or a constant, got {}",
            E.Kind == ExprKind::List ? std::string("a list")
                                     : "'" + std::string(E.Text) + "'");
      return false;
    }
    return true;
  case ExprKind::Binary:
    if (E.Op == BinaryOp::Matmul && Mode != EvalMode::Tensor) {
      error(E.L, "'@' is not allowed here: expected a number or a constant");
      return false;
    }
    return true;
  default:
    return true;
  }
}

std::optional<Value> IRGen::evalNode(ExprId Id, EvalMode Mode,
                                     std::vector<Value> &Kids) {
  const Expr &E = AST.expr(Id);
  Value V;
  switch (E.Kind) {
  case ExprKind::Number:
    V.K = Value::Number;
    V.Num = E.Num;
    return V;
  case ExprKind::Name:
    return evalName(E, Mode);
  case ExprKind::Bool:
    V.K = Value::Bool;
    V.B = E.BoolValue;
    return V;
  case ExprKind::DType:
    V.K = Value::DType;
    V.DT = E.DT;
    return V;
  case ExprKind::Neg:
    return evalNeg(E, Kids[0]);
  case ExprKind::Binary:
    return evalBinary(E, Kids[0], Kids[1]);
  case ExprKind::List:
    V.K = Value::List;
    V.Elts = std::move(Kids);
    return V;
  case ExprKind::Call:
    return evalCall(E, Kids);
  }
  return std::nullopt;
}

std::optional<Value> IRGen::evalName(const Expr &E, EvalMode Mode) {
  const Binding *Bd = resolve(E.Text, E.L);
  if (!Bd)
    return std::nullopt;
  Value V;
  if (Bd->K == Binding::Const) {
    V.K = Value::Number;
    V.Num = Bd->Num;
    return V;
  }
  if (Mode != EvalMode::Tensor) {
    std::string_view What = "a tensor";
    if (Bd->K == Binding::Symbol)
      What = M->Symbols[Bd->SymbolIndex].Kind == SymbolKind::Param ? "a param"
                                                                   : "an input";
    error(E.L, "'{}' is {}, not a constant", E.Text, What);
    return std::nullopt;
  }
  V.K = Value::Tensor;
  V.Node =
      Bd->K == Binding::Symbol ? symbolNode(Bindings.at(E.Text)) : *Bd->Node;
  return V;
}

std::optional<Value> IRGen::evalNeg(const Expr &E, Value &X) {
  if (X.K == Value::Number) {
    Value V;
    if (!X.Num.IsInt) {
      V.Num = NumberValue::ofFloat(-X.Num.Float);
    } else if (X.Num.Int == INT64_MIN) {
      error(E.L, "integer overflow in a constant expression");
      return std::nullopt;
    } else {
      V.Num = NumberValue::ofInt(-X.Num.Int);
    }
    return V;
  }
  if (X.K != Value::Tensor) {
    error(beginOf(X), "cannot negate {}", describeValue(X));
    return std::nullopt;
  }
  std::optional<ValueId> N =
      createOp(Op::Neg, {X.Node}, defaultAttrs(Op::Neg), E.L);
  if (!N)
    return std::nullopt;
  Value V;
  V.K = Value::Tensor;
  V.Node = *N;
  return V;
}

std::optional<NumberValue> IRGen::fold(const Expr &E, NumberValue A,
                                       NumberValue B) {
  if (A.IsInt && B.IsInt) {
    int64_t R = 0;
    bool Overflow = false;
    switch (E.Op) {
    case BinaryOp::Add:
      Overflow = __builtin_add_overflow(A.Int, B.Int, &R);
      break;
    case BinaryOp::Sub:
      Overflow = __builtin_sub_overflow(A.Int, B.Int, &R);
      break;
    case BinaryOp::Mul:
      Overflow = __builtin_mul_overflow(A.Int, B.Int, &R);
      break;
    case BinaryOp::Div:
      if (B.Int == 0) {
        error(E.L, "division by zero in a constant expression");
        return std::nullopt;
      }
      if (A.Int == INT64_MIN && B.Int == -1) {
        Overflow = true;
        break;
      }
      if (A.Int % B.Int != 0)
        return NumberValue::ofFloat(static_cast<double>(A.Int) /
                                    static_cast<double>(B.Int));
      R = A.Int / B.Int;
      break;
    case BinaryOp::Matmul:
      break;
    }
    if (Overflow) {
      error(E.L, "integer overflow in a constant expression");
      return std::nullopt;
    }
    return NumberValue::ofInt(R);
  }
  double X = A.asDouble(), Y = B.asDouble(), R = 0;
  switch (E.Op) {
  case BinaryOp::Add:
    R = X + Y;
    break;
  case BinaryOp::Sub:
    R = X - Y;
    break;
  case BinaryOp::Mul:
    R = X * Y;
    break;
  case BinaryOp::Div:
    if (Y == 0) {
      error(E.L, "division by zero in a constant expression");
      return std::nullopt;
    }
    R = X / Y;
    break;
  case BinaryOp::Matmul:
    break;
  }
  if (!std::isfinite(R)) {
    error(E.L, "floating-point overflow in a constant expression");
    return std::nullopt;
  }
  return NumberValue::ofFloat(R);
}

std::optional<Value> IRGen::evalBinary(const Expr &E, Value &A, Value &Bv) {
  for (const Value *X : {&A, &Bv})
    if (X->K != Value::Number && X->K != Value::Tensor) {
      error(beginOf(*X), "operand of '{}' must be a tensor or a number, got {}",
            binaryOpSpelling(E.Op), describeValue(*X));
      return std::nullopt;
    }
  Value V;
  if (A.K == Value::Number && Bv.K == Value::Number) {
    if (E.Op == BinaryOp::Matmul) {
      error(E.L, "'@' needs tensor operands, got two numbers");
      return std::nullopt;
    }
    std::optional<NumberValue> R = fold(E, A.Num, Bv.Num);
    if (!R)
      return std::nullopt;
    V.Num = *R;
    return V;
  }
  DType DT = F->type(A.K == Value::Tensor ? A.Node : Bv.Node).Elt;
  std::optional<ValueId> TA = toTensor(A, DT);
  if (!TA)
    return std::nullopt;
  std::optional<ValueId> TB = toTensor(Bv, DT);
  if (!TB)
    return std::nullopt;
  Op O = binaryOpcode(E.Op);
  std::optional<ValueId> N =
      O == Op::Matmul ? buildMatmul(*TA, *TB, E.L, {})
                      : createOp(O, {*TA, *TB}, defaultAttrs(O), E.L);
  if (!N)
    return std::nullopt;
  V.K = Value::Tensor;
  V.Node = *N;
  return V;
}

std::optional<ValueId> IRGen::toTensor(const Value &V, DType DT) {
  if (V.K == Value::Tensor)
    return V.Node;
  if (V.K != Value::Number) {
    error(beginOf(V), "expected a tensor, got {}", describeValue(V));
    return std::nullopt;
  }
  if (DT == DType::I32 && !V.Num.IsInt) {
    error(locOf(V), "{} is not an integer, but it meets an i32 tensor",
          formatNumber(V.Num));
    return std::nullopt;
  }
  return B->constant(V.Num.asDouble(), DT, locOf(V));
}

std::optional<AttrValue> IRGen::toAttr(const Value &V) {
  switch (V.K) {
  case Value::Number:
    if (V.Num.IsInt)
      return AttrValue(V.Num.Int);
    return AttrValue(V.Num.Float);
  case Value::Bool:
    return AttrValue(V.B);
  case Value::DType:
    return AttrValue(V.DT);
  case Value::List: {
    IntList L;
    for (const Value &X : V.Elts) {
      if (X.K != Value::Number || !X.Num.IsInt) {
        error(beginOf(X), "list elements must be integers, got {}",
              describeValue(X));
        return std::nullopt;
      }
      L.push_back(X.Num.Int);
    }
    return AttrValue(std::move(L));
  }
  case Value::Tensor:
    break;
  }
  error(beginOf(V), "expected a constant, got {}", describeValue(V));
  return std::nullopt;
}

std::optional<ValueId> IRGen::createOp(Op O, std::vector<ValueId> Ops,
                                       AttrList Attrs, Loc L,
                                       std::span<const Loc> OperandLocs) {
  BuildError Err;
  std::optional<ValueId> V =
      B->create(O, std::move(Ops), std::move(Attrs), L, Err);
  if (!V) {
    Loc At = L;
    if (Err.Operand >= 0 &&
        static_cast<size_t>(Err.Operand) < OperandLocs.size())
      At = OperandLocs[Err.Operand];
    error(At, "{}", Err.Message);
  }
  return V;
}

std::optional<ValueId> IRGen::buildReshape(ValueId V, Shape S, Loc L) {
  AttrList Attrs;
  std::string Err;
  int ErrArg;
  AttrValue Dims = IntList(S.begin(), S.end());
  if (!bindAttrs(mnemonic(Op::Reshape), getOpDef(Op::Reshape).Attrs,
                 std::span<const AttrValue>(&Dims, 1), {}, Attrs, Err,
                 ErrArg)) {
    error(L, "{}", Err);
    return std::nullopt;
  }
  return createOp(Op::Reshape, {V}, std::move(Attrs), L);
}

std::optional<ValueId> IRGen::buildMatmul(ValueId A, ValueId Bv, Loc L,
                                          std::span<const Loc> OperandLocs) {
  // NumPy: a 1-D left operand [K] is [1, K], a 1-D right operand [K] is
  // [K, 1], and the added axis is dropped from the result.
  TensorType TA = F->type(A), TB = F->type(Bv);
  bool LeftVec = TA.rank() == 1, RightVec = TB.rank() == 1;
  // Check the inner dimension here so that the message shows the vector as
  // written, not as reshaped.
  if ((LeftVec || RightVec) && TA.rank() >= 1 && TB.rank() >= 1 &&
      (LeftVec || TA.rank() >= 2) && (RightVec || TB.rank() >= 2)) {
    int64_t KA = TA.Dims.back();
    int64_t KB = RightVec ? TB.Dims[0] : TB.Dims[TB.Dims.size() - 2];
    if (KA != KB) {
      error(L, "matmul inner dimensions differ: {} @ {}", formatType(TA),
            formatType(TB));
      return std::nullopt;
    }
  }
  std::optional<ValueId> X = A, Y = Bv;
  if (LeftVec && !(X = buildReshape(A, {1, TA.Dims[0]}, L)))
    return std::nullopt;
  if (RightVec && !(Y = buildReshape(Bv, {TB.Dims[0], 1}, L)))
    return std::nullopt;
  std::optional<ValueId> R =
      createOp(Op::Matmul, {*X, *Y}, defaultAttrs(Op::Matmul), L, OperandLocs);
  if (!R || (!LeftVec && !RightVec))
    return R;
  Shape S = F->type(*R).Dims;
  if (LeftVec && RightVec)
    S.resize(S.size() - 2);
  else if (LeftVec)
    S.erase(S.end() - 2);
  else
    S.pop_back();
  return buildReshape(*R, std::move(S), L);
}

std::optional<Value> IRGen::evalCall(const Expr &E, std::vector<Value> &Args) {
  Op O = *lookupOp(E.Text);
  const OpInfo &Info = getOpInfo(O);
  const OpDef &Def = getOpDef(O);
  std::string Name = fmt::format("'{}'", E.Text);

  std::vector<size_t> Pos, Kw;
  for (size_t I = 0; I < Args.size(); ++I)
    (E.Keywords[I].empty() ? Pos : Kw).push_back(I);

  auto Arity = [&](size_t Got, Loc At) {
    int Min = Info.MinOperands, Max = Info.MaxOperands;
    std::string Expect = Max == Min ? fmt::format("{}", Min)
                         : Max < 0  ? fmt::format("at least {}", Min)
                                    : fmt::format("{} to {}", Min, Max);
    error(At, "{} expects {} tensor argument{}, got {}", Name, Expect,
          Expect == "1" ? "" : "s", Got);
    return std::nullopt;
  };

  // 1. Tensor operands.
  std::vector<const Value *> Operands;
  std::vector<Loc> OperandLocs;
  size_t NextPos = 0;
  if (O == Op::Concat) {
    if (Pos.empty() || Args[Pos[0]].K != Value::List) {
      error(Pos.empty() ? E.L : beginOf(Args[Pos[0]]),
            "'concat' takes its tensors as a list: concat([a, b], axis = 0)");
      return std::nullopt;
    }
    for (const Value &X : Args[Pos[0]].Elts)
      Operands.push_back(&X);
    NextPos = 1;
    if (Operands.empty())
      return Arity(0, beginOf(Args[Pos[0]]));
  } else {
    size_t Min = static_cast<size_t>(Info.MinOperands);
    if (Pos.size() < Min)
      return Arity(Pos.size(), E.L);
    for (; NextPos < Min; ++NextPos)
      Operands.push_back(&Args[Pos[NextPos]]);
    while (NextPos < Pos.size() &&
           (Info.MaxOperands < 0 ||
            Operands.size() < static_cast<size_t>(Info.MaxOperands)) &&
           Args[Pos[NextPos]].K == Value::Tensor)
      Operands.push_back(&Args[Pos[NextPos++]]);
  }
  for (size_t I = 0; I < Operands.size(); ++I) {
    const Value &X = *Operands[I];
    if (X.K != Value::Tensor && X.K != Value::Number) {
      error(beginOf(X), "argument {} of {} must be a tensor, got {}", I + 1,
            Name, describeValue(X));
      return std::nullopt;
    }
    OperandLocs.push_back(beginOf(X));
  }

  // 2. Attributes: the remaining positional arguments, then keywords.
  std::vector<AttrValue> PosAttrs;
  std::vector<Loc> ArgLocs;
  for (size_t J = NextPos; J < Pos.size(); ++J) {
    const Value &X = Args[Pos[J]];
    if (X.K == Value::Tensor || Def.Attrs.empty()) {
      size_t Tensors = Operands.size();
      for (size_t K = NextPos; K < Pos.size(); ++K)
        Tensors += Args[Pos[K]].K == Value::Tensor || Def.Attrs.empty();
      return Arity(Tensors, beginOf(X));
    }
    std::optional<AttrValue> A = toAttr(X);
    if (!A)
      return std::nullopt;
    PosAttrs.push_back(std::move(*A));
    ArgLocs.push_back(beginOf(X));
  }
  std::vector<NamedAttrValue> KwAttrs;
  for (size_t I : Kw) {
    if (Args[I].K == Value::Tensor) {
      error(E.KeywordLocs[I], "'{}' of {} must be a constant, not a tensor",
            E.Keywords[I], Name);
      return std::nullopt;
    }
    std::optional<AttrValue> A = toAttr(Args[I]);
    if (!A)
      return std::nullopt;
    KwAttrs.push_back({std::string(E.Keywords[I]), std::move(*A)});
    ArgLocs.push_back(E.KeywordLocs[I]);
  }
  AttrList Attrs;
  std::string Err;
  int ErrArg = -1;
  if (!bindAttrs(Name, Def.Attrs, PosAttrs, KwAttrs, Attrs, Err, ErrArg)) {
    error(ErrArg >= 0 && static_cast<size_t>(ErrArg) < ArgLocs.size()
              ? ArgLocs[ErrArg]
              : E.L,
          "{}", Err);
    return std::nullopt;
  }

  // 3. Numbers among the operands take the dtype of the first tensor.
  DType DT = DType::F32;
  for (const Value *X : Operands)
    if (X->K == Value::Tensor) {
      DT = F->type(X->Node).Elt;
      break;
    }
  std::vector<ValueId> Ids;
  for (const Value *X : Operands) {
    std::optional<ValueId> T = toTensor(*X, DT);
    if (!T)
      return std::nullopt;
    Ids.push_back(*T);
  }
  std::optional<ValueId> N =
      O == Op::Matmul
          ? buildMatmul(Ids[0], Ids[1], E.L, OperandLocs)
          : createOp(O, std::move(Ids), std::move(Attrs), E.L, OperandLocs);
  if (!N)
    return std::nullopt;
  Value V;
  V.K = Value::Tensor;
  V.Node = *N;
  return V;
}

std::optional<ValueId> IRGen::nameValue(const Value &V, std::string_view Name,
                                        size_t NodesBefore) {
  std::optional<ValueId> N;
  if (V.K == Value::Number) {
    N = B->constant(V.Num.asDouble(), DType::F32, locOf(V));
  } else if (V.K != Value::Tensor) {
    error(beginOf(V), "expected a tensor, got {}", describeValue(V));
    return std::nullopt;
  } else if (V.Node >= NodesBefore && F->node(V.Node).Name.empty()) {
    N = V.Node;
  } else {
    // `a = b`: a copy, so that every statement names a node of its own.
    N = createOp(Op::Identity, {V.Node}, defaultAttrs(Op::Identity), locOf(V));
    if (!N)
      return std::nullopt;
  }
  F->node(*N).Name = std::string(Name);
  return N;
}

} // namespace gradc::frontend
