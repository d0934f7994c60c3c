#include "ir/Types.h"

#include <fmt/format.h>

namespace gradc::ir {

std::string_view dtypeName(DType T) {
  switch (T) {
  case DType::F32:
    return "f32";
  case DType::F64:
    return "f64";
  case DType::I32:
    return "i32";
  }
  return "?";
}

std::optional<DType> parseDType(std::string_view Name) {
  if (Name == "f32")
    return DType::F32;
  if (Name == "f64")
    return DType::F64;
  if (Name == "i32")
    return DType::I32;
  return std::nullopt;
}

size_t dtypeSize(DType T) { return T == DType::F64 ? 8 : 4; }

int64_t TensorType::numElements() const {
  int64_t N = 1;
  for (int64_t D : Dims)
    N *= D;
  return N;
}

std::string formatShape(const Shape &S) {
  return fmt::format("[{}]", fmt::join(S, ", "));
}

std::string formatType(const TensorType &T) {
  return fmt::format("{}{}", dtypeName(T.Elt), formatShape(T.Dims));
}

std::optional<Shape> broadcastShapes(const Shape &A, const Shape &B) {
  size_t R = std::max(A.size(), B.size());
  Shape Out(R);
  for (size_t I = 0; I < R; ++I) {
    int64_t DA = I < R - A.size() ? 1 : A[I - (R - A.size())];
    int64_t DB = I < R - B.size() ? 1 : B[I - (R - B.size())];
    if (DA != DB && DA != 1 && DB != 1)
      return std::nullopt;
    Out[I] = DA == 1 ? DB : DA;
  }
  return Out;
}

} // namespace gradc::ir
