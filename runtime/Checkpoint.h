//===- runtime/Checkpoint.h - safetensors checkpoints -------------*- C++
//-*-===//
//
// Checkpoints are safetensors files (SPEC §3 "Checkpoints"):
//
//   8 bytes    little-endian u64 N, the length of the header
//   N bytes    JSON: {"__metadata__": {"step": "10"},
//                     "W1": {"dtype": "F32", "shape": [784, 128],
//                            "data_offsets": [0, 401408]}, ...}
//              padded with spaces to a multiple of 8
//   the data   every tensor's bytes, little-endian, C order, contiguous
//
// Saving writes a temporary file next to the target, fsyncs it and renames it,
// so a crash never leaves a torn checkpoint and an old one is replaced only on
// success. Loading validates everything (header length, JSON, dtypes, shapes,
// offsets in bounds, contiguous, matching the sizes, no duplicate names) and
// every error names the file and, where there is one, the tensor.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Types.h"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace gradc::runtime {

/// One tensor: its name, type and bytes (native byte order, C order).
struct NamedTensor {
  std::string Name;
  ir::DType Type = ir::DType::F32;
  std::vector<int64_t> Dims;
  std::vector<uint8_t> Bytes;
};

struct Checkpoint {
  /// Loaded in the order of their data in the file.
  std::vector<NamedTensor> Tensors;
  /// The "__metadata__" strings, e.g. {"step": "10"}.
  std::map<std::string, std::string> Metadata;

  /// The tensor called \p Name, or null.
  const NamedTensor *find(std::string_view Name) const;
};

/// "F32", "F64", "I32": the safetensors name of \p T.
std::string_view safetensorsDTypeName(ir::DType T);

/// Writes \p C to \p Path atomically. Tensors are laid out by element size
/// (largest first, so each is aligned to its size) and then by name, as
/// Python's safetensors does. Fails on duplicate or empty names, a tensor
/// whose byte count does not match its type, or any I/O error.
bool saveCheckpoint(const std::string &Path, const Checkpoint &C,
                    std::string &Err);

/// Reads and validates \p Path into \p C. Accepts F32, F64 and I32 tensors,
/// and I64 tensors whose values all fit in int32 (loaded as I32).
bool loadCheckpoint(const std::string &Path, Checkpoint &C, std::string &Err);

} // namespace gradc::runtime
