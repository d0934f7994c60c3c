//===- runtime/Interp.cpp - The interpreter backend -----------------------===//
//
// Keeps every param and state symbol (the internal `.step` and `.seed`
// included) as an f64 ir::Tensor in a TensorMap and calls ir::interpret for
// each entry point. Inputs are converted from their dtype's bytes on the way
// in, outputs back on the way out.
//
//===----------------------------------------------------------------------===//
#include "runtime/Interp.h"

#include "ir/Interpreter.h"
#include "runtime/Init.h"

#include <cassert>
#include <cmath>
#include <cstring>
#include <fmt/format.h>

namespace gradc::runtime {

void bytesToDoubles(ir::DType T, const void *In, size_t N, double *Out) {
  switch (T) {
  case ir::DType::F32: {
    const auto *P = static_cast<const float *>(In);
    for (size_t I = 0; I < N; ++I)
      Out[I] = P[I];
    return;
  }
  case ir::DType::F64:
    std::memcpy(Out, In, N * sizeof(double));
    return;
  case ir::DType::I32: {
    const auto *P = static_cast<const int32_t *>(In);
    for (size_t I = 0; I < N; ++I)
      Out[I] = P[I];
    return;
  }
  }
}

void doublesToBytes(ir::DType T, const double *In, size_t N, void *Out) {
  switch (T) {
  case ir::DType::F32: {
    auto *P = static_cast<float *>(Out);
    for (size_t I = 0; I < N; ++I)
      P[I] = static_cast<float>(In[I]);
    return;
  }
  case ir::DType::F64:
    std::memcpy(Out, In, N * sizeof(double));
    return;
  case ir::DType::I32: {
    auto *P = static_cast<int32_t *>(Out);
    for (size_t I = 0; I < N; ++I) {
      double V = std::nearbyint(In[I]);
      P[I] = std::isnan(V)            ? 0
             : V <= double(INT32_MIN) ? INT32_MIN
             : V >= double(INT32_MAX) ? INT32_MAX
                                      : static_cast<int32_t>(V);
    }
    return;
  }
  }
}

namespace {

class InterpExecutable final : public Executable {
public:
  explicit InterpExecutable(std::unique_ptr<ir::Module> M)
      : Executable(std::move(M)) {
    initialize(0);
  }

  void readState(std::string_view Name, void *Out) const override {
    const ir::Tensor &T = stateTensor(Name);
    doublesToBytes(T.Type.Elt, T.Data.data(), T.size(), Out);
  }
  void writeState(std::string_view Name, const void *In) override {
    ir::Tensor &T = stateTensor(Name);
    bytesToDoubles(T.Type.Elt, In, T.size(), T.Data.data());
  }
  int64_t step() const override;
  void setStep(int64_t Step) override;
  void initialize(uint64_t Seed) override;

  bool trainStep(std::span<const void *const> Inputs, double Lr, double &Loss,
                 std::string &Err) override;
  bool eval(std::span<const void *const> Inputs, double &Loss,
            std::vector<double> &Metrics, std::string &Err) override;
  bool predict(std::span<const void *const> Inputs,
               std::vector<HostTensor> &Outputs, std::string &Err) override;
  MemoryUse memoryUse(Entry E) const override;

private:
  const ir::Tensor &stateTensor(std::string_view Name) const {
    auto It = Values.find(Name);
    assert(It != Values.end() && "no such state tensor");
    return It->second;
  }
  ir::Tensor &stateTensor(std::string_view Name) {
    auto It = Values.find(Name);
    assert(It != Values.end() && "no such state tensor");
    return It->second;
  }
  /// Runs entry \p E with \p Inputs (and the learning rate \p Lr as `.lr`).
  bool run(Entry E, std::span<const void *const> Inputs, double Lr,
           ir::RunResult &R, std::string &Err);

