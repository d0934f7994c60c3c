//===- runtime/CApi.cpp - libgradc: the C API of include/gradc/gradc.h ----===//
//
// A gradc_model is an Executable (compileModel, the pipeline every command
// uses) plus what the C API keeps around it: the bound input pointers, the
// last predict's outputs, and stable C strings and shapes for the info
// structs. Every entry point runs inside guard(): it returns a status, and a
// C++ exception (allocation failure, an internal error) becomes
// GRADC_INTERNAL_ERROR with its message, never an unwinding through C.
// Arguments are checked here (NULL pointers, names, sizes, bound inputs)
// before anything reaches the Executable, whose own preconditions are
// asserts. The message of the last failure is thread-local.
//
//===----------------------------------------------------------------------===//
#include "gradc/gradc.h"

#include "gradc/Version.h"
#include "runtime/Compile.h"
#include "runtime/FileIO.h"
#include "runtime/StateIO.h"
#include "runtime/Trainer.h"

#include <cmath>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <fmt/format.h>
#include <sstream>

using namespace gradc;
using runtime::Entry;
using runtime::Executable;
using runtime::TensorInfo;

struct gradc_model {
  std::unique_ptr<Executable> X;
  std::vector<const void *> Bound; // per input, null when not bound
  std::vector<runtime::HostTensor> Outputs;
  bool Predicted = false;
};

namespace {

thread_local std::string LastError;

gradc_status fail(gradc_status S, std::string Msg) {
  LastError = std::move(Msg);
  return S;
}

template <typename F> gradc_status guard(F &&Fn) {
  try {
    return Fn();
  } catch (const std::exception &E) {
    return fail(GRADC_INTERNAL_ERROR, std::string("internal error: ") + E.what());
  } catch (...) {
    return fail(GRADC_INTERNAL_ERROR, "internal error");
  }
}

#define GRADC_CHECK_ARG(Cond, What)                                            \
  do {                                                                         \
    if (!(Cond))                                                               \
      return fail(GRADC_INVALID_ARGUMENT, What);                               \
  } while (0)

int32_t dtypeCode(ir::DType T) {
  switch (T) {
  case ir::DType::F32:
    return GRADC_F32;
  case ir::DType::F64:
    return GRADC_F64;
  case ir::DType::I32:
    return GRADC_I32;
  }
  return -1;
}

uint64_t bytesOf(const ir::TensorType &T) {
  return static_cast<uint64_t>(T.numElements()) * ir::dtypeSize(T.Elt);
}

void describe(const TensorInfo &T, gradc_tensor_info *Out) {
  Out->name = T.Name.c_str();
  Out->dtype = dtypeCode(T.Type.Elt);
  Out->rank = static_cast<int32_t>(T.Type.Dims.size());
  Out->shape = T.Type.Dims.data();
  Out->elements = static_cast<uint64_t>(T.Type.numElements());
  Out->bytes = bytesOf(T.Type);
}

gradc_status infoAt(std::span<const TensorInfo> List, size_t I,
                    gradc_tensor_info *Out, const char *What) {
  GRADC_CHECK_ARG(Out, "gradc: the info pointer is NULL");
  if (I >= List.size())
    return fail(GRADC_NOT_FOUND,
                fmt::format("no {} {} (the model has {})", What, I, List.size()));
  describe(List[I], Out);
  return GRADC_OK;
}

/// The size check of every buffer argument.
gradc_status checkSize(const char *Kind, const std::string &Name,
                       const ir::TensorType &T, size_t Bytes) {
  if (Bytes == bytesOf(T))
    return GRADC_OK;
  return fail(GRADC_SIZE_MISMATCH,
              fmt::format("{} '{}' is {}: {} bytes, but the buffer has {}", Kind,
                          Name, ir::formatType(T), bytesOf(T), Bytes));
}

/// The known names of \p List, for messages.
std::string names(std::span<const TensorInfo> List) {
  std::vector<std::string> N;
  for (const TensorInfo &T : List)
    N.push_back("'" + T.Name + "'");
  return N.empty() ? "none" : fmt::format("{}", fmt::join(N, ", "));
}

gradc_status compile(const std::string &Name, const std::string &Text,
                     const gradc_options *Options, gradc_model **Out) {
  runtime::CompileOptions O;
  if (Options) {
    if (Options->backend)
      O.Backend = Options->backend;
    O.Threads = Options->threads;
    GRADC_CHECK_ARG(Options->num_defines == 0 || Options->defines,
                    "gradc: options: defines is NULL but num_defines is not 0");
    for (size_t I = 0; I < Options->num_defines; ++I) {
      const char *D = Options->defines[I];
      const char *Eq = D ? std::strchr(D, '=') : nullptr;
      GRADC_CHECK_ARG(Eq && Eq != D,
                      fmt::format("gradc: options: define {} is not NAME=VALUE", I));
      O.Defines.push_back({std::string(D, Eq), std::string(Eq + 1)});
    }
  }
  std::string Err;
  if (!runtime::checkBackend(O.Backend, Err))
    return fail(GRADC_INVALID_ARGUMENT, "gradc: options: " + Err);
  SourceFile Src(Name, Text);
  std::ostringstream Diag, Log;
  DiagnosticEngine Diags(Diag);
  Diags.setSource(&Src);
  std::unique_ptr<Executable> X = runtime::compileModel(Src, O, Diags, Log);
  if (!X)
    return fail(GRADC_MODEL_ERROR, Diag.str());
  if (X->batchSize() == 0)
    return fail(GRADC_MODEL_ERROR, fmt::format("{}: {}", Name, X->batchError()));
  X->initialize(0);
  auto M = std::make_unique<gradc_model>();
  M->Bound.assign(X->inputs().size(), nullptr);
  M->X = std::move(X);
  *Out = M.release();
  return GRADC_OK;
}

/// The bound inputs for entry \p E, or GRADC_NOT_READY naming a missing one.
gradc_status inputsFor(const gradc_model *M, Entry E) {
  for (size_t I = 0; I < M->Bound.size(); ++I)
    if (!M->Bound[I] && M->X->readsInput(E, I))
      return fail(GRADC_NOT_READY,
                  fmt::format("input '{}' is not bound (gradc_bind_input)",
                              M->X->inputs()[I].Name));
  return GRADC_OK;
}

} // namespace

