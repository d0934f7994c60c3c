//===- runtime/StateIO.cpp - State to and from checkpoints ----------------===//
//
// The bridge between Executable::readState/writeState and the safetensors
// reader and writer of Checkpoint.h; the policy is in StateIO.h.
//
//===----------------------------------------------------------------------===//
#include "runtime/StateIO.h"

#include "runtime/Checkpoint.h"

#include <charconv>
#include <fmt/format.h>

namespace gradc::runtime {

bool saveState(const Executable &X, const std::string &Path, std::string &Err) {
  Checkpoint C;
  for (const TensorInfo &T : X.stateTensors()) {
    NamedTensor N{T.Name, T.Type.Elt, T.Type.Dims, {}};
    N.Bytes.resize(static_cast<size_t>(T.Type.numElements()) *
                   ir::dtypeSize(T.Type.Elt));
    X.readState(T.Name, N.Bytes.data());
    C.Tensors.push_back(std::move(N));
  }
  C.Metadata["step"] = std::to_string(X.step());
  return saveCheckpoint(Path, C, Err);
}

static bool parseStep(std::string_view S, int64_t &Out) {
  auto [P, Ec] = std::from_chars(S.data(), S.data() + S.size(), Out);
  return Ec == std::errc() && P == S.data() + S.size() && Out >= 0;
}

bool loadState(Executable &X, const std::string &Path, LoadMode Mode,
               std::vector<std::string> &Warnings, std::string &Err) {
  Checkpoint C;
  if (!loadCheckpoint(Path, C, Err))
    return false;
  // Check everything before writing anything.
  std::vector<const NamedTensor *> Known;
  for (const NamedTensor &T : C.Tensors) {
    const TensorInfo *Info = X.findState(T.Name);
    if (!Info) {
      Warnings.push_back(fmt::format(
          "{}: the model has no tensor '{}'; it is ignored", Path, T.Name));
      continue;
    }
    ir::TensorType Have(T.Type, T.Dims);
    if (Have != Info->Type) {
      Err = fmt::format("{}: tensor '{}' is {} in the file but {} in the "
                        "model",
                        Path, T.Name, ir::formatType(Have),
                        ir::formatType(Info->Type));
      return false;
    }
    Known.push_back(&T);
  }
  if (Mode == LoadMode::Load)
    for (const TensorInfo &T : X.stateTensors()) {
      if (T.Name.rfind("optimizer/", 0) == 0 || C.find(T.Name))
        continue;
      Err = fmt::format("{}: has no tensor '{}', which the model needs", Path,
                        T.Name);
      return false;
    }
  int64_t Step = X.step();
  if (auto It = C.Metadata.find("step");
      It != C.Metadata.end() && !parseStep(It->second, Step)) {
    Err = fmt::format("{}: the metadata \"step\" is \"{}\", not a step count",
                      Path, It->second);
    return false;
  }
  for (const NamedTensor *T : Known)
    X.writeState(T->Name, T->Bytes.data());
  X.setStep(Step);
  return true;
}

} // namespace gradc::runtime
