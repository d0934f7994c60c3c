//===- runtime/Checkpoint.cpp - safetensors checkpoints
//--------------------===//
//
// The safetensors writer and reader. The header is parsed by the strict JSON
// parser in Json.h and then checked field by field.
//
//===----------------------------------------------------------------------===//
#include "runtime/Checkpoint.h"

#include "runtime/FileIO.h"
#include "runtime/Json.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <fmt/format.h>
#include <numeric>
#include <set>
#include <tuple>

namespace gradc::runtime {

namespace {

/// The reference implementation refuses headers over 100 MB; so do we.
constexpr uint64_t MaxHeaderBytes = 100'000'000;

//===----------------------------------------------------------------------===//
// Types
//===----------------------------------------------------------------------===//

/// A tensor's dtype as stored: one of ours, or I64.
struct StoredType {
  ir::DType Type;
  bool IsI64;
  size_t size() const { return IsI64 ? 8 : ir::dtypeSize(Type); }
};

bool parseStoredType(std::string_view Name, StoredType &Out) {
  if (Name == "F32")
    Out = {ir::DType::F32, false};
  else if (Name == "F64")
    Out = {ir::DType::F64, false};
  else if (Name == "I32")
    Out = {ir::DType::I32, false};
  else if (Name == "I64")
    Out = {ir::DType::I32, true};
  else
    return false;
  return true;
}

/// The byte count of \p Elt-byte elements over \p Dims, or false when a
/// dimension is negative or the count is absurd.
bool byteCount(const std::vector<int64_t> &Dims, size_t Elt, uint64_t &Out) {
  uint64_t N = 1;
  bool Zero = false;
  for (int64_t D : Dims) {
    if (D < 0 || D > ir::MaxElements)
      return false;
    if (D == 0)
      Zero = true;
    else if (N > uint64_t(ir::MaxElements) / uint64_t(D))
      return false;
    else
      N *= uint64_t(D);
  }
  Out = Zero ? 0 : N * Elt;
  return true;
}

} // namespace

const NamedTensor *Checkpoint::find(std::string_view Name) const {
  for (const NamedTensor &T : Tensors)
    if (T.Name == Name)
      return &T;
  return nullptr;
}

std::string_view safetensorsDTypeName(ir::DType T) {
  switch (T) {
  case ir::DType::F32:
    return "F32";
  case ir::DType::F64:
    return "F64";
  case ir::DType::I32:
    return "I32";
  }
  return "?";
}

bool saveCheckpoint(const std::string &Path, const Checkpoint &C,
                    std::string &Err) {
  std::set<std::string_view> Names;
  for (const NamedTensor &T : C.Tensors) {
    uint64_t Want;
    if (T.Name.empty() || T.Name == "__metadata__" || !isValidUtf8(T.Name)) {
      Err = fmt::format("{}: cannot save a tensor named '{}'", Path, T.Name);
      return false;
    }
    if (!Names.insert(T.Name).second) {
      Err = fmt::format("{}: tensor '{}' appears twice", Path, T.Name);
      return false;
    }
    if (!byteCount(T.Dims, ir::dtypeSize(T.Type), Want) ||
        Want != T.Bytes.size()) {
      Err = fmt::format("{}: tensor '{}': {} bytes do not match {}{}", Path,
                        T.Name, T.Bytes.size(), safetensorsDTypeName(T.Type),
                        ir::formatShape(T.Dims));
      return false;
    }
  }
  for (const auto &[K, V] : C.Metadata) {
    if (!isValidUtf8(K) || !isValidUtf8(V)) {
      Err = fmt::format("{}: metadata '{}' is not valid UTF-8", Path, K);
      return false;
    }
  }

  // Largest elements first, then by name: every tensor stays aligned.
  std::vector<size_t> Order(C.Tensors.size());
  std::iota(Order.begin(), Order.end(), size_t(0));
  std::sort(Order.begin(), Order.end(), [&](size_t A, size_t B) {
    const NamedTensor &TA = C.Tensors[A], &TB = C.Tensors[B];
    size_t SA = ir::dtypeSize(TA.Type), SB = ir::dtypeSize(TB.Type);
    if (SA != SB)
      return SA > SB;
    return TA.Name < TB.Name;
  });

  std::string Header = "{";
  bool First = true;
  if (!C.Metadata.empty()) {
    Header += "\"__metadata__\":{";
    for (const auto &[K, V] : C.Metadata) {
      if (!First)
        Header += ',';
      First = false;
      appendJsonString(Header, K);
      Header += ':';
      appendJsonString(Header, V);
    }
    Header += '}';
    First = false;
  }
  uint64_t Offset = 0;
  for (size_t I : Order) {
    const NamedTensor &T = C.Tensors[I];
    if (!First)
      Header += ',';
    First = false;
    appendJsonString(Header, T.Name);
    Header += fmt::format(
        ":{{\"dtype\":\"{}\",\"shape\":[{}],\"data_offsets\":[{},{}]}}",
        safetensorsDTypeName(T.Type), fmt::join(T.Dims, ","), Offset,
        Offset + T.Bytes.size());
    Offset += T.Bytes.size();
  }
  Header += '}';
  Header.append((8 - Header.size() % 8) % 8, ' ');

  uint8_t Len[8];
  for (int I = 0; I < 8; ++I)
    Len[I] = uint8_t(uint64_t(Header.size()) >> (8 * I));
  std::vector<std::span<const uint8_t>> Parts;
  Parts.emplace_back(Len, 8);
  Parts.emplace_back(reinterpret_cast<const uint8_t *>(Header.data()),
                     Header.size());
  std::vector<std::vector<uint8_t>> Swapped;
  if (!HostIsLittleEndian)
    Swapped.reserve(Order.size());
  for (size_t I : Order) {
    const NamedTensor &T = C.Tensors[I];
    if (HostIsLittleEndian) {
      Parts.emplace_back(T.Bytes);
    } else {
      Swapped.push_back(T.Bytes);
      swapByteOrder(Swapped.back(), ir::dtypeSize(T.Type));
      Parts.emplace_back(Swapped.back());
    }
  }
  return writeFileAtomically(Path, Parts, Err);
}

bool loadCheckpoint(const std::string &Path, Checkpoint &C, std::string &Err) {
  C = Checkpoint();
  std::vector<uint8_t> File;
  if (!readFile(Path, File, Err))
    return false;
  auto Fail = [&](std::string Msg) {
    Err = fmt::format("{}: {}", Path, Msg);
    C = Checkpoint();
    return false;
  };
  if (File.size() < 8)
    return Fail(fmt::format("not a safetensors file: {} bytes is too short "
                            "for the 8-byte header length",
                            File.size()));
  uint64_t HeaderLen = 0;
  for (int I = 0; I < 8; ++I)
    HeaderLen |= uint64_t(File[I]) << (8 * I);
  if (HeaderLen == 0)
    return Fail("not a safetensors file: the header length is 0");
  if (HeaderLen > File.size() - 8)
    return Fail(fmt::format("not a safetensors file: the header length {} "
                            "exceeds the {} bytes that follow it",
                            HeaderLen, File.size() - 8));
  if (HeaderLen > MaxHeaderBytes)
    return Fail(fmt::format("the header length {} is over the limit of {}",
                            HeaderLen, MaxHeaderBytes));
  std::string_view HeaderText(reinterpret_cast<const char *>(File.data()) + 8,
                              HeaderLen);
  if (HeaderText[0] != '{')
    return Fail("not a safetensors file: the header does not start with '{'");
  JsonValue Root;
  std::string JsonErr;
  if (!parseJson(HeaderText, Root, JsonErr, "tensor name"))
    return Fail("malformed header JSON " + JsonErr);
  if (Root.Kind != JsonValue::Object)
    return Fail("the header is not a JSON object");

  uint64_t DataStart = 8 + HeaderLen;
  uint64_t DataSize = File.size() - DataStart;
  struct Entry {
    std::string Name;
    StoredType Type;
    std::vector<int64_t> Dims;
    uint64_t Begin, End;
  };
  std::vector<Entry> Entries;
  for (size_t I = 0; I < Root.Keys.size(); ++I) {
    const std::string &Name = Root.Keys[I];
    const JsonValue &V = Root.Items[I];
    if (Name == "__metadata__") {
      if (V.Kind != JsonValue::Object)
        return Fail("'__metadata__' is not an object");
      for (size_t J = 0; J < V.Keys.size(); ++J) {
        if (V.Items[J].Kind != JsonValue::String)
          return Fail(fmt::format("metadata '{}' is not a string", V.Keys[J]));
        C.Metadata[V.Keys[J]] = V.Items[J].Text;
      }
      continue;
    }
    auto Bad = [&](std::string_view Msg) {
      return Fail(fmt::format("tensor '{}': {}", Name, Msg));
    };
    if (V.Kind != JsonValue::Object)
      return Bad("its entry is not an object");
    for (const std::string &K : V.Keys)
      if (K != "dtype" && K != "shape" && K != "data_offsets")
        return Bad(fmt::format("unknown key '{}'", K));
    const JsonValue *DType = V.member("dtype");
    const JsonValue *Shape = V.member("shape");
    const JsonValue *Offsets = V.member("data_offsets");
    if (!DType || !Shape || !Offsets)
      return Bad("needs 'dtype', 'shape' and 'data_offsets'");
    Entry E;
    E.Name = Name;
    if (DType->Kind != JsonValue::String)
      return Bad("'dtype' is not a string");
    if (!parseStoredType(DType->Text, E.Type))
      return Bad(fmt::format("dtype '{}' is not supported (F32, F64, I32 or "
                             "I64)",
                             DType->Text));
    if (Shape->Kind != JsonValue::Array)
      return Bad("'shape' is not an array");
    for (const JsonValue &D : Shape->Items) {
      uint64_t N;
      if (!jsonToUInt(D, N) || N > uint64_t(ir::MaxElements))
        return Bad(
            fmt::format("'shape' holds {}, not a dimension size",
                        D.Kind == JsonValue::Number   ? D.Text.substr(0, 30)
                        : D.Kind == JsonValue::String ? "a string"
                                                      : "something else"));
      E.Dims.push_back(static_cast<int64_t>(N));
    }
    if (Offsets->Kind != JsonValue::Array || Offsets->Items.size() != 2 ||
        !jsonToUInt(Offsets->Items[0], E.Begin) ||
        !jsonToUInt(Offsets->Items[1], E.End))
      return Bad("'data_offsets' is not a pair of byte offsets");
    std::string TypeText = fmt::format(
        "{}{}", E.Type.IsI64 ? "I64" : safetensorsDTypeName(E.Type.Type),
        ir::formatShape(E.Dims));
    uint64_t Want;
    if (!byteCount(E.Dims, E.Type.size(), Want))
      return Bad(fmt::format("{} has too many elements", TypeText));
    if (E.End < E.Begin || E.End - E.Begin != Want)
      return Bad(fmt::format("data_offsets [{}, {}] do not match {} ({} bytes)",
                             E.Begin, E.End, TypeText, Want));
    if (E.End > DataSize)
      return Bad(fmt::format("data_offsets [{}, {}] run past the end of the "
                             "data ({} bytes)",
                             E.Begin, E.End, DataSize));
    Entries.push_back(std::move(E));
  }

  std::sort(Entries.begin(), Entries.end(), [](auto &A, auto &B) {
    return std::tie(A.Begin, A.End, A.Name) < std::tie(B.Begin, B.End, B.Name);
  });
  uint64_t Expected = 0;
  for (size_t I = 0; I < Entries.size(); ++I) {
    const Entry &E = Entries[I];
    if (E.Begin < Expected)
      return Fail(fmt::format("tensors '{}' and '{}' overlap in the data",
                              Entries[I - 1].Name, E.Name));
    if (E.Begin > Expected)
      return Fail(fmt::format("tensor '{}': its data starts at byte {}, but "
                              "the data before it ends at {} (safetensors "
                              "data must be contiguous)",
                              E.Name, E.Begin, Expected));
    Expected = E.End;
  }
  if (Expected != DataSize)
    return Fail(fmt::format("the data section has {} bytes but the tensors "
                            "cover {}",
                            DataSize, Expected));

  for (const Entry &E : Entries) {
    NamedTensor T;
    T.Name = E.Name;
    T.Type = E.Type.Type;
    T.Dims = E.Dims;
    const uint8_t *Src = File.data() + DataStart + E.Begin;
    if (!E.Type.IsI64) {
      T.Bytes.assign(Src, Src + (E.End - E.Begin));
      if (!HostIsLittleEndian)
        swapByteOrder(T.Bytes, ir::dtypeSize(T.Type));
    } else {
      uint64_t N = (E.End - E.Begin) / 8;
      T.Bytes.resize(N * 4);
      for (uint64_t J = 0; J < N; ++J) {
        uint64_t U = 0;
        for (int K = 0; K < 8; ++K)
          U |= uint64_t(Src[J * 8 + K]) << (8 * K);
        int64_t V = static_cast<int64_t>(U);
        if (V < INT32_MIN || V > INT32_MAX)
          return Fail(fmt::format("tensor '{}': I64 value {} at element {} "
                                  "does not fit in I32",
                                  E.Name, V, J));
        int32_t W = static_cast<int32_t>(V);
        std::memcpy(T.Bytes.data() + J * 4, &W, 4);
      }
    }
    C.Tensors.push_back(std::move(T));
  }
  return true;
}

} // namespace gradc::runtime
