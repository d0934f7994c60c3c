//===- runtime/JitExecutable.cpp - The JIT backend -------------------------===//
//
// See JitExecutable.h. A call passes the arenas, the caller's input
// pointers, the args (every arg symbol is the learning rate, as in the
// interp backend) and one host buffer per result to the compiled entry;
// inputs that are not 64-byte aligned, as the ABI requires, are first copied
// to an aligned staging arena.
// A call allocates nothing: the arenas, the args, the result buffers and
// the input pointer table are sized once, when the executable is made
// (tests/unit/JitAllocTest.cpp counts). State and Scratch are sized by the
// layout's memory plan (codegen/MemoryPlan.cpp); memoryUse() reports it.
// On a nonzero return, ErrorInfo names the failing node: its operands are
// still intact in their buffers (scratch is only rewritten by the next
// call), so the node is evaluated once more by the reference interpreter,
// which produces the exact message the interp backend gives.
//
//===----------------------------------------------------------------------===//
#include "runtime/JitExecutable.h"

#include "codegen/Codegen.h"
#include "codegen/JIT.h"
#include "ir/Interpreter.h"
#include "runtime/Init.h"
#include "runtime/Interp.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fmt/format.h>
#include <llvm/IR/LLVMContext.h>
#include <llvm/IR/Module.h>

namespace gradc::runtime {
namespace {

using EntryFn = int64_t (*)(uint8_t *State, uint8_t *Scratch,
                            const void *const *Inputs, const double *Args,
                            void *const *Results, int64_t *ErrorInfo);

/// A zeroed, 64-byte aligned block of memory.
class Arena {
public:
  explicit Arena(uint64_t Bytes = 0) {
    uint64_t N = std::max<uint64_t>(
        codegen::kAlign, (Bytes + codegen::kAlign - 1) / codegen::kAlign *
                             codegen::kAlign);
    P.reset(static_cast<uint8_t *>(std::aligned_alloc(codegen::kAlign, N)));
    std::memset(P.get(), 0, N);
  }
  uint8_t *data() const { return P.get(); }

private:
  struct Free {
    void operator()(uint8_t *X) const { std::free(X); }
  };
  std::unique_ptr<uint8_t, Free> P;
};

uint64_t bytesOf(const ir::TensorType &T) {
  return static_cast<uint64_t>(T.numElements()) * ir::dtypeSize(T.Elt);
}

class JitExecutable final : public Executable {
public:
  JitExecutable(std::unique_ptr<ir::Module> M, codegen::Layout L,
                std::unique_ptr<codegen::Jit> J, std::array<EntryFn, 3> Fns,
                void (*Shutdown)())
      : Executable(std::move(M)), L(std::move(L)), J(std::move(J)), Fns(Fns),
        Shutdown(Shutdown), State(this->L.StateBytes),
        Scratch(maxScratch(this->L)), Staging(stagingBytes()),
        ArgValues(this->L.Args.size()), InPtrs(inputs().size()) {
    for (Entry E : {Entry::TrainStep, Entry::Eval, Entry::Predict}) {
      const ir::Function *F = Mod->lookupFunction(entryName(E));
      if (!F)
        continue;
      auto &Out = ResultBufs[static_cast<size_t>(E)];
      for (const ir::Result &R : F->Results) {
        const ir::TensorType &T = F->type(R.Value);
        Out.push_back({T, std::vector<uint8_t>(bytesOf(T))});
      }
      for (HostTensor &H : Out)
        ResultPtrs[static_cast<size_t>(E)].push_back(H.Bytes.data());
    }
    initialize(0);
  }
  /// The worker threads run the JIT's code: stop them before it goes.
  ~JitExecutable() override {
    if (Shutdown)
      Shutdown();
  }