  ir::TensorMap Values;    // params and state, internal symbols included
  int64_t StepNoTrain = 0; // the step count of a model without `.step`
};

int64_t InterpExecutable::step() const {
  auto It = Values.find(".step");
  if (It == Values.end())
    return StepNoTrain;
  return static_cast<int64_t>(It->second.Data[0]);
}

void InterpExecutable::setStep(int64_t Step) {
  auto It = Values.find(".step");
  if (It == Values.end())
    StepNoTrain = Step;
  else
    It->second.Data[0] = static_cast<double>(Step);
}

void InterpExecutable::initialize(uint64_t Seed) {
  Values.clear();
  for (const ir::Symbol &S : Mod->Symbols) {
    if (S.Kind != ir::SymbolKind::Param && S.Kind != ir::SymbolKind::State)
      continue;
    ir::Tensor T(S.Type);
    runtime::initialize(S.Init, S.Type, Seed, S.Name, T.Data.data());
    Values[S.Name] = std::move(T);
  }
  if (auto It = Values.find(".seed"); It != Values.end())
    It->second.Data[0] = static_cast<double>(Seed);
  setStep(0);
}

bool InterpExecutable::run(Entry E, std::span<const void *const> Inputs,
                           double Lr, ir::RunResult &R, std::string &Err) {
  const ir::Function *F = Mod->lookupFunction(entryName(E));
  if (!F) {
    Err = fmt::format("the model has no @{} function", entryName(E));
    return false;
  }
  assert(Inputs.size() == inputs().size() && "one pointer per input");
  ir::TensorMap In;
  for (size_t I = 0; I < inputs().size(); ++I) {
    if (!readsInput(E, I))
      continue;
    const TensorInfo &Info = inputs()[I];
    assert(Inputs[I] && "no data for an input the entry reads");
    ir::Tensor T(Info.Type);
    bytesToDoubles(Info.Type.Elt, Inputs[I], T.size(), T.Data.data());
    In[Info.Name] = std::move(T);
  }
  for (const ir::Symbol &S : Mod->Symbols)
    if (S.Kind == ir::SymbolKind::Arg) {
      ir::Tensor T(S.Type);
      std::fill(T.Data.begin(), T.Data.end(), Lr);
      In[S.Name] = std::move(T);
    }
  R = ir::interpret(*Mod, *F, In, Values);
  if (R.Ok)
    return true;
  Err = R.Error + failingInputsSuffix(*Mod, *F, R.FailedNode);
  return false;
}

/// Everything in f64: the state map, the value of every node of the entry
/// (ir::interpret keeps them all until it returns), the converted inputs and
/// the results.
MemoryUse InterpExecutable::memoryUse(Entry E) const {
  const ir::Function *F = Mod->lookupFunction(entryName(E));
  assert(F && "no such entry");
  auto F64 = [](const ir::TensorType &T) {
    return static_cast<uint64_t>(T.numElements()) * sizeof(double);
  };
  MemoryUse U;
  for (const auto &[Name, T] : Values)
    U.State += F64(T.Type);
  for (const ir::Node &N : F->Nodes)
    U.Scratch += F64(N.Type);
  U.UnplannedScratch = U.Scratch; // there is no plan
  for (size_t I = 0; I < inputs().size(); ++I)
    if (readsInput(E, I))
      U.Inputs += F64(inputs()[I].Type);
  for (const ir::Result &R : F->Results)
    U.Results += F64(F->type(R.Value));
  return U;
}

bool InterpExecutable::trainStep(std::span<const void *const> Inputs, double Lr,
                                 double &Loss, std::string &Err) {
  ir::RunResult R;
  if (!run(Entry::TrainStep, Inputs, Lr, R, Err))
    return false;
  Loss = R.Results.at(0).Data.at(0);
  return true;
}

bool InterpExecutable::eval(std::span<const void *const> Inputs, double &Loss,
                            std::vector<double> &Metrics, std::string &Err) {
  ir::RunResult R;
  if (!run(Entry::Eval, Inputs, 0.0, R, Err))
    return false;
  size_t I = 0;
  Loss = evalHasLoss() ? R.Results.at(I++).Data.at(0) : std::nan("");
  Metrics.clear();
  for (; I < R.Results.size(); ++I)
    Metrics.push_back(R.Results[I].Data.at(0));
  return true;
}

bool InterpExecutable::predict(std::span<const void *const> Inputs,
                               std::vector<HostTensor> &Outputs,
                               std::string &Err) {
  ir::RunResult R;
  if (!run(Entry::Predict, Inputs, 0.0, R, Err))
    return false;
  Outputs.clear();
  for (const ir::Tensor &T : R.Results) {
    HostTensor H{T.Type,
                 std::vector<uint8_t>(T.size() * ir::dtypeSize(T.Type.Elt))};
    doublesToBytes(T.Type.Elt, T.Data.data(), T.size(), H.Bytes.data());
    Outputs.push_back(std::move(H));
  }
  return true;
}

} // namespace

std::unique_ptr<Executable>
makeInterpreterExecutable(std::unique_ptr<ir::Module> M) {
  return std::make_unique<InterpExecutable>(std::move(M));
}

} // namespace gradc::runtime
