//===- runtime/DataFormats.cpp - The .npy, IDX and .csv readers -----------===//
//
// Each reader takes a DataArray whose Bytes hold the whole file and turns it
// into the array: it checks every size against the file before using it,
// then drops the header and puts the elements in native byte order.
//
//===----------------------------------------------------------------------===//
#include "runtime/DataFormats.h"

#include "runtime/FileIO.h"

#include <algorithm>
#include <charconv>
#include <cstring>
#include <fmt/format.h>

namespace gradc::runtime::detail {

/// The product of \p Dims, or false when a dimension is negative or the
/// product exceeds ir::MaxElements.
bool checkedProduct(std::span<const int64_t> Dims, int64_t &Out) {
  int64_t N = 1;
  bool Zero = false;
  for (int64_t D : Dims) {
    if (D < 0 || D > ir::MaxElements)
      return false;
    if (D == 0)
      Zero = true;
    else if (N > ir::MaxElements / D)
      return false;
    else
      N *= D;
  }
  Out = Zero ? 0 : N;
  return true;
}

//===----------------------------------------------------------------------===//
// IDX
//===----------------------------------------------------------------------===//

namespace {

uint32_t readBE32(const uint8_t *P) {
  return uint32_t(P[0]) << 24 | uint32_t(P[1]) << 16 | uint32_t(P[2]) << 8 |
         uint32_t(P[3]);
}

bool idxKind(uint8_t TypeByte, ElementKind &K) {
  switch (TypeByte) {
  case 0x08:
    K = ElementKind::U8;
    return true;
  case 0x09:
    K = ElementKind::I8;
    return true;
  case 0x0B:
    K = ElementKind::I16;
    return true;
  case 0x0C:
    K = ElementKind::I32;
    return true;
  case 0x0D:
    K = ElementKind::F32;
    return true;
  case 0x0E:
    K = ElementKind::F64;
    return true;
  default:
    return false;
  }
}

} // namespace

bool isIdx(std::span<const uint8_t> B) {
  ElementKind K;
  return B.size() >= 4 && B[0] == 0 && B[1] == 0 && idxKind(B[2], K);
}

bool loadIdx(DataArray &Out, std::string &Err) {
  const std::string &P = Out.Path;
  std::vector<uint8_t> &B = Out.Bytes;
  idxKind(B[2], Out.Kind);
  unsigned Rank = B[3];
  if (Rank == 0) {
    Err = fmt::format("{}: IDX file with no dimensions", P);
    return false;
  }
  size_t HeaderSize = 4 + 4 * size_t(Rank);
  if (B.size() < HeaderSize) {
    Err = fmt::format("{}: truncated IDX header: {} dimensions need {} bytes, "
                      "the file has {}",
                      P, Rank, HeaderSize, B.size());
    return false;
  }
  Out.Dims.clear();
  for (unsigned I = 0; I < Rank; ++I)
    Out.Dims.push_back(readBE32(&B[4 + 4 * I]));
  int64_t N;
  if (!checkedProduct(Out.Dims, N)) {
    Err = fmt::format("{}: IDX dimensions {} have too many elements", P,
                      ir::formatShape(Out.Dims));
    return false;
  }
  uint64_t Want = uint64_t(N) * elementKindSize(Out.Kind);
  uint64_t Have = B.size() - HeaderSize;
  if (Have != Want) {
    Err = fmt::format("{}: IDX header says {} ({} bytes of data) but the file "
                      "has {} bytes after its header",
                      P, Out.describe(), Want, Have);
    return false;
  }
  B.erase(B.begin(), B.begin() + HeaderSize);
  if (HostIsLittleEndian)
    swapByteOrder(B, elementKindSize(Out.Kind));
  return true;
}

//===----------------------------------------------------------------------===//
// .npy
//===----------------------------------------------------------------------===//

/// Parses the Python dict literal of a .npy header:
///   {'descr': '<f4', 'fortran_order': False, 'shape': (60000, 784), }
namespace {

class NpyHeaderParser {
public:
  explicit NpyHeaderParser(std::string_view Text) : Text(Text) {}

  std::string Descr;
  bool Fortran = false;
  std::vector<int64_t> Shape;
  std::string Error;