extern "C" {

const char *gradc_last_error(void) { return LastError.c_str(); }

const char *gradc_status_name(int S) {
  // An int, not a gradc_status: any value a caller passes is defined
  // (an enum parameter holding a value outside the enumeration is not).
  switch (S) {
  case GRADC_OK:
    return "GRADC_OK";
  case GRADC_INVALID_ARGUMENT:
    return "GRADC_INVALID_ARGUMENT";
  case GRADC_MODEL_ERROR:
    return "GRADC_MODEL_ERROR";
  case GRADC_NOT_FOUND:
    return "GRADC_NOT_FOUND";
  case GRADC_SIZE_MISMATCH:
    return "GRADC_SIZE_MISMATCH";
  case GRADC_NOT_READY:
    return "GRADC_NOT_READY";
  case GRADC_RUNTIME_ERROR:
    return "GRADC_RUNTIME_ERROR";
  case GRADC_IO_ERROR:
    return "GRADC_IO_ERROR";
  case GRADC_CHECKPOINT_ERROR:
    return "GRADC_CHECKPOINT_ERROR";
  case GRADC_UNSUPPORTED:
    return "GRADC_UNSUPPORTED";
  case GRADC_INTERNAL_ERROR:
    return "GRADC_INTERNAL_ERROR";
  }
  return "GRADC_UNKNOWN_STATUS";
}

const char *gradc_version(void) { return GRADC_VERSION; }

gradc_status gradc_compile_file(const char *Path, const gradc_options *Options,
                                gradc_model **Out) {
  return guard([&] {
    GRADC_CHECK_ARG(Out, "gradc_compile_file: out is NULL");
    *Out = nullptr;
    GRADC_CHECK_ARG(Path, "gradc_compile_file: path is NULL");
    std::vector<uint8_t> Bytes;
    std::string Err;
    if (!runtime::readFile(Path, Bytes, Err))
      return fail(GRADC_IO_ERROR, Err);
    return compile(Path, std::string(Bytes.begin(), Bytes.end()), Options, Out);
  });
}

gradc_status gradc_compile_string(const char *Source, const char *Filename,
                                  const gradc_options *Options,
                                  gradc_model **Out) {
  return guard([&] {
    GRADC_CHECK_ARG(Out, "gradc_compile_string: out is NULL");
    *Out = nullptr;
    GRADC_CHECK_ARG(Source, "gradc_compile_string: source is NULL");
    return compile(Filename ? Filename : "<string>", Source, Options, Out);
  });
}

void gradc_model_free(gradc_model *M) { delete M; }

const char *gradc_model_name(const gradc_model *M) {
  return M ? M->X->module().Name.c_str() : "";
}
int64_t gradc_batch_size(const gradc_model *M) { return M ? M->X->batchSize() : 0; }
int gradc_can_train(const gradc_model *M) {
  return M && M->X->hasEntry(Entry::TrainStep);
}

size_t gradc_num_inputs(const gradc_model *M) { return M ? M->X->inputs().size() : 0; }
gradc_status gradc_input_info(const gradc_model *M, size_t I, gradc_tensor_info *Out) {
  return guard([&] {
    GRADC_CHECK_ARG(M, "gradc_input_info: model is NULL");
    return infoAt(M->X->inputs(), I, Out, "input");
  });
}
size_t gradc_num_outputs(const gradc_model *M) { return M ? M->X->outputs().size() : 0; }
gradc_status gradc_output_info(const gradc_model *M, size_t I,
                               gradc_tensor_info *Out) {
  return guard([&] {
    GRADC_CHECK_ARG(M, "gradc_output_info: model is NULL");
    return infoAt(M->X->outputs(), I, Out, "output");
  });
}
size_t gradc_num_tensors(const gradc_model *M) {
  return M ? M->X->stateTensors().size() : 0;
}
gradc_status gradc_tensor_info_at(const gradc_model *M, size_t I,
                                  gradc_tensor_info *Out) {
  return guard([&] {
    GRADC_CHECK_ARG(M, "gradc_tensor_info_at: model is NULL");
    return infoAt(M->X->stateTensors(), I, Out, "tensor");
  });
}
gradc_status gradc_find_tensor(const gradc_model *M, const char *Name,
                               gradc_tensor_info *Out) {
  return guard([&] {
    GRADC_CHECK_ARG(M && Name && Out, "gradc_find_tensor: a NULL argument");
    const TensorInfo *T = M->X->findState(Name);
    if (!T)
      return fail(GRADC_NOT_FOUND, fmt::format("the model has no tensor '{}'", Name));
    describe(*T, Out);
    return GRADC_OK;
  });
}
size_t gradc_num_metrics(const gradc_model *M) {
  return M ? M->X->metricNames().size() : 0;
}
const char *gradc_metric_name(const gradc_model *M, size_t I) {
  return M && I < M->X->metricNames().size() ? M->X->metricNames()[I].c_str()
                                             : nullptr;
}

gradc_status gradc_bind_input(gradc_model *M, const char *Name, const void *Data,
                              size_t Bytes) {
  return guard([&] {
    GRADC_CHECK_ARG(M && Name && Data, "gradc_bind_input: a NULL argument");
    std::span<const TensorInfo> In = M->X->inputs();
    for (size_t I = 0; I < In.size(); ++I)
      if (In[I].Name == Name) {
        if (gradc_status S = checkSize("input", Name, In[I].Type, Bytes))
          return S;
        M->Bound[I] = Data;
        return GRADC_OK;
      }
    return fail(GRADC_NOT_FOUND, fmt::format("the model has no input '{}' (inputs: {})",
                                             Name, names(In)));
  });
}

gradc_status gradc_init(gradc_model *M, uint64_t Seed) {
  return guard([&] {
    GRADC_CHECK_ARG(M, "gradc_init: model is NULL");
    M->X->initialize(Seed);
    return GRADC_OK;
  });
}

gradc_status gradc_train_step(gradc_model *M, double Lr, double *Loss) {
  return guard([&] {
    GRADC_CHECK_ARG(M, "gradc_train_step: model is NULL");
    const ir::Module &Mod = M->X->module();
    if (!M->X->hasEntry(Entry::TrainStep) || !Mod.Train)
      return fail(GRADC_UNSUPPORTED,
                  fmt::format("model '{}' has no train block", Mod.Name));
    GRADC_CHECK_ARG(!std::isinf(Lr), "gradc_train_step: lr is infinite");
    if (gradc_status S = inputsFor(M, Entry::TrainStep))
      return S;
    std::optional<double> Base;
    if (Lr > 0)
      Base = Lr;
    double Rate = runtime::learningRate(*Mod.Train, Base, M->X->step());
    double L = 0;
    std::string Err;
    if (!M->X->trainStep(M->Bound, Rate, L, Err))
      return fail(GRADC_RUNTIME_ERROR, Err);
    if (Loss)
      *Loss = L;
    return GRADC_OK;
  });
}

gradc_status gradc_eval(gradc_model *M, double *Loss, double *Metrics,
                        size_t NumMetrics) {
  return guard([&] {
    GRADC_CHECK_ARG(M, "gradc_eval: model is NULL");
    size_t Want = M->X->metricNames().size();
    if (NumMetrics != Want)
      return fail(GRADC_SIZE_MISMATCH,
                  fmt::format("gradc_eval: the model has {} metrics, not {}", Want,
                              NumMetrics));
    GRADC_CHECK_ARG(Metrics || Want == 0, "gradc_eval: metrics is NULL");
    if (gradc_status S = inputsFor(M, Entry::Eval))
      return S;
    double L = 0;
    std::vector<double> V;
    std::string Err;
    if (!M->X->eval(M->Bound, L, V, Err))
      return fail(GRADC_RUNTIME_ERROR, Err);
    if (Loss)
      *Loss = L;
    std::copy(V.begin(), V.end(), Metrics);
    return GRADC_OK;
  });
}

gradc_status gradc_predict(gradc_model *M) {
  return guard([&] {
    GRADC_CHECK_ARG(M, "gradc_predict: model is NULL");
    if (gradc_status S = inputsFor(M, Entry::Predict))
      return S;
    std::string Err;
    M->Predicted = false;
    if (!M->X->predict(M->Bound, M->Outputs, Err))
      return fail(GRADC_RUNTIME_ERROR, Err);
    M->Predicted = true;
    return GRADC_OK;
  });
}

gradc_status gradc_read_output(const gradc_model *M, const char *Name, void *Data,
                               size_t Bytes) {
  return guard([&] {
    GRADC_CHECK_ARG(M && Name && Data, "gradc_read_output: a NULL argument");
    std::span<const TensorInfo> Outs = M->X->outputs();
    for (size_t I = 0; I < Outs.size(); ++I) {
      if (Outs[I].Name != Name)
        continue;
      if (gradc_status S = checkSize("output", Name, Outs[I].Type, Bytes))
        return S;
      if (!M->Predicted)
        return fail(GRADC_NOT_READY,
                    "gradc_read_output: no outputs yet (call gradc_predict first)");
      std::memcpy(Data, M->Outputs[I].Bytes.data(), Bytes);
      return GRADC_OK;
    }
    return fail(GRADC_NOT_FOUND, fmt::format("the model has no output '{}' (outputs: {})",
                                             Name, names(Outs)));
  });
}

gradc_status gradc_read_tensor(const gradc_model *M, const char *Name, void *Data,
                               size_t Bytes) {
  return guard([&] {
    GRADC_CHECK_ARG(M && Name && Data, "gradc_read_tensor: a NULL argument");
    const TensorInfo *T = M->X->findState(Name);
    if (!T)
      return fail(GRADC_NOT_FOUND, fmt::format("the model has no tensor '{}'", Name));
    if (gradc_status S = checkSize("tensor", Name, T->Type, Bytes))
      return S;
    M->X->readState(Name, Data);
    return GRADC_OK;
  });
}

gradc_status gradc_write_tensor(gradc_model *M, const char *Name, const void *Data,
                                size_t Bytes) {
  return guard([&] {
    GRADC_CHECK_ARG(M && Name && Data, "gradc_write_tensor: a NULL argument");
    const TensorInfo *T = M->X->findState(Name);
    if (!T)
      return fail(GRADC_NOT_FOUND, fmt::format("the model has no tensor '{}'", Name));
    if (gradc_status S = checkSize("tensor", Name, T->Type, Bytes))
      return S;
    M->X->writeState(Name, Data);
    return GRADC_OK;
  });
}

int64_t gradc_step(const gradc_model *M) { return M ? M->X->step() : 0; }

gradc_status gradc_set_step(gradc_model *M, int64_t Step) {
  return guard([&] {
    GRADC_CHECK_ARG(M, "gradc_set_step: model is NULL");
    GRADC_CHECK_ARG(Step >= 0, "gradc_set_step: the step is negative");
    M->X->setStep(Step);
    return GRADC_OK;
  });
}

gradc_status gradc_save(const gradc_model *M, const char *Path) {
  return guard([&] {
    GRADC_CHECK_ARG(M && Path, "gradc_save: a NULL argument");
    std::string Err;
    if (!runtime::saveState(*M->X, Path, Err))
      return fail(GRADC_IO_ERROR, Err);
    return GRADC_OK;
  });
}

gradc_status gradc_load(gradc_model *M, const char *Path) {
  return guard([&] {
    GRADC_CHECK_ARG(M && Path, "gradc_load: a NULL argument");
    std::string Err;
    // Unreadable is an I/O error; readable but unfit a checkpoint error.
    if (!std::ifstream(Path, std::ios::binary))
      return fail(GRADC_IO_ERROR, fmt::format("cannot read '{}': {}", Path,
                                              std::strerror(errno)));
    std::vector<std::string> Warnings;
    if (!runtime::loadState(*M->X, Path, runtime::LoadMode::Load, Warnings, Err))
      return fail(GRADC_CHECKPOINT_ERROR, Err);
    return GRADC_OK;
  });
}

} // extern "C"
