//===- passes/Optimizers.cpp - Clipping and optimizer updates in IR ----------===//
//
// Each update is written with ordinary IR ops, one param at a time, so that
// fusion later turns it into one pass over the param's memory. State slots
// are read with `param @optimizer/W/slot` and written back with `assign`.
// Hyperparameters are compile-time constants; the learning rate and the step
// count are f64 scalars of the step, cast to each param's dtype.
//
// The equations are PyTorch 1.13's (torch/optim/*.py, single-tensor forms):
//   sgd      g += wd*p; buf = mu*buf + g; g = nesterov ? g + mu*buf : buf;
//            p -= lr*g                                  (buf only if mu != 0)
//   adam     g += wd*p; m = b1*m + (1-b1)*g; v = b2*v + (1-b2)*g^2;
//            p -= lr/(1-b1^t) * m / (sqrt(v)/sqrt(1-b2^t) + eps)
//   adamw    p *= 1 - lr*wd; then adam without weight decay
//   rmsprop  s = a*s + (1-a)*g^2; d = g/(sqrt(s) + eps);
//            mu != 0 ? (buf = mu*buf + d; p -= lr*buf) : p -= lr*d
//   adagrad  s += g^2; p -= lr * g/(sqrt(s) + eps)
//
//===----------------------------------------------------------------------===//
#include "passes/Optimizers.h"

#include <cassert>
#include <cmath>

namespace gradc::passes {
using namespace ir;

void buildClipGradNorm(Builder &B, std::vector<ParamGrad> &Params,
                       double MaxNorm, Loc L) {
  if (Params.empty())
    return;
  // total = sqrt(sum over params of sum(g^2)), accumulated in f64.
  std::optional<ValueId> Total;
  for (const ParamGrad &P : Params) {
    ValueId SumSq = B.make(Op::Sum, {B.make(Op::Square, {P.Grad}, {}, L)}, {}, L);
    SumSq = B.castTo(SumSq, DType::F64, L);
    Total = Total ? B.make(Op::Add, {*Total, SumSq}, {}, L) : SumSq;
  }
  ValueId Norm = B.make(Op::Sqrt, {*Total}, {}, L);
  ValueId Coef = B.make(
      Op::Div,
      {B.constant(MaxNorm, DType::F64, L),
       B.make(Op::Add, {Norm, B.constant(1e-6, DType::F64, L)}, {}, L)},
      {}, L);
  Coef = B.make(Op::Minimum, {Coef, B.constant(1.0, DType::F64, L)}, {}, L);
  for (ParamGrad &P : Params)
    P.Grad = B.make(Op::Mul,
                    {P.Grad, B.castTo(Coef, B.function().type(P.Grad).Elt, L)},
                    {}, L);
}

namespace {

/// Builds one param's update; a helper per optimizer below.
class Update {
public:
  Update(Module &M, Builder &B, const Call &Opt, const ParamGrad &P,
         ValueId Lr64, ValueId T64, Loc L)
      : M(M), B(B), Opt(Opt), P(P), T64(T64), L(L),
        Ty(B.function().type(P.Value)), Lr(B.castTo(Lr64, Ty.Elt, L)) {}

  void run();

private:
  double arg(std::string_view N) const { return getFloat(Opt.Args, N); }
  ValueId c(double V) { return B.constant(V, Ty.Elt, L); }
  ValueId add(ValueId A, ValueId X) { return B.make(Op::Add, {A, X}, {}, L); }
  ValueId sub(ValueId A, ValueId X) { return B.make(Op::Sub, {A, X}, {}, L); }
  ValueId mul(ValueId A, ValueId X) { return B.make(Op::Mul, {A, X}, {}, L); }
  ValueId div(ValueId A, ValueId X) { return B.make(Op::Div, {A, X}, {}, L); }
  ValueId sqrt(ValueId A) { return B.make(Op::Sqrt, {A}, {}, L); }
  ValueId square(ValueId A) { return B.make(Op::Square, {A}, {}, L); }

