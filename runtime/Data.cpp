//===- runtime/Data.cpp - Example data: .npy, IDX, .csv
//--------------------===//
//
// Format detection, the feed checks and conversions, the seeded shuffle and
// the .npy writer. The readers themselves are in DataFormats.cpp; Data.h has
// the contract.
//
//===----------------------------------------------------------------------===//
#include "runtime/Data.h"

#include "runtime/DataFormats.h"
#include "runtime/FileIO.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <fmt/format.h>
#include <limits>
#include <numeric>

namespace gradc::runtime {

std::string_view elementKindName(ElementKind K) {
  switch (K) {
  case ElementKind::U8:
    return "u8";
  case ElementKind::I8:
    return "i8";
  case ElementKind::I16:
    return "i16";
  case ElementKind::I32:
    return "i32";
  case ElementKind::I64:
    return "i64";
  case ElementKind::F32:
    return "f32";
  case ElementKind::F64:
    return "f64";
  }
  return "?";
}

size_t elementKindSize(ElementKind K) {
  switch (K) {
  case ElementKind::U8:
  case ElementKind::I8:
    return 1;
  case ElementKind::I16:
    return 2;
  case ElementKind::I32:
  case ElementKind::F32:
    return 4;
  case ElementKind::I64:
  case ElementKind::F64:
    return 8;
  }
  return 1;
}

int64_t DataArray::rowElements() const {
  int64_t N = 1;
  for (size_t I = 1; I < Dims.size(); ++I)
    N *= Dims[I];
  return N;
}

int64_t DataArray::numElements() const {
  int64_t N = 1;
  for (int64_t D : Dims)
    N *= D;
  return N;
}

std::string DataArray::describe() const {
  return fmt::format("{}{}", elementKindName(Kind), ir::formatShape(Dims));
}

namespace {

/// Calls \p F with a value of the C++ type that stores \p K.
template <typename Fn> void visitKind(ElementKind K, Fn &&F) {
  switch (K) {
  case ElementKind::U8:
    return F(uint8_t{});
  case ElementKind::I8:
    return F(int8_t{});
  case ElementKind::I16:
    return F(int16_t{});
  case ElementKind::I32:
    return F(int32_t{});
  case ElementKind::I64:
    return F(int64_t{});
  case ElementKind::F32:
    return F(float{});
  case ElementKind::F64:
    return F(double{});
  }
}

bool endsWith(std::string_view S, std::string_view Suffix) {
  if (S.size() < Suffix.size())
    return false;
  for (size_t I = 0; I < Suffix.size(); ++I)
    if (std::tolower(static_cast<unsigned char>(
            S[S.size() - Suffix.size() + I])) != Suffix[I])
      return false;
  return true;
}

//===----------------------------------------------------------------------===//
// Conversions
//===----------------------------------------------------------------------===//

template <typename T> T loadAt(const uint8_t *P) {
  T V;
  std::memcpy(&V, P, sizeof(T));
  return V;
}

/// Converts \p V to int32 when it is integral and in range.
template <typename T> bool toInt32(T V, int32_t &Out) {
  if constexpr (std::is_floating_point_v<T>) {
    if (!std::isfinite(V) || V != std::trunc(V) || V < -2147483648.0 ||
        V > 2147483647.0)
      return false;
  } else {
    if (V < std::numeric_limits<int32_t>::min() ||
        V > std::numeric_limits<int32_t>::max())
      return false;
  }
  Out = static_cast<int32_t>(V);
  return true;
}

template <typename Src, typename Dst>
void convertRow(const uint8_t *From, Dst *To, int64_t N) {
  for (int64_t I = 0; I < N; ++I) {
    Src V = loadAt<Src>(From + I * sizeof(Src));
    if constexpr (std::is_same_v<Dst, int32_t>) {
      int32_t W = 0;
      toInt32(V, W);
      To[I] = W;
    } else {
      To[I] = static_cast<Dst>(V);
    }
  }
}

} // namespace

bool loadData(const std::string &Path, DataArray &Out, std::string &Err) {
  Out = DataArray();
  Out.Path = Path;
  if (!readFile(Path, Out.Bytes, Err))
    return false;
  bool Ok;
  if (detail::isIdx(Out.Bytes))
    Ok = detail::loadIdx(Out, Err);
  else if (endsWith(Path, ".npy"))
    Ok = detail::loadNpy(Out, Err);
  else if (endsWith(Path, ".csv"))
    Ok = detail::loadCsv(Out, Err);
  else {
    Err = fmt::format("cannot tell the format of '{}' (expected .npy, .csv or "
                      "an IDX file)",
                      Path);
    Ok = false;
  }
  if (Ok && Out.numExamples() == 0) {
    Err = fmt::format("{}: holds no examples ({})", Path, Out.describe());
    Ok = false;
  }
  if (!Ok) {
    Out.Bytes.clear();
    Out.Bytes.shrink_to_fit();
    Out.Dims.clear();
  }
  return Ok;
}

bool checkFeeds(const DataArray &A, ir::DType Target,
                const ir::Shape &InputShapeWithoutBatch, std::string &Err,
                std::string_view InputName) {
  int64_t Want;
  bool ShapeOk = detail::checkedProduct(InputShapeWithoutBatch, Want);
  std::string InputDesc =
      fmt::format("{}[B{}{}]", ir::dtypeName(Target),
                  InputShapeWithoutBatch.empty() ? "" : ", ",
                  fmt::join(InputShapeWithoutBatch, ", "));
  std::string Input = InputName.empty()
                          ? fmt::format("the input {}", InputDesc)
                          : fmt::format("input '{}' {}", InputName, InputDesc);
  if (!ShapeOk || A.rowElements() != Want) {
    Err = fmt::format("{}: holds {} ({} values per example) but {} takes {} "
                      "values per example",
                      A.Path, A.describe(), A.rowElements(), Input,
                      ShapeOk ? Want : -1);
    return false;
  }
  if (Target != ir::DType::I32)
    return true;
  int64_t N = A.numElements();
  int64_t Row = std::max<int64_t>(A.rowElements(), 1);
  bool Ok = true;
  visitKind(A.Kind, [&](auto Tag) {
    using T = decltype(Tag);
    if constexpr (sizeof(T) < 4 || std::is_same_v<T, int32_t>)
      return;
    else {
      for (int64_t I = 0; I < N; ++I) {
        T V = loadAt<T>(A.Bytes.data() + I * sizeof(T));
        int32_t W;
        if (toInt32(V, W))
          continue;
        bool Integral = true;
        if constexpr (std::is_floating_point_v<T>)
          Integral = std::isfinite(V) && V == std::trunc(V);
        Err = fmt::format("{}: example {}: value {} cannot feed {}: {}", A.Path,
                          I / Row, V, Input,
                          Integral ? "it is outside the int32 range"
                                   : "it is not an integer");
        Ok = false;
        return;
      }
    }
  });
  return Ok;
}

bool checkSameExamples(std::span<const DataArray *const> Arrays,
                       std::string &Err) {
  for (const DataArray *A : Arrays) {
    if (A->numExamples() != Arrays[0]->numExamples()) {
      Err = fmt::format("{} holds {} examples but {} holds {}; all data files "
                        "of a run must hold the same number",
                        Arrays[0]->Path, Arrays[0]->numExamples(), A->Path,
                        A->numExamples());
      return false;
    }
  }
  return true;
}

void gatherRows(const DataArray &A, std::span<const int64_t> Rows,
                ir::DType Target, void *Out) {
  int64_t Row = A.rowElements();
  size_t SrcSize = elementKindSize(A.Kind);
  size_t RowBytes = static_cast<size_t>(Row) * SrcSize;
  bool SameType = (Target == ir::DType::F32 && A.Kind == ElementKind::F32) ||
                  (Target == ir::DType::F64 && A.Kind == ElementKind::F64) ||
                  (Target == ir::DType::I32 && A.Kind == ElementKind::I32);
  for (size_t I = 0; I < Rows.size(); ++I) {
    int64_t R = Rows[I];
    assert(R >= 0 && R < A.numExamples() && "row out of range");
    const uint8_t *From = A.Bytes.data() + static_cast<size_t>(R) * RowBytes;
    if (SameType) {
      std::memcpy(static_cast<uint8_t *>(Out) + I * RowBytes, From, RowBytes);
      continue;
    }
    visitKind(A.Kind, [&](auto Tag) {
      using S = decltype(Tag);
      switch (Target) {
      case ir::DType::F32:
        convertRow<S>(From, static_cast<float *>(Out) + I * Row, Row);
        break;
      case ir::DType::F64:
        convertRow<S>(From, static_cast<double *>(Out) + I * Row, Row);
        break;
      case ir::DType::I32:
        convertRow<S>(From, static_cast<int32_t *>(Out) + I * Row, Row);
        break;
      }
    });
  }
}

//===----------------------------------------------------------------------===//
// Shuffling and batches
//===----------------------------------------------------------------------===//

namespace {

/// splitmix64 (Steele, Lea and Flood): a tiny, fixed, well-mixed generator.
class SplitMix64 {
public:
  explicit SplitMix64(uint64_t Seed) : State(Seed) {}
  uint64_t next() {
    uint64_t Z = (State += 0x9E3779B97F4A7C15ull);
    Z = (Z ^ (Z >> 30)) * 0xBF58476D1CE4E5B9ull;
    Z = (Z ^ (Z >> 27)) * 0x94D049BB133111EBull;
    return Z ^ (Z >> 31);
  }
  /// Uniform in [0, N), N > 0, by rejecting the biased low range.
  uint64_t below(uint64_t N) {
    uint64_t Threshold = (0 - N) % N;
    while (true) {
      uint64_t R = next();
      if (R >= Threshold)
        return R % N;
    }
  }

private:
  uint64_t State;
};

} // namespace

uint64_t mixSeed(uint64_t Seed, uint64_t Stream) {
  SplitMix64 G(Seed ^ (Stream * 0xD1B54A32D192ED03ull));
  G.next();
  return G.next();
}

std::vector<int64_t> shuffledOrder(int64_t N, uint64_t Seed) {
  std::vector<int64_t> Order(static_cast<size_t>(std::max<int64_t>(N, 0)));
  std::iota(Order.begin(), Order.end(), int64_t(0));
  SplitMix64 G(Seed);
  for (int64_t I = N - 1; I > 0; --I)
    std::swap(Order[I], Order[G.below(static_cast<uint64_t>(I) + 1)]);
  return Order;
}

std::vector<std::vector<int64_t>>
makeBatches(int64_t N, int64_t B, bool Shuffle, uint64_t Seed, bool DropLast) {
  std::vector<std::vector<int64_t>> Batches;
  if (B <= 0 || N <= 0)
    return Batches;
  std::vector<int64_t> Order;
  if (Shuffle)
    Order = shuffledOrder(N, Seed);
  else {
    Order.resize(static_cast<size_t>(N));
    std::iota(Order.begin(), Order.end(), int64_t(0));
  }
  for (int64_t Begin = 0; Begin < N; Begin += B) {
    int64_t End = std::min(N, Begin + B);
    if (End - Begin < B && DropLast)
      break;
    Batches.emplace_back(Order.begin() + Begin, Order.begin() + End);
  }
  return Batches;
}

//===----------------------------------------------------------------------===//
// .npy output
//===----------------------------------------------------------------------===//

bool writeNpy(const std::string &Path, ir::DType Type,
              const std::vector<int64_t> &Dims, const void *Data,
              std::string &Err) {
  int64_t N;
  if (!detail::checkedProduct(Dims, N)) {
    Err = fmt::format("{}: cannot write shape {}", Path, ir::formatShape(Dims));
    return false;
  }
  std::string_view Descr = Type == ir::DType::F32   ? "<f4"
                           : Type == ir::DType::F64 ? "<f8"
                                                    : "<i4";
  std::string ShapeText;
  if (Dims.size() == 1)
    ShapeText = fmt::format("({},)", Dims[0]);
  else
    ShapeText = fmt::format("({})", fmt::join(Dims, ", "));
  std::string Header =
      fmt::format("{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
                  Descr, ShapeText);
  // Pad with spaces so that the data starts at a multiple of 64 bytes.
  size_t Total = 10 + Header.size() + 1;
  Header.append((64 - Total % 64) % 64, ' ');
  Header.push_back('\n');
  if (Header.size() > 0xFFFF) {
    Err = fmt::format("{}: the .npy header would be too long", Path);
    return false;
  }
  std::vector<uint8_t> Pre = {0x93,
                              'N',
                              'U',
                              'M',
                              'P',
                              'Y',
                              1,
                              0,
                              uint8_t(Header.size() & 0xFF),
                              uint8_t(Header.size() >> 8)};
  Pre.insert(Pre.end(), Header.begin(), Header.end());
  size_t DataBytes = static_cast<size_t>(N) * ir::dtypeSize(Type);
  assert((Data || DataBytes == 0) && "no data to write");
  std::span<const uint8_t> Body(static_cast<const uint8_t *>(Data),
                                Data ? DataBytes : 0);
  std::vector<uint8_t> Swapped;
  if (!HostIsLittleEndian) {
    Swapped.assign(Body.begin(), Body.end());
    swapByteOrder(Swapped, ir::dtypeSize(Type));
    Body = Swapped;
  }
  std::span<const uint8_t> Parts[] = {Pre, Body};
  return writeFileAtomically(Path, Parts, Err);
}

} // namespace gradc::runtime
