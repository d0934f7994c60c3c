// gradc/gradc.hpp: a thin C++20 wrapper of the C API (gradc/gradc.h).
//
// gradc::Model owns a gradc_model (RAII, movable, not copyable); buffers are
// std::span; a failing call throws gradc::Error, which carries the status
// and the message (for a model that does not compile: the diagnostics).
// Exceptions are thrown here, on the caller's side; nothing throws across
// the C API.
#ifndef GRADC_GRADC_HPP
#define GRADC_GRADC_HPP

#include "gradc/gradc.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace gradc {

class Error : public std::runtime_error {
public:
  Error(gradc_status Status, const std::string &Message)
      : std::runtime_error(Message), Status(Status) {}
  gradc_status status() const { return Status; }

private:
  gradc_status Status;
};

/// Throws gradc::Error unless \p S is GRADC_OK.
inline void check(gradc_status S) {
  if (S != GRADC_OK)
    throw Error(S, gradc_last_error());
}

struct Options {
  std::string Backend = "jit";
  unsigned Threads = 0; // all cores
  std::vector<std::string> Defines; // "NAME=VALUE"
};

struct TensorInfo {
  std::string Name;
  int32_t DType = GRADC_F32;
  std::vector<int64_t> Shape;
  uint64_t Elements = 0;
  uint64_t Bytes = 0;
};

struct EvalResult {
  double Loss = 0;
  std::vector<double> Metrics; // in the order of Model::metricNames()
};

class Model {
public:
  /// Compiles the model file at \p Path.
  static Model fromFile(const std::string &Path, const Options &O = {}) {
    return compile(O, [&](const gradc_options *CO, gradc_model **M) {
      return gradc_compile_file(Path.c_str(), CO, M);
    });
  }
  /// Compiles model text; diagnostics name \p Filename.
  static Model fromString(const std::string &Source,
                          const std::string &Filename = "model.nn",
                          const Options &O = {}) {
    return compile(O, [&](const gradc_options *CO, gradc_model **M) {
      return gradc_compile_string(Source.c_str(), Filename.c_str(), CO, M);
    });
  }

  gradc_model *get() const { return M.get(); }
  std::string name() const { return gradc_model_name(M.get()); }
  int64_t batchSize() const { return gradc_batch_size(M.get()); }
  bool canTrain() const { return gradc_can_train(M.get()) != 0; }

  std::vector<TensorInfo> inputs() const {
    return list(gradc_num_inputs(M.get()), gradc_input_info);
  }
  std::vector<TensorInfo> outputs() const {
    return list(gradc_num_outputs(M.get()), gradc_output_info);
  }
  std::vector<TensorInfo> tensors() const {
    return list(gradc_num_tensors(M.get()), gradc_tensor_info_at);
  }
  TensorInfo tensor(const std::string &Name) const {
    gradc_tensor_info I;
    check(gradc_find_tensor(M.get(), Name.c_str(), &I));
    return convert(I);
  }
  std::vector<std::string> metricNames() const {
    std::vector<std::string> N;
    for (size_t I = 0; I < gradc_num_metrics(M.get()); ++I)
      N.push_back(gradc_metric_name(M.get(), I));
    return N;
  }

  /// Binds input \p Name to \p Data, which must outlive its use.
  template <typename T> void bind(const std::string &Name, std::span<const T> Data) {
    check(gradc_bind_input(M.get(), Name.c_str(), Data.data(), Data.size_bytes()));
  }
  template <typename T>
  void bind(const std::string &Name, const std::vector<T> &Data) {
    bind(Name, std::span<const T>(Data));
  }
  void init(uint64_t Seed) { check(gradc_init(M.get(), Seed)); }
  /// One training step; \p Lr <= 0: the model's learning rate.
  double trainStep(double Lr = 0) {
    double Loss = 0;
    check(gradc_train_step(M.get(), Lr, &Loss));
    return Loss;
  }
  EvalResult eval() {
    EvalResult R;
    R.Metrics.resize(gradc_num_metrics(M.get()));
    check(gradc_eval(M.get(), &R.Loss, R.Metrics.data(), R.Metrics.size()));
    return R;
  }
  void predict() { check(gradc_predict(M.get())); }
  template <typename T> void readOutput(const std::string &Name, std::span<T> Out) const {
    check(gradc_read_output(M.get(), Name.c_str(), Out.data(), Out.size_bytes()));
  }
  template <typename T>
  void readOutput(const std::string &Name, std::vector<T> &Out) const {
    readOutput(Name, std::span<T>(Out));
  }
  template <typename T>
  void readTensor(const std::string &Name, std::vector<T> &Out) const {
    readTensor(Name, std::span<T>(Out));
  }
  template <typename T> void readTensor(const std::string &Name, std::span<T> Out) const {
    check(gradc_read_tensor(M.get(), Name.c_str(), Out.data(), Out.size_bytes()));
  }
  template <typename T>
  void writeTensor(const std::string &Name, std::span<const T> In) {
    check(gradc_write_tensor(M.get(), Name.c_str(), In.data(), In.size_bytes()));
  }
  template <typename T>
  void writeTensor(const std::string &Name, const std::vector<T> &In) {
    writeTensor(Name, std::span<const T>(In));
  }
  int64_t step() const { return gradc_step(M.get()); }
  void setStep(int64_t Step) { check(gradc_set_step(M.get(), Step)); }
  void save(const std::string &Path) const { check(gradc_save(M.get(), Path.c_str())); }
  void load(const std::string &Path) { check(gradc_load(M.get(), Path.c_str())); }

private:
  struct Free {
    void operator()(gradc_model *P) const { gradc_model_free(P); }
  };
  explicit Model(gradc_model *P) : M(P) {}

  template <typename F> static Model compile(const Options &O, F &&Fn) {
    std::vector<const char *> Defs;
    for (const std::string &D : O.Defines)
      Defs.push_back(D.c_str());
    gradc_options CO{O.Backend.c_str(), O.Threads, Defs.data(), Defs.size()};
    gradc_model *P = nullptr;
    check(Fn(&CO, &P));
    return Model(P);
  }
  static TensorInfo convert(const gradc_tensor_info &I) {
    return {I.name, I.dtype, std::vector<int64_t>(I.shape, I.shape + I.rank),
            I.elements, I.bytes};
  }
  template <typename F> std::vector<TensorInfo> list(size_t N, F Info) const {
    std::vector<TensorInfo> Out;
    for (size_t I = 0; I < N; ++I) {
      gradc_tensor_info T;
      check(Info(M.get(), I, &T));
      Out.push_back(convert(T));
    }
    return Out;
  }

  std::unique_ptr<gradc_model, Free> M;
};

} // namespace gradc

#endif // GRADC_GRADC_HPP