  /// Reads slot \p Name of this param (adding the state symbol).
  std::pair<std::string, ValueId> slot(std::string_view Name) {
    std::string Sym = fmt::format("optimizer/{}/{}", P.Symbol, Name);
    if (!M.lookupSymbol(Sym))
      M.Symbols.push_back({SymbolKind::State, Sym, Ty, {"zeros", {}}, L});
    return {Sym, B.symbolRef(*M.lookupSymbol(Sym), L)};
  }
  void write(const std::string &Sym, ValueId V) {
    B.assign(*M.lookupSymbol(Sym), V, L);
  }
  /// 1 - Beta^t, computed in f64 and cast to the param's dtype.
  ValueId biasCorrection(double Beta) {
    ValueId Pow = B.make(Op::Pow, {B.constant(Beta, DType::F64, L), T64}, {}, L);
    return B.castTo(B.make(Op::Sub, {B.constant(1, DType::F64, L), Pow}, {}, L),
                    Ty.Elt, L);
  }
  ValueId withWeightDecay(ValueId G, double Wd) {
    return Wd == 0 ? G : add(G, mul(P.Value, c(Wd)));
  }

  void sgd();
  void adam(bool Decoupled);
  void rmsprop();
  void adagrad();

  Module &M;
  Builder &B;
  const Call &Opt;
  const ParamGrad &P;
  ValueId T64;
  Loc L;
  TensorType Ty;
  ValueId Lr;
};

void Update::run() {
  if (Opt.Name == "sgd")
    sgd();
  else if (Opt.Name == "adam")
    adam(false);
  else if (Opt.Name == "adamw")
    adam(true);
  else if (Opt.Name == "rmsprop")
    rmsprop();
  else if (Opt.Name == "adagrad")
    adagrad();
  else
    assert(false && "unknown optimizer");
}

void Update::sgd() {
  ValueId G = withWeightDecay(P.Grad, arg("weight_decay"));
  double Mu = arg("momentum");
  if (Mu != 0) {
    auto [Sym, Buf] = slot("momentum_buffer");
    ValueId NewBuf = add(mul(Buf, c(Mu)), G);
    write(Sym, NewBuf);
    G = getBool(Opt.Args, "nesterov") ? add(G, mul(NewBuf, c(Mu))) : NewBuf;
  }
  write(P.Symbol, sub(P.Value, mul(G, Lr)));
}

void Update::adam(bool Decoupled) {
  double B1 = arg("beta1"), B2 = arg("beta2"), Wd = arg("weight_decay");
  ValueId Param = P.Value;
  ValueId G = P.Grad;
  if (Decoupled)
    Param = Wd == 0 ? Param : mul(Param, sub(c(1), mul(Lr, c(Wd))));
  else
    G = withWeightDecay(G, Wd);
  auto [MSym, Mv] = slot("exp_avg");
  auto [VSym, Vv] = slot("exp_avg_sq");
  ValueId NewM = add(mul(Mv, c(B1)), mul(G, c(1 - B1)));
  ValueId NewV = add(mul(Vv, c(B2)), mul(square(G), c(1 - B2)));
  write(MSym, NewM);
  write(VSym, NewV);
  ValueId StepSize = div(Lr, biasCorrection(B1));
  ValueId Denom = add(div(sqrt(NewV), sqrt(biasCorrection(B2))), c(arg("eps")));
  write(P.Symbol, sub(Param, mul(StepSize, div(NewM, Denom))));
}

void Update::rmsprop() {
  double A = arg("alpha"), Mu = arg("momentum");
  auto [SSym, Sq] = slot("square_avg");
  ValueId NewSq = add(mul(Sq, c(A)), mul(square(P.Grad), c(1 - A)));
  write(SSym, NewSq);
  ValueId D = div(P.Grad, add(sqrt(NewSq), c(arg("eps"))));
  if (Mu != 0) {
    auto [BSym, Buf] = slot("momentum_buffer");
    D = add(mul(Buf, c(Mu)), D);
    write(BSym, D);
  }
  write(P.Symbol, sub(P.Value, mul(D, Lr)));
}

void Update::adagrad() {
  auto [SSym, S] = slot("sum");
  ValueId NewS = add(S, square(P.Grad));
  write(SSym, NewS);
  ValueId Std = add(sqrt(NewS), c(arg("eps")));
  write(P.Symbol, sub(P.Value, mul(Lr, div(P.Grad, Std))));
}

} // namespace

void buildOptimizerUpdate(Module &M, Builder &B, const Call &Opt,
                          const std::vector<ParamGrad> &Params, ValueId Lr,
                          ValueId T, Loc L) {
  for (const ParamGrad &P : Params)
    Update(M, B, Opt, P, Lr, T, L).run();
}

} // namespace gradc::passes
