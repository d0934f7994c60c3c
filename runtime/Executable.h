//===- runtime/Executable.h - A compiled model, any backend -----*- C++ -*-===//
//
// The interface every backend implements (the interpreter now; the JIT and
// the AOT object later): a module after the pipeline, with the three entry
// points the autodiff pass builds (@train_step, @eval, @predict), and the
// model's state (params, optimizer slots, running statistics, the step
// counter and the dropout seed).
//
// Nothing here assumes how a backend keeps its state: the interpreter holds a
// map of f64 tensors, the JIT will hold one flat arena. State crosses this
// interface as bytes of each tensor's dtype, row-major, under its checkpoint
// name (SPEC §3): `W1`, `optimizer/W1/exp_avg`, `h.running_mean`. Internal
// symbols (names starting with '.', such as `.step` and `.seed`) are not
// state tensors; the step counter is step()/setStep() and the seed is set by
// initialize().
//
// Inputs go in as one pointer per input symbol, in declaration order, each
// to a full batch (the input's own shape) in the input's dtype; the pointer
// of an input the entry does not read may be null.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Module.h"

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gradc::runtime {

/// A tensor on the host: row-major bytes in its dtype.
struct HostTensor {
  ir::TensorType Type;
  std::vector<uint8_t> Bytes;
};

/// A named tensor of the interface (an input, a state tensor, an output).
struct TensorInfo {
  std::string Name;
  ir::TensorType Type;
};

enum class Entry : uint8_t { TrainStep, Eval, Predict };

/// The memory one call of an entry point works in, in bytes, as the backend
/// holds it (what `gradc bench` reports as peak_bytes; docs/cli.md).
struct MemoryUse {
  uint64_t State = 0;   // params, optimizer slots, statistics, .step, .seed
  uint64_t Scratch = 0; // the call's intermediate values (the JIT: the
                        // planned peak of its memory plan, MemoryPlan.cpp)
  uint64_t Inputs = 0;  // one batch of every input the entry reads
  uint64_t Results = 0; // the buffers the results come back in
  /// The intermediate values with a buffer each, none reused and none
  /// computed in place: Scratch without the memory plan (unplanned_bytes).
  uint64_t UnplannedScratch = 0;
  uint64_t total() const { return State + Scratch + Inputs + Results; }
};
/// The IR function of \p E: "train_step", "eval", "predict".
std::string_view entryName(Entry E);

/// " (input 'ids')": the inputs a failing node of \p F reads, through i32
/// values when there are any (a runtime error is about ids), else through
/// any value; "" when it reads none. Both backends append it to their
/// runtime errors so the messages are the same.
std::string failingInputsSuffix(const ir::Module &M, const ir::Function &F,
                                ir::ValueId Failed);

class Executable {
public:
  /// \p M is the module after the pipeline.
  explicit Executable(std::unique_ptr<ir::Module> M);
  virtual ~Executable();
  Executable(const Executable &) = delete;
  Executable &operator=(const Executable &) = delete;

  const ir::Module &module() const { return *Mod; }

  /// Whether the model has entry \p E (@train_step needs a train block).
  bool hasEntry(Entry E) const;
  /// The input symbols, in declaration order.
  std::span<const TensorInfo> inputs() const { return Inputs; }
  /// Whether entry \p E reads input \p I (an index into inputs()).
  bool readsInput(Entry E, size_t I) const;
  /// The examples in one call: axis 0 of the inputs, which all share it (1
  /// for a model without inputs). 0 when the inputs disagree or one is a
  /// scalar; batchError() then says why.
  int64_t batchSize() const { return Batch; }
  const std::string &batchError() const { return BatchErr; }

  /// Params, optimizer slots and running statistics by their checkpoint
  /// names, in declaration order.
  std::span<const TensorInfo> stateTensors() const { return State; }
  const TensorInfo *findState(std::string_view Name) const;
  /// Whether state tensor \p Name is a trained param.
  bool isParam(std::string_view Name) const;

  /// What @eval returns: the loss (with a train block) and the metrics.
  bool evalHasLoss() const { return EvalLoss; }
  std::span<const std::string> metricNames() const { return Metrics; }
  /// What @predict returns, in order.
  std::span<const TensorInfo> outputs() const { return Outputs; }

  /// The bytes of state tensor \p Name (which must exist), in its dtype.
  virtual void readState(std::string_view Name, void *Out) const = 0;
  virtual void writeState(std::string_view Name, const void *In) = 0;
  /// The number of completed training steps.
  virtual int64_t step() const = 0;
  virtual void setStep(int64_t Step) = 0;
  /// Sets every state tensor by its initializer (runtime/Init.h) from
  /// \p Seed, the step counter to 0 and the dropout seed to \p Seed.
  virtual void initialize(uint64_t Seed) = 0;

  /// One training step at learning rate \p Lr: returns the forward loss
  /// (before the update) and updates the state. On a runtime error (an id
  /// out of range) the state is unchanged and \p Err is
  /// "FILE:LINE:COL: 'op': message (input 'ids')": the op's source location
  /// and the inputs that feed it (locateFailure in Dataset.h adds the
  /// example).
  virtual bool trainStep(std::span<const void *const> Inputs, double Lr,
                         double &Loss, std::string &Err) = 0;
  /// The loss (NaN when !evalHasLoss()) and metrics of one batch, in
  /// inference form; the state is unchanged.
  virtual bool eval(std::span<const void *const> Inputs, double &Loss,
                    std::vector<double> &Metrics, std::string &Err) = 0;
  /// The outputs of one batch, in the order of outputs().
  virtual bool predict(std::span<const void *const> Inputs,
                       std::vector<HostTensor> &Outputs, std::string &Err) = 0;

  /// The memory a call of \p E (which must exist) uses. This default counts
  /// the state, inputs and results in their dtypes and no scratch; each
  /// backend says what it really allocates.
  virtual MemoryUse memoryUse(Entry E) const;

protected:
  std::unique_ptr<ir::Module> Mod;

private:
  std::vector<TensorInfo> Inputs, State, Outputs;
  std::vector<std::string> Metrics;
  std::vector<std::vector<bool>> Reads; // [entry][input]
  std::vector<bool> Has;                // [entry]
  bool EvalLoss = false;
  int64_t Batch = 1;
  std::string BatchErr;
};

/// Whether \p Name is an internal symbol (`.step`, `.seed`, `.lr`).
inline bool isInternalSymbol(std::string_view Name) {
  return !Name.empty() && Name[0] == '.';
}

} // namespace gradc::runtime
