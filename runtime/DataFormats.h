//===- runtime/DataFormats.h - The .npy, IDX and .csv readers -----*- C++
//-*-===//
//
// Internal to runtime/: the per-format readers behind loadData. Each takes a
// DataArray whose Path is set and whose Bytes hold the whole file, and on
// success leaves Kind, Dims and the elements (native byte order) in it; on
// failure it sets an error that names the file.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "runtime/Data.h"

namespace gradc::runtime::detail {

/// True when \p File starts with an IDX magic number: two zero bytes and a
/// known type byte.
bool isIdx(std::span<const uint8_t> File);

bool loadIdx(DataArray &Out, std::string &Err);
bool loadNpy(DataArray &Out, std::string &Err);
bool loadCsv(DataArray &Out, std::string &Err);

/// The product of \p Dims, or false when a dimension is negative or the
/// product exceeds ir::MaxElements.
bool checkedProduct(std::span<const int64_t> Dims, int64_t &Out);

} // namespace gradc::runtime::detail
