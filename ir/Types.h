//===- ir/Types.h - Element types and static tensor types -------*- C++ -*-===//
//
// Every tensor in gradc has a static type: an element type and a shape whose
// dimensions are known at compile time. A scalar has rank 0.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gradc::ir {

enum class DType : uint8_t { F32, F64, I32 };

std::string_view dtypeName(DType T);
std::optional<DType> parseDType(std::string_view Name);
inline bool isFloat(DType T) { return T != DType::I32; }
size_t dtypeSize(DType T);

using Shape = std::vector<int64_t>;

struct TensorType {
  DType Elt = DType::F32;
  Shape Dims;

  TensorType() = default;
  TensorType(DType Elt, Shape Dims) : Elt(Elt), Dims(std::move(Dims)) {}

  int64_t rank() const { return static_cast<int64_t>(Dims.size()); }
  int64_t numElements() const;
  bool isScalar() const { return Dims.empty(); }
  bool operator==(const TensorType &O) const = default;
};

/// "f32[64, 784]"; a scalar prints as "f32[]".
std::string formatType(const TensorType &T);
/// "[64, 784]".
std::string formatShape(const Shape &S);

/// NumPy broadcasting of two shapes; nullopt when they are incompatible.
std::optional<Shape> broadcastShapes(const Shape &A, const Shape &B);

/// Largest number of elements any tensor may have (guards overflow).
constexpr int64_t MaxElements = int64_t(1) << 40;

} // namespace gradc::ir
