//===- runtime/Data.h - Example data: .npy, IDX, .csv -------------*- C++
//-*-===//
//
// Loads the data files a run feeds to a model's inputs (SPEC §3 "Data"):
//
//   .npy   versions 1.0-3.0, little-endian or byte-order-free, C order;
//          u1, i4, i8, f4, f8
//   IDX    the MNIST format, recognized by its magic number whatever the file
//          is called; u8, i8, i16, i32, f32, f64, big-endian
//   .csv   numeric; one example per row; a first row with any non-numeric
//          cell is a header and skipped; values read as f64
//
// Axis 0 counts examples; the rest of an example must hold as many elements
// as the input's shape without its batch axis (an MNIST [N, 28, 28] file feeds
// f32[B, 784]). Values convert by value (u8 255 becomes 255.0f); feeding an i32
// input needs integral values within int32.
//
// Every error names the file (and the example, row or line where there is
// one). No file, however truncated or lying about its size, is read out of
// bounds: every size is checked against the file's size before it is used.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Types.h"

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace gradc::runtime {

/// The element type of a data file as stored.
enum class ElementKind : uint8_t { U8, I8, I16, I32, I64, F32, F64 };

/// "u8", "i8", "i16", "i32", "i64", "f32", "f64".
std::string_view elementKindName(ElementKind K);
size_t elementKindSize(ElementKind K);

/// A loaded data file: its elements in native byte order, C order.
struct DataArray {
  std::string Path;
  ElementKind Kind = ElementKind::F32;
  /// Rank >= 1; Dims[0] counts examples.
  std::vector<int64_t> Dims;
  std::vector<uint8_t> Bytes;

  int64_t numExamples() const { return Dims.empty() ? 0 : Dims[0]; }
  /// Elements per example: the product of Dims[1:] (1 for a 1-D file).
  int64_t rowElements() const;
  int64_t numElements() const;
  /// "u8[60000, 28, 28]".
  std::string describe() const;
};

/// Loads \p Path, telling the format by the IDX magic number first, then by
/// the extension (.npy, .csv). A file with no examples is an error.
bool loadData(const std::string &Path, DataArray &Out, std::string &Err);

/// Checks that \p A can feed an input of element type \p Target whose shape
/// without its batch axis is \p InputShapeWithoutBatch: the per-example
/// element counts match, and for an i32 target every value is integral and
/// within int32 (the error names the first bad example and its value).
/// \p InputName, when not empty, is named in the error.
bool checkFeeds(const DataArray &A, ir::DType Target,
                const ir::Shape &InputShapeWithoutBatch, std::string &Err,
                std::string_view InputName = {});

/// Checks that all \p Arrays hold the same number of examples.
bool checkSameExamples(std::span<const DataArray *const> Arrays,
                       std::string &Err);

/// Copies the examples \p Rows of \p A, converted by value to \p Target, one
/// after another into \p Out (which holds Rows.size() * rowElements()
/// elements of \p Target). Rows must be in [0, numExamples()). Call
/// checkFeeds first: values an i32 cannot hold become 0 here.
void gatherRows(const DataArray &A, std::span<const int64_t> Rows,
                ir::DType Target, void *Out);

/// Derives an independent seed from \p Seed and \p Stream (e.g. the epoch),
/// so that each epoch gets its own shuffled order.
uint64_t mixSeed(uint64_t Seed, uint64_t Stream);

/// A permutation of [0, N) that depends only on \p Seed: a Fisher-Yates
/// shuffle driven by splitmix64 with unbiased rejection sampling. The same
/// on every platform and standard library.
std::vector<int64_t> shuffledOrder(int64_t N, uint64_t Seed);

/// Splits [0, N) into batches of \p B examples, in shuffledOrder(N, Seed) or,
/// without \p Shuffle, in file order. With \p DropLast (training) a last
/// partial batch is dropped; without it (eval, predict) the last batch may be
/// shorter than \p B. B must be positive.
std::vector<std::vector<int64_t>> makeBatches(int64_t N, int64_t B,
                                              bool Shuffle, uint64_t Seed,
                                              bool DropLast = true);

/// Writes a .npy (version 1.0, little-endian, C order) atomically: a
/// temporary file in the same directory, then a rename.
bool writeNpy(const std::string &Path, ir::DType Type,
              const std::vector<int64_t> &Dims, const void *Data,
              std::string &Err);

} // namespace gradc::runtime
