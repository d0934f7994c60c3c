//===- runtime/Json.h - A small strict JSON parser ----------------*- C++
//-*-===//
//
// Just enough JSON for safetensors headers: a strict RFC 8259 parser (strings
// with every escape including \uXXXX surrogate pairs, UTF-8 checked; numbers
// kept as written; a nesting limit; duplicate keys refused), a string
// writer, and an object writer for the commands' --json output.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gradc::runtime {

struct JsonValue {
  enum KindTy { Null, Bool, Number, String, Array, Object } Kind = Null;
  bool Flag = false;
  /// A string's value, or a number's text as written.
  std::string Text;
  /// An array's elements, or an object's values (parallel to Keys, in the
  /// order they were written).
  std::vector<JsonValue> Items;
  std::vector<std::string> Keys;

  /// The value of \p Key in an object, or null.
  const JsonValue *member(std::string_view Key) const;
};

/// Parses \p Text (one value, whitespace around it allowed) into \p Out. On
/// failure \p Err says where: "at byte 17: expected ':'". A duplicate key of
/// the outermost object is called a \p TopLevelKeyNoun in the error.
bool parseJson(std::string_view Text, JsonValue &Out, std::string &Err,
               std::string_view TopLevelKeyNoun = "key", int MaxDepth = 64);

/// The value of a non-negative integer JSON number without fraction or
/// exponent, or false (also on overflow).
bool jsonToUInt(const JsonValue &V, uint64_t &Out);

/// Appends \p S as a JSON string literal (quotes, backslashes and control
/// characters escaped; other bytes as they are).
void appendJsonString(std::string &Out, std::string_view S);

/// True when \p S is valid UTF-8.
bool isValidUtf8(std::string_view S);

/// A JSON object written member by member (the --json output of the
/// commands); a non-finite number becomes null.
class JsonObject {
public:
  JsonObject &num(std::string_view K, double V);
  JsonObject &integer(std::string_view K, int64_t V);
  JsonObject &str(std::string_view K, std::string_view V);
  /// A member whose value is already JSON text.
  JsonObject &raw(std::string_view K, std::string_view Json);
  std::string done() const { return First ? "{}" : S + "}"; }

private:
  JsonObject &key(std::string_view K);
  std::string S;
  bool First = true;
};

} // namespace gradc::runtime