  void readState(std::string_view Name, void *Out) const override {
    const codegen::Slot &S = slot(Name);
    std::memcpy(Out, State.data() + S.Offset, S.Bytes);
  }
  void writeState(std::string_view Name, const void *In) override {
    const codegen::Slot &S = slot(Name);
    std::memcpy(State.data() + S.Offset, In, S.Bytes);
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
  static uint64_t maxScratch(const codegen::Layout &L) {
    uint64_t Max = 0;
    for (const auto &[Name, FL] : L.Functions)
      Max = std::max(Max, FL.ScratchBytes);
    return Max;
  }
  /// Lays out a 64-byte aligned copy of every input; returns the bytes.
  uint64_t stagingBytes() {
    uint64_t Bytes = 0;
    for (const TensorInfo &I : inputs()) {
      StagingOffsets.push_back(Bytes);
      Bytes += (bytesOf(I.Type) + codegen::kAlign - 1) / codegen::kAlign *
               codegen::kAlign;
    }
    return Bytes;
  }
  const codegen::Slot &slot(std::string_view Name) const {
    auto It = L.State.find(Name);
    assert(It != L.State.end() && "no such state tensor");
    return It->second;
  }
  /// Runs entry \p E; its results are left in ResultBufs[E], one tensor
  /// each.
  bool run(Entry E, std::span<const void *const> Inputs, double Lr,
           std::string &Err);
  /// The interp backend's message for the failure of node \p V of \p F.
  std::string describeFailure(const ir::Function &F, ir::ValueId V,
                              int64_t Index,
                              std::span<const void *const> Inputs,
                              const std::vector<double> &Args) const;

  codegen::Layout L;
  std::unique_ptr<codegen::Jit> J;
  std::array<EntryFn, 3> Fns;
  void (*Shutdown)();
  std::vector<uint64_t> StagingOffsets; // per input, into Staging
  Arena State, Scratch, Staging;
  // What a call passes, allocated once.
  std::vector<double> ArgValues;                     // per arg symbol
  std::vector<const void *> InPtrs;                  // per input
  std::array<std::vector<HostTensor>, 3> ResultBufs; // per entry, per result
  std::array<std::vector<void *>, 3> ResultPtrs;     // into ResultBufs
  int64_t StepNoTrain = 0; // the step count of a model without `.step`
};

int64_t JitExecutable::step() const {
  const ir::Symbol *S = Mod->lookupSymbol(".step");
  if (!S)
    return StepNoTrain;
  double D = 0;
  bytesToDoubles(S->Type.Elt, State.data() + slot(".step").Offset, 1, &D);
  return static_cast<int64_t>(D);
}

void JitExecutable::setStep(int64_t Step) {
  const ir::Symbol *S = Mod->lookupSymbol(".step");
  if (!S) {
    StepNoTrain = Step;
    return;
  }
  double D = static_cast<double>(Step);
  doublesToBytes(S->Type.Elt, &D, 1, State.data() + slot(".step").Offset);
}

void JitExecutable::initialize(uint64_t Seed) {
  for (const ir::Symbol &S : Mod->Symbols) {
    if (S.Kind != ir::SymbolKind::Param && S.Kind != ir::SymbolKind::State)
      continue;
    std::vector<double> V(static_cast<size_t>(S.Type.numElements()));
    runtime::initialize(S.Init, S.Type, Seed, S.Name, V.data());
    if (S.Name == ".seed")
      std::fill(V.begin(), V.end(), static_cast<double>(Seed));
    doublesToBytes(S.Type.Elt, V.data(), V.size(),
                   State.data() + slot(S.Name).Offset);
  }
  setStep(0);
}

std::string JitExecutable::describeFailure(const ir::Function &F,
                                           ir::ValueId V, int64_t Index,
                                           std::span<const void *const> Inputs,
                                           const std::vector<double> &Args) const {
  const codegen::FunctionLayout &FL = L.Functions.find(F.Name)->second;
  const ir::Node &N = F.Nodes[V];
  // The operands, read back from where the compiled code keeps them.
  std::vector<ir::Tensor> Ops;
  for (ir::ValueId O : N.Operands) {
    const ir::Node &ON = F.Nodes[O];
    ir::Tensor T(ON.Type);
    const void *Src = nullptr;
    const ir::Symbol *S = ON.Symbol.empty() ? nullptr : Mod->lookupSymbol(ON.Symbol);
    if (ON.Opcode == ir::Op::Constant || (S && S->Kind == ir::SymbolKind::Arg)) {
      double D = ON.Opcode == ir::Op::Constant
                     ? ir::getFloat(ON.Attrs, "value")
                     : Args[std::find(L.Args.begin(), L.Args.end(), S->Name) -
                            L.Args.begin()];
      std::vector<uint8_t> Tmp(bytesOf(ON.Type));
      std::vector<double> Splat(T.size(), D);
      doublesToBytes(ON.Type.Elt, Splat.data(), Splat.size(), Tmp.data());
      bytesToDoubles(ON.Type.Elt, Tmp.data(), T.size(), T.Data.data());
      Ops.push_back(std::move(T));
      continue;
    }
    if (ON.Opcode == ir::Op::Input)
      Src = Inputs[std::find(L.Inputs.begin(), L.Inputs.end(), ON.Symbol) -
                   L.Inputs.begin()];
    else if (ON.Opcode == ir::Op::Param)
      Src = State.data() + slot(ON.Symbol).Offset;
    else if (FL.Values[O])
      Src = Scratch.data() + FL.Values[O]->Offset;
    if (Src)
      bytesToDoubles(ON.Type.Elt, Src, T.size(), T.Data.data());
    Ops.push_back(std::move(T));
  }
  std::vector<const ir::Tensor *> Ins;
  for (const ir::Tensor &T : Ops)
    Ins.push_back(&T);
  ir::Tensor Out;
  std::string Why;
  if (ir::evalNode(N, Ins, Out, Why))
    Why = fmt::format("runtime error at element {}", Index);
  std::string Msg = fmt::format("'{}': {}", ir::mnemonic(N.Opcode), Why);
  if (N.L.isValid())
    Msg = fmt::format("{}:{}:{}: {}", Mod->SourceName, N.L.Line, N.L.Col, Msg);
  return Msg + failingInputsSuffix(*Mod, F, V);
}

bool JitExecutable::run(Entry E, std::span<const void *const> Inputs,
                        double Lr, std::string &Err) {
  EntryFn Fn = Fns[static_cast<size_t>(E)];
  if (!Fn) {
    Err = fmt::format("the model has no @{} function", entryName(E));
    return false;
  }
  assert(Inputs.size() == inputs().size() && "one pointer per input");
  std::fill(ArgValues.begin(), ArgValues.end(), Lr);
  // The compiled code assumes 64-byte aligned inputs: stage the others.
  for (size_t I = 0; I < InPtrs.size(); ++I) {
    InPtrs[I] = Inputs[I];
    if (InPtrs[I] && reinterpret_cast<uintptr_t>(InPtrs[I]) % codegen::kAlign) {
      std::memcpy(Staging.data() + StagingOffsets[I], InPtrs[I],
                  bytesOf(inputs()[I].Type));
      InPtrs[I] = Staging.data() + StagingOffsets[I];
    }
  }
  int64_t ErrorInfo[2] = {0, 0};
  int64_t Rc = Fn(State.data(), Scratch.data(), InPtrs.data(), ArgValues.data(),
                  ResultPtrs[static_cast<size_t>(E)].data(), ErrorInfo);
  if (Rc == 0)
    return true;
  const ir::Function *F = Mod->lookupFunction(entryName(E));
  ir::ValueId V = static_cast<ir::ValueId>(ErrorInfo[0]);
  Err = F && V < F->Nodes.size()
            ? describeFailure(*F, V, ErrorInfo[1], Inputs, ArgValues)
            : fmt::format("runtime error {} in @{}", Rc, entryName(E));
  return false;
}

/// \p Bytes rounded up to the alignment, as the arenas hold them.
uint64_t aligned(uint64_t Bytes) {
  return (Bytes + codegen::kAlign - 1) / codegen::kAlign * codegen::kAlign;
}

/// The state arena, the entry's own part of the scratch arena (its memory
/// plan's peak; the arena is sized to the largest entry) and the sum of its
/// regions without the plan, each input the entry reads as the aligned
/// buffer the code reads, and the host buffers of the results.
MemoryUse JitExecutable::memoryUse(Entry E) const {
  const ir::Function *F = Mod->lookupFunction(entryName(E));
  assert(F && "no such entry");
  MemoryUse U;
  U.State = aligned(L.StateBytes);
  const codegen::FunctionLayout &FL = L.Functions.find(F->Name)->second;
  U.Scratch = aligned(FL.ScratchBytes);
  U.UnplannedScratch = FL.UnplannedBytes;
  for (size_t I = 0; I < inputs().size(); ++I)
    if (readsInput(E, I))
      U.Inputs += aligned(bytesOf(inputs()[I].Type));
  for (const ir::Result &R : F->Results)
    U.Results += bytesOf(F->type(R.Value));
  return U;
}

double scalarOf(const HostTensor &T) {
  double D = 0;
  bytesToDoubles(T.Type.Elt, T.Bytes.data(), 1, &D);
  return D;
}

bool JitExecutable::trainStep(std::span<const void *const> Inputs, double Lr,
                              double &Loss, std::string &Err) {
  if (!run(Entry::TrainStep, Inputs, Lr, Err))
    return false;
  Loss = scalarOf(ResultBufs[static_cast<size_t>(Entry::TrainStep)].at(0));
  return true;
}

bool JitExecutable::eval(std::span<const void *const> Inputs, double &Loss,
                         std::vector<double> &Metrics, std::string &Err) {
  if (!run(Entry::Eval, Inputs, 0.0, Err))
    return false;
  const std::vector<HostTensor> &R = ResultBufs[static_cast<size_t>(Entry::Eval)];
  size_t I = 0;
  Loss = evalHasLoss() ? scalarOf(R.at(I++)) : std::nan("");
  Metrics.clear();
  for (; I < R.size(); ++I)
    Metrics.push_back(scalarOf(R[I]));
  return true;
}

bool JitExecutable::predict(std::span<const void *const> Inputs,
                            std::vector<HostTensor> &Outputs,
                            std::string &Err) {
  if (!run(Entry::Predict, Inputs, 0.0, Err))
    return false;
  Outputs = ResultBufs[static_cast<size_t>(Entry::Predict)];
  return true;
}

} // namespace

std::unique_ptr<Executable>
makeJitExecutable(std::unique_ptr<ir::Module> M, std::string &Err,
                  const codegen::EmitOptions &Opts) {
  auto J = codegen::Jit::create();
  if (!J) {
    Err = "cannot create the JIT: " + llvm::toString(J.takeError());
    return nullptr;
  }
  codegen::Layout L = codegen::computeLayout(*M);
  std::unique_ptr<llvm::Module> LM =
      codegen::emitModule(*M, L, (*J)->context(), (*J)->targetMachine(), Opts);
  auto Addrs = (*J)->compile(std::move(LM));
  if (!Addrs) {
    Err = "internal error: JIT compilation failed: " +
          llvm::toString(Addrs.takeError());
    return nullptr;
  }
  std::array<EntryFn, 3> Fns{};
  for (Entry E : {Entry::TrainStep, Entry::Eval, Entry::Predict}) {
    auto It = Addrs->find("gradc_" + std::string(entryName(E)));
    if (It != Addrs->end())
      Fns[static_cast<size_t>(E)] = reinterpret_cast<EntryFn>(It->second);
  }
  auto Shutdown = Addrs->find("gradc_shutdown");
  return std::make_unique<JitExecutable>(
      std::move(M), std::move(L), std::move(*J), Fns,
      Shutdown == Addrs->end() ? nullptr
                               : reinterpret_cast<void (*)()>(Shutdown->second));
}

} // namespace gradc::runtime