  bool parse() {
    bool HaveDescr = false, HaveOrder = false, HaveShape = false;
    if (!expect('{'))
      return false;
    while (true) {
      skipSpace();
      if (peek() == '}') {
        ++Pos;
        break;
      }
      std::string Key;
      if (!parseString(Key) || !expect(':'))
        return false;
      skipSpace();
      if (Key == "descr") {
        if (peek() != '\'' && peek() != '"')
          return fail("a structured dtype (a 'descr' that is not a string) is "
                      "not supported");
        if (!parseString(Descr))
          return false;
        HaveDescr = true;
      } else if (Key == "fortran_order") {
        if (!parseBool(Fortran))
          return false;
        HaveOrder = true;
      } else if (Key == "shape") {
        if (!parseTuple())
          return false;
        HaveShape = true;
      } else {
        return fail(fmt::format("unexpected key '{}' in the header", Key));
      }
      skipSpace();
      if (peek() == ',')
        ++Pos;
      else if (peek() != '}')
        return fail("expected ',' or '}' in the header");
    }
    skipSpace();
    if (Pos != Text.size())
      return fail("unexpected text after the header dict");
    for (auto [Have, Key] :
         {std::pair{HaveDescr, "descr"}, std::pair{HaveOrder, "fortran_order"},
          std::pair{HaveShape, "shape"}})
      if (!Have)
        return fail(fmt::format("the header has no '{}'", Key));
    return true;
  }

private:
  std::string_view Text;
  size_t Pos = 0;

