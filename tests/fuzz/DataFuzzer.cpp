// libFuzzer target: any bytes as a data file (named .npy, .csv and with no
// extension) and as a safetensors checkpoint. Loading must fail with an error
// or succeed; what loads must survive the feed checks and a gather, and a
// loaded checkpoint must save and load back to the same tensors.
#include "runtime/Checkpoint.h"
#include "runtime/Data.h"

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <unistd.h>

using namespace gradc;
using namespace gradc::runtime;

namespace {

/// A private directory for this process's files, made once and removed at
/// exit (kept alive until then on purpose).
const std::string &tempDir() {
  static const std::string *Dir = [] {
    std::string Template = "/tmp/gradc-data-fuzz-XXXXXX";
    if (!::mkdtemp(Template.data()))
      std::abort();
    auto *D = new std::string(Template);
    std::atexit([] { std::filesystem::remove_all(tempDir()); });
    return D;
  }();
  return *Dir;
}

std::string writeTemp(const std::string &Name, const uint8_t *Data,
                      size_t Size) {
  std::string Path = tempDir() + "/" + Name;
  FILE *F = std::fopen(Path.c_str(), "wb");
  if (!F)
    std::abort();
  if (Size && std::fwrite(Data, 1, Size, F) != Size)
    std::abort();
  std::fclose(F);
  return Path;
}

void exerciseData(const DataArray &A) {
  std::string Err;
  int64_t Row = A.rowElements();
  if (Row <= 0 || Row > (1 << 20))
    return;
  for (ir::DType T : {ir::DType::F32, ir::DType::F64, ir::DType::I32}) {
    checkFeeds(A, T, {Row}, Err);
    int64_t Rows[] = {0, A.numExamples() - 1};
    std::vector<uint8_t> Out(2 * static_cast<size_t>(Row) * 8);
    gatherRows(A, Rows, T, Out.data());
  }
}

void exerciseCheckpoint(const std::string &Path) {
  Checkpoint C;
  std::string Err;
  if (!loadCheckpoint(Path, C, Err))
    return;
  std::string Again = tempDir() + "/again.safetensors";
  if (!saveCheckpoint(Again, C, Err))
    std::abort();
  Checkpoint D;
  if (!loadCheckpoint(Again, D, Err) || D.Metadata != C.Metadata ||
      D.Tensors.size() != C.Tensors.size())
    std::abort();
  for (const NamedTensor &T : C.Tensors) {
    const NamedTensor *U = D.find(T.Name);
    if (!U || U->Type != T.Type || U->Dims != T.Dims || U->Bytes != T.Bytes)
      std::abort();
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *Data, size_t Size) {
  for (const char *Name : {"in.npy", "in.csv", "in"}) {
    DataArray A;
    std::string Err;
    bool Ok = loadData(writeTemp(Name, Data, Size), A, Err);
    if (!Ok && Err.empty())
      std::abort(); // a failure always says why
    if (Ok)
      exerciseData(A);
  }
  exerciseCheckpoint(writeTemp("in.safetensors", Data, Size));
  return 0;
}
