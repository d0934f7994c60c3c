//===- runtime/FileIO.h - Bounded reads, atomic writes, byte order -*- C++
//-*-===//
//
// The file primitives every runtime format uses: read a whole file whose size
// is checked against a cap before anything is allocated, write a file
// atomically (a temporary file in the same directory, fsync, rename), so a
// crash never leaves a torn file and an existing file is replaced only when
// the new one is complete, and swap the byte order of elements.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <bit>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace gradc::runtime {

/// The largest data or checkpoint file the runtime reads (8 GiB).
constexpr uint64_t MaxFileBytes = uint64_t(8) << 30;

/// Reads all of \p Path into \p Out. Fails on a missing file, a directory, a
/// file over \p MaxBytes or a short read; \p Err then names the file.
bool readFile(const std::string &Path, std::vector<uint8_t> &Out,
              std::string &Err, uint64_t MaxBytes = MaxFileBytes);

/// Writes the concatenation of \p Parts to \p Path atomically: into a new
/// temporary file next to it, fsync'ed, then renamed over \p Path. On failure
/// the temporary file is removed and any old \p Path is left as it was.
bool writeFileAtomically(const std::string &Path,
                         std::span<const std::span<const uint8_t>> Parts,
                         std::string &Err);

constexpr bool HostIsLittleEndian = std::endian::native == std::endian::little;

/// Reverses the bytes of each \p ElementSize-byte element of \p Bytes.
void swapByteOrder(std::span<uint8_t> Bytes, size_t ElementSize);

} // namespace gradc::runtime