  char peek() const { return Pos < Text.size() ? Text[Pos] : '\0'; }
  void skipSpace() {
    while (Pos < Text.size() && (Text[Pos] == ' ' || Text[Pos] == '\t' ||
                                 Text[Pos] == '\n' || Text[Pos] == '\r'))
      ++Pos;
  }
  bool fail(std::string Msg) {
    if (Error.empty())
      Error = std::move(Msg);
    return false;
  }
  bool expect(char C) {
    skipSpace();
    if (peek() != C)
      return fail(fmt::format("malformed header: expected '{}'", C));
    ++Pos;
    return true;
  }
  bool parseString(std::string &Out) {
    char Quote = peek();
    if (Quote != '\'' && Quote != '"')
      return fail("malformed header: expected a quoted string");
    size_t End = Text.find(Quote, Pos + 1);
    if (End == std::string_view::npos)
      return fail("malformed header: unterminated string");
    Out = std::string(Text.substr(Pos + 1, End - Pos - 1));
    Pos = End + 1;
    return true;
  }
  bool parseBool(bool &Out) {
    if (Text.substr(Pos, 4) == "True") {
      Out = true;
      Pos += 4;
      return true;
    }
    if (Text.substr(Pos, 5) == "False") {
      Out = false;
      Pos += 5;
      return true;
    }
    return fail("malformed header: 'fortran_order' is not True or False");
  }
  bool parseTuple() {
    if (!expect('('))
      return false;
    Shape.clear();
    while (true) {
      skipSpace();
      if (peek() == ')') {
        ++Pos;
        return true;
      }
      if (Shape.size() >= 64)
        return fail("the shape has too many dimensions");
      int64_t D = 0;
      auto [Ptr, Ec] =
          std::from_chars(Text.data() + Pos, Text.data() + Text.size(), D);
      if (Ec != std::errc() || D < 0)
        return fail("malformed header: a shape entry is not a non-negative "
                    "integer");
      Pos = Ptr - Text.data();
      if (peek() == 'L') // Python 2 long literals
        ++Pos;
      Shape.push_back(D);
      skipSpace();
      if (peek() == ',')
        ++Pos;
      else if (peek() != ')')
        return fail("malformed header: expected ',' or ')' in the shape");
    }
  }
};

bool npyKind(std::string_view Descr, ElementKind &K, std::string &Why) {
  if (Descr == "|u1" || Descr == "u1" || Descr == "<u1") {
    K = ElementKind::U8;
    return true;
  }
  if (Descr == "<i4") {
    K = ElementKind::I32;
    return true;
  }
  if (Descr == "<i8") {
    K = ElementKind::I64;
    return true;
  }
  if (Descr == "<f4") {
    K = ElementKind::F32;
    return true;
  }
  if (Descr == "<f8") {
    K = ElementKind::F64;
    return true;
  }
  if (!Descr.empty() && Descr[0] == '>')
    Why = fmt::format("big-endian dtype '{}' is not supported; save it "
                      "little-endian, e.g. a.astype('<{}')",
                      Descr, Descr.substr(1));
  else
    Why = fmt::format("dtype '{}' is not supported (expected u1, <i4, <i8, "
                      "<f4 or <f8)",
                      Descr);
  return false;
}

} // namespace

bool loadNpy(DataArray &Out, std::string &Err) {
  const std::string &P = Out.Path;
  std::vector<uint8_t> &B = Out.Bytes;
  static const uint8_t Magic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
  if (B.size() < 10 || std::memcmp(B.data(), Magic, 6) != 0) {
    Err = fmt::format("{}: not a .npy file (no \\x93NUMPY magic)", P);
    return false;
  }
  unsigned Major = B[6], Minor = B[7];
  size_t LenBytes;
  if (Major == 1)
    LenBytes = 2;
  else if (Major == 2 || Major == 3)
    LenBytes = 4;
  else {
    Err = fmt::format("{}: .npy format version {}.{} is not supported (1.0, "
                      "2.0 or 3.0)",
                      P, Major, Minor);
    return false;
  }
  if (B.size() < 8 + LenBytes) {
    Err = fmt::format("{}: truncated .npy header", P);
    return false;
  }
  uint64_t HeaderLen = 0;
  for (size_t I = 0; I < LenBytes; ++I)
    HeaderLen |= uint64_t(B[8 + I]) << (8 * I);
  uint64_t DataStart = 8 + LenBytes + HeaderLen;
  if (DataStart > B.size()) {
    Err = fmt::format("{}: truncated .npy header: it claims {} bytes, the file "
                      "has {} after the preamble",
                      P, HeaderLen, B.size() - 8 - LenBytes);
    return false;
  }
  std::string_view Text(reinterpret_cast<const char *>(B.data()) + 8 + LenBytes,
                        HeaderLen);
  NpyHeaderParser H(Text);
  if (!H.parse()) {
    Err = fmt::format("{}: {}", P, H.Error);
    return false;
  }
  std::string Why;
  if (!npyKind(H.Descr, Out.Kind, Why)) {
    Err = fmt::format("{}: {}", P, Why);
    return false;
  }
  if (H.Fortran) {
    Err = fmt::format(
        "{}: Fortran-order arrays are not supported; save a C-order "
        "array (np.ascontiguousarray)",
        P);
    return false;
  }
  Out.Dims = H.Shape;
  if (Out.Dims.empty()) {
    Err = fmt::format("{}: holds a scalar; axis 0 must count examples", P);
    return false;
  }
  int64_t N;
  if (!checkedProduct(Out.Dims, N)) {
    Err = fmt::format("{}: shape {} has too many elements", P,
                      ir::formatShape(Out.Dims));
    return false;
  }
  uint64_t Want = uint64_t(N) * elementKindSize(Out.Kind);
  uint64_t Have = B.size() - DataStart;
  if (Have != Want) {
    Err = fmt::format("{}: header says {} ({} bytes of data) but the file has "
                      "{} bytes after its header",
                      P, Out.describe(), Want, Have);
    return false;
  }
  B.erase(B.begin(), B.begin() + DataStart);
  if (!HostIsLittleEndian)
    swapByteOrder(B, elementKindSize(Out.Kind));
  return true;
}

//===----------------------------------------------------------------------===//
// .csv
//===----------------------------------------------------------------------===//

namespace {

std::string_view trim(std::string_view S) {
  while (!S.empty() && (S.front() == ' ' || S.front() == '\t'))
    S.remove_prefix(1);
  while (!S.empty() && (S.back() == ' ' || S.back() == '\t'))
    S.remove_suffix(1);
  return S;
}

/// Splits a CSV line into trimmed cells; a double-quoted cell yields its
/// inner text. False on an unterminated quote or text after a closing quote.
bool splitCells(std::string_view Line, std::vector<std::string_view> &Cells) {
  Cells.clear();
  size_t Pos = 0;
  while (true) {
    while (Pos < Line.size() && (Line[Pos] == ' ' || Line[Pos] == '\t'))
      ++Pos;
    if (Pos < Line.size() && Line[Pos] == '"') {
      size_t Begin = ++Pos;
      while (true) {
        if (Pos >= Line.size())
          return false;
        if (Line[Pos] == '"') {
          if (Pos + 1 < Line.size() && Line[Pos + 1] == '"') {
            Pos += 2;
            continue;
          }
          break;
        }
        ++Pos;
      }
      Cells.push_back(Line.substr(Begin, Pos - Begin));
      ++Pos;
      while (Pos < Line.size() && (Line[Pos] == ' ' || Line[Pos] == '\t'))
        ++Pos;
      if (Pos < Line.size() && Line[Pos] != ',')
        return false;
    } else {
      size_t Comma = Line.find(',', Pos);
      size_t End = Comma == std::string_view::npos ? Line.size() : Comma;
      Cells.push_back(trim(Line.substr(Pos, End - Pos)));
      Pos = End;
    }
    if (Pos >= Line.size())
      return true;
    ++Pos; // the comma
  }
}

enum class CellParse { Ok, NotANumber, OutOfRange };

CellParse parseNumber(std::string_view S, double &V) {
  if (!S.empty() && S[0] == '+') {
    S.remove_prefix(1);
    if (!S.empty() && S[0] == '-')
      return CellParse::NotANumber;
  }
  if (S.empty())
    return CellParse::NotANumber;
  auto [Ptr, Ec] = std::from_chars(S.data(), S.data() + S.size(), V);
  if (Ptr != S.data() + S.size())
    return CellParse::NotANumber;
  if (Ec == std::errc::result_out_of_range)
    return CellParse::OutOfRange;
  return Ec == std::errc() ? CellParse::Ok : CellParse::NotANumber;
}

} // namespace

bool loadCsv(DataArray &Out, std::string &Err) {
  const std::string &P = Out.Path;
  std::string_view Text(reinterpret_cast<const char *>(Out.Bytes.data()),
                        Out.Bytes.size());
  std::vector<std::string_view> Lines;
  for (size_t Pos = 0; Pos < Text.size();) {
    size_t NL = Text.find('\n', Pos);
    size_t End = NL == std::string_view::npos ? Text.size() : NL;
    std::string_view L = Text.substr(Pos, End - Pos);
    if (!L.empty() && L.back() == '\r')
      L.remove_suffix(1);
    Lines.push_back(L);
    Pos = End + 1;
  }
  while (!Lines.empty() && trim(Lines.back()).empty())
    Lines.pop_back();
  if (Lines.empty()) {
    Err = fmt::format("{}: the file is empty", P);
    return false;
  }

  std::vector<double> Values;
  std::vector<std::string_view> Cells;
  size_t Cols = 0;
  int64_t Rows = 0;
  for (size_t I = 0; I < Lines.size(); ++I) {
    size_t LineNo = I + 1;
    if (trim(Lines[I]).empty()) {
      Err = fmt::format("{}:{}: empty line (only empty lines at the end are "
                        "allowed)",
                        P, LineNo);
      return false;
    }
    if (!splitCells(Lines[I], Cells)) {
      Err = fmt::format("{}:{}: malformed quoted cell", P, LineNo);
      return false;
    }
    if (I == 0) {
      Cols = Cells.size();
      double V;
      bool Header = std::any_of(Cells.begin(), Cells.end(), [&](auto C) {
        return parseNumber(C, V) == CellParse::NotANumber;
      });
      if (Header)
        continue;
    }
    if (Cells.size() != Cols) {
      Err = fmt::format("{}:{}: expected {} values, got {}", P, LineNo, Cols,
                        Cells.size());
      return false;
    }
    for (size_t C = 0; C < Cells.size(); ++C) {
      double V = 0;
      CellParse R = parseNumber(Cells[C], V);
      if (R != CellParse::Ok) {
        Err = fmt::format("{}:{}: value '{}' in column {} is {}", P, LineNo,
                          Cells[C].substr(0, 40), C + 1,
                          R == CellParse::OutOfRange ? "out of range"
                                                     : "not a number");
        return false;
      }
      Values.push_back(V);
    }
    ++Rows;
  }
  Out.Kind = ElementKind::F64;
  Out.Dims = {Rows, static_cast<int64_t>(Cols)};
  Out.Bytes.assign(Values.size() * sizeof(double), 0);
  if (!Values.empty())
    std::memcpy(Out.Bytes.data(), Values.data(), Out.Bytes.size());
  return true;
}

} // namespace gradc::runtime::detail
