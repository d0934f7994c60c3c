//===- passes/Autodiff.cpp - The training step as IR --------------------------===//
//
// Turns @model into the three functions the runtime calls:
//   @train_step  the training forms of batch_norm and dropout, the loss, its
//                gradient with respect to every param (reverse mode,
//                Differentiate.cpp), clip_grad_norm, the optimizer update
//                (Optimizers.cpp) and the step counter, all as `assign`s of
//                param and state symbols; returns the loss. The learning rate
//                is `arg @.lr`.
//   @eval        inference forms; returns the loss (if there is a train
//                block) and the metrics.
//   @predict     inference forms; returns the outputs.
// Then removes @model and dead nodes.
//
//===----------------------------------------------------------------------===//
#include "passes/Differentiate.h"
#include "passes/Lowering.h"
#include "passes/Optimizers.h"
#include "passes/PassManager.h"

namespace gradc::passes {
using namespace ir;

bool runDCE(Module &M, PassContext &Ctx);

namespace {

/// The value of the param read of symbol \p Name in \p F, if F reads it.
std::optional<ValueId> paramRead(const Function &F, const std::string &Name) {
  for (ValueId V = 0; V < F.Nodes.size(); ++V)
    if (F.Nodes[V].Opcode == Op::Param && F.Nodes[V].Symbol == Name)
      return V;
  return std::nullopt;
}

bool buildTrainStep(Module &M, const Function &Model, Function &F,
                    PassContext &Ctx) {
  const TrainConfig &T = *M.Train;
  std::vector<ValueId> Map = cloneForMode(M, Model, F, Mode::Train);
  ValueId Loss = Map[*Model.lookup(T.Minimize)];
  Builder B(F);

  std::vector<std::string> Names;
  std::vector<ValueId> Reads;
  for (const Symbol &S : M.Symbols)
    if (S.Kind == SymbolKind::Param)
      if (auto V = paramRead(F, S.Name)) {
        Names.push_back(S.Name);
        Reads.push_back(*V);
      }
  Gradients G = differentiate(B, Loss, Reads);
  if (!G.Missing.empty()) {
    for (const MissingRule &R : G.Missing)
      Ctx.Diags.error(R.L,
                      "'{}' is not differentiable, but '{}' depends on a param "
                      "through it",
                      mnemonic(R.Opcode), T.Minimize);
    Ctx.Failed = true;
    return false;
  }
  std::vector<ParamGrad> Params;
  for (size_t I = 0; I < Names.size(); ++I) {
    if (G.Of[I])
      Params.push_back({Names[I], Reads[I], *G.Of[I]});
    else
      Ctx.Diags.warning(M.lookupSymbol(Names[I])->L,
                        "param '{}' gets no gradient from '{}'; it is not "
                        "trained",
                        Names[I], T.Minimize);
  }
  if (Params.empty()) {
    Ctx.Diags.error(T.MinimizeLoc, "'{}' does not depend on any param",
                    T.Minimize);
    Ctx.Failed = true;
    return false;
  }
  Loc L = T.OptimizerLoc;
  if (T.ClipGradNorm)
    buildClipGradNorm(B, Params, *T.ClipGradNorm, T.MinimizeLoc);
  // t, the 1-based number of this step, and the learning rate argument.
  const Symbol &StepSym = scalarState(M, ".step");
  std::string StepName = StepSym.Name;
  ValueId Step = B.symbolRef(StepSym, L);
  ValueId One = B.constant(1.0, DType::F64, L);
  ValueId TNum = B.make(Op::Add, {Step, One}, {}, L);
  if (!M.lookupSymbol(".lr"))
    M.Symbols.push_back({SymbolKind::Arg, ".lr", TensorType(DType::F64, {}), {}, L});
  ValueId Lr = B.symbolRef(*M.lookupSymbol(".lr"), L);
  buildOptimizerUpdate(M, B, T.Optimizer, Params, Lr, TNum, L);
  B.assign(*M.lookupSymbol(StepName), TNum, L);
  F.Results.push_back({ResultKind::Loss, T.Minimize, Loss});
  return true;
}

/// @eval or @predict: the inference form with the results of \p Kinds.
void buildInference(Module &M, const Function &Model, Function &F,
                    bool WithLoss, ResultKind Kind) {
  std::vector<ValueId> Map = cloneForMode(M, Model, F, Mode::Infer);
  if (WithLoss && M.Train)
    F.Results.push_back(
        {ResultKind::Loss, M.Train->Minimize, Map[*Model.lookup(M.Train->Minimize)]});
  for (const Result &R : Model.Results)
    if (R.Kind == Kind)
      F.Results.push_back({R.Kind, R.Name, Map[R.Value]});
}

} // namespace

bool runAutodiff(Module &M, PassContext &Ctx) {
  const Function *Model = M.lookupFunction("model");
  if (!Model) {
    Ctx.Diags.error({}, "autodiff: the module has no @model function (it was "
                        "differentiated already?)");
    Ctx.Failed = true;
    return false;
  }
  std::vector<Function> Out;
  if (M.Train) {
    Out.push_back({"train_step", {}, {}});
    if (!buildTrainStep(M, *Model, Out.back(), Ctx))
      return false;
  }
  Out.push_back({"eval", {}, {}});
  buildInference(M, *Model, Out.back(), true, ResultKind::Metric);
  Out.push_back({"predict", {}, {}});
  buildInference(M, *Model, Out.back(), false, ResultKind::Output);
  M.Functions = std::move(Out);
  runDCE(M, Ctx);
  return true;
}

} // namespace gradc::passes
