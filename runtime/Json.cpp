//===- runtime/Json.cpp - A small strict JSON parser ----------------------===//
//
// A recursive-descent parser for RFC 8259 JSON that keeps numbers as text and
// refuses anything doubtful: bad escapes, unpaired surrogates, invalid UTF-8,
// control characters, duplicate keys, leading zeros, trailing text.
//
//===----------------------------------------------------------------------===//
#include "runtime/Json.h"

#include <cmath>
#include <fmt/format.h>
#include <set>
#include <tuple>

namespace gradc::runtime {

const JsonValue *JsonValue::member(std::string_view Key) const {
  for (size_t I = 0; I < Keys.size(); ++I)
    if (Keys[I] == Key)
      return &Items[I];
  return nullptr;
}

namespace {

class JsonParser {
public:
  JsonParser(std::string_view Text, int MaxDepth, std::string_view KeyNoun)
      : Text(Text), MaxDepth(MaxDepth), KeyNoun(KeyNoun) {}

  /// Parses the whole text as one value surrounded by whitespace.
  bool parse(JsonValue &Out) {
    skipSpace();
    if (!parseValue(Out, 0))
      return false;
    skipSpace();
    if (Pos != Text.size())
      return fail("unexpected text after the JSON value");
    return true;
  }
  const std::string &error() const { return Error; }

private:
  std::string_view Text;
  int MaxDepth;
  std::string_view KeyNoun;
  size_t Pos = 0;
  std::string Error;

  char peek() const { return Pos < Text.size() ? Text[Pos] : '\0'; }
  bool atEnd() const { return Pos >= Text.size(); }
  void skipSpace() {
    while (Pos < Text.size() && (Text[Pos] == ' ' || Text[Pos] == '\t' ||
                                 Text[Pos] == '\n' || Text[Pos] == '\r'))
      ++Pos;
  }
  bool fail(std::string_view Msg) {
    if (Error.empty())
      Error = fmt::format("at byte {}: {}", Pos, Msg);
    return false;
  }

  bool parseValue(JsonValue &Out, int Depth) {
    if (Depth > MaxDepth)
      return fail("nested too deeply");
    if (atEnd())
      return fail("unexpected end");
    char C = peek();
    if (C == '{')
      return parseObject(Out, Depth);
    if (C == '[')
      return parseArray(Out, Depth);
    if (C == '"') {
      Out.Kind = JsonValue::String;
      return parseString(Out.Text);
    }
    if (C == '-' || (C >= '0' && C <= '9'))
      return parseNumber(Out);
    for (auto [Word, Kind, Flag] :
         {std::tuple{"true", JsonValue::Bool, true},
          std::tuple{"false", JsonValue::Bool, false},
          std::tuple{"null", JsonValue::Null, false}}) {
      std::string_view W(Word);
      if (Text.substr(Pos, W.size()) == W) {
        Pos += W.size();
        Out.Kind = Kind;
        Out.Flag = Flag;
        return true;
      }
    }
    return fail("expected a value");
  }

  bool parseObject(JsonValue &Out, int Depth) {
    Out.Kind = JsonValue::Object;
    ++Pos; // {
    std::set<std::string, std::less<>> Seen;
    skipSpace();
    if (peek() == '}') {
      ++Pos;
      return true;
    }
    while (true) {
      skipSpace();
      if (peek() != '"')
        return fail("expected a string key");
      std::string Key;
      if (!parseString(Key))
        return false;
      if (!Seen.insert(Key).second)
        return fail(fmt::format("duplicate {} '{}'",
                                Depth == 0 ? KeyNoun : "key", Key));
      skipSpace();
      if (peek() != ':')
        return fail("expected ':'");
      ++Pos;
      skipSpace();
      Out.Keys.push_back(std::move(Key));
      Out.Items.emplace_back();
      if (!parseValue(Out.Items.back(), Depth + 1))
        return false;
      skipSpace();
      if (peek() == ',') {
        ++Pos;
        continue;
      }
      if (peek() == '}') {
        ++Pos;
        return true;
      }
      return fail("expected ',' or '}'");
    }
  }

  bool parseArray(JsonValue &Out, int Depth) {
    Out.Kind = JsonValue::Array;
    ++Pos; // [
    skipSpace();
    if (peek() == ']') {
      ++Pos;
      return true;
    }
    while (true) {
      skipSpace();
      Out.Items.emplace_back();
      if (!parseValue(Out.Items.back(), Depth + 1))
        return false;
      skipSpace();
      if (peek() == ',') {
        ++Pos;
        continue;
      }
      if (peek() == ']') {
        ++Pos;
        return true;
      }
      return fail("expected ',' or ']'");
    }
  }

  bool parseNumber(JsonValue &Out) {
    size_t Begin = Pos;
    auto Digits = [&] {
      size_t Start = Pos;
      while (Pos < Text.size() && Text[Pos] >= '0' && Text[Pos] <= '9')
        ++Pos;
      return Pos - Start;
    };
    if (peek() == '-')
      ++Pos;
    if (peek() == '0')
      ++Pos;
    else if (Digits() == 0)
      return fail("malformed number");
    if (peek() == '.') {
      ++Pos;
      if (Digits() == 0)
        return fail("malformed number");
    }
    if (peek() == 'e' || peek() == 'E') {
      ++Pos;
      if (peek() == '+' || peek() == '-')
        ++Pos;
      if (Digits() == 0)
        return fail("malformed number");
    }
    Out.Kind = JsonValue::Number;
    Out.Text = std::string(Text.substr(Begin, Pos - Begin));
    return true;
  }

  bool hex4(uint32_t &Out) {
    if (Text.size() - Pos < 4)
      return fail("truncated \\u escape");
    Out = 0;
    for (int I = 0; I < 4; ++I) {
      char C = Text[Pos++];
      Out <<= 4;
      if (C >= '0' && C <= '9')
        Out |= C - '0';
      else if (C >= 'a' && C <= 'f')
        Out |= C - 'a' + 10;
      else if (C >= 'A' && C <= 'F')
        Out |= C - 'A' + 10;
      else
        return fail("bad hex digit in a \\u escape");
    }
    return true;
  }

  static void appendUtf8(std::string &S, uint32_t CP) {
    if (CP < 0x80) {
      S += char(CP);
    } else if (CP < 0x800) {
      S += char(0xC0 | (CP >> 6));
      S += char(0x80 | (CP & 0x3F));
    } else if (CP < 0x10000) {
      S += char(0xE0 | (CP >> 12));
      S += char(0x80 | ((CP >> 6) & 0x3F));
      S += char(0x80 | (CP & 0x3F));
    } else {
      S += char(0xF0 | (CP >> 18));
      S += char(0x80 | ((CP >> 12) & 0x3F));
      S += char(0x80 | ((CP >> 6) & 0x3F));
      S += char(0x80 | (CP & 0x3F));
    }
  }

  /// Length of the valid UTF-8 sequence at Pos, or 0.
  size_t utf8Length() const {
    auto At = [&](size_t I) -> unsigned {
      return Pos + I < Text.size() ? static_cast<unsigned char>(Text[Pos + I])
                                   : 0;
    };
    auto Cont = [&](size_t I) { return (At(I) & 0xC0) == 0x80; };
    unsigned B = At(0);
    if (B >= 0xC2 && B <= 0xDF)
      return Cont(1) ? 2 : 0;
    if (B >= 0xE0 && B <= 0xEF) {
      if (!Cont(1) || !Cont(2) || (B == 0xE0 && At(1) < 0xA0) ||
          (B == 0xED && At(1) >= 0xA0))
        return 0;
      return 3;
    }
    if (B >= 0xF0 && B <= 0xF4) {
      if (!Cont(1) || !Cont(2) || !Cont(3) || (B == 0xF0 && At(1) < 0x90) ||
          (B == 0xF4 && At(1) >= 0x90))
        return 0;
      return 4;
    }
    return 0;
  }

  bool parseString(std::string &Out) {
    ++Pos; // "
    Out.clear();
    while (true) {
      if (atEnd())
        return fail("unterminated string");
      unsigned char C = static_cast<unsigned char>(Text[Pos]);
      if (C == '"') {
        ++Pos;
        return true;
      }
      if (C < 0x20)
        return fail("control character in a string");
      if (C >= 0x80) {
        size_t N = utf8Length();
        if (N == 0)
          return fail("invalid UTF-8 in a string");
        Out.append(Text.substr(Pos, N));
        Pos += N;
        continue;
      }
      ++Pos;
      if (C != '\\') {
        Out += char(C);
        continue;
      }
      if (atEnd())
        return fail("unterminated escape");
      char E = Text[Pos++];
      switch (E) {
      case '"':
        Out += '"';
        break;
      case '\\':
        Out += '\\';
        break;
      case '/':
        Out += '/';
        break;
      case 'b':
        Out += '\b';
        break;
      case 'f':
        Out += '\f';
        break;
      case 'n':
        Out += '\n';
        break;
      case 'r':
        Out += '\r';
        break;
      case 't':
        Out += '\t';
        break;
      case 'u': {
        uint32_t CP;
        if (!hex4(CP))
          return false;
        if (CP >= 0xDC00 && CP <= 0xDFFF)
          return fail("unpaired low surrogate in a \\u escape");
        if (CP >= 0xD800 && CP <= 0xDBFF) {
          uint32_t Low;
          if (Text.substr(Pos, 2) != "\\u")
            return fail("unpaired high surrogate in a \\u escape");
          Pos += 2;
          if (!hex4(Low))
            return false;
          if (Low < 0xDC00 || Low > 0xDFFF)
            return fail("unpaired high surrogate in a \\u escape");
          CP = 0x10000 + ((CP - 0xD800) << 10) + (Low - 0xDC00);
        }
        appendUtf8(Out, CP);
        break;
      }
      default:
        return fail(fmt::format("unknown escape '\\{}'", E));
      }
    }
  }
};

} // namespace

bool parseJson(std::string_view Text, JsonValue &Out, std::string &Err,
               std::string_view TopLevelKeyNoun, int MaxDepth) {
  Out = JsonValue();
  JsonParser P(Text, MaxDepth, TopLevelKeyNoun);
  if (P.parse(Out))
    return true;
  Err = P.error();
  Out = JsonValue();
  return false;
}

bool jsonToUInt(const JsonValue &V, uint64_t &Out) {
  if (V.Kind != JsonValue::Number || V.Text.empty())
    return false;
  Out = 0;
  for (char C : V.Text) {
    if (C < '0' || C > '9')
      return false;
    if (Out > (UINT64_MAX - uint64_t(C - '0')) / 10)
      return false;
    Out = Out * 10 + uint64_t(C - '0');
  }
  return true;
}

void appendJsonString(std::string &Out, std::string_view S) {
  Out += '"';
  for (char C : S) {
    unsigned char U = static_cast<unsigned char>(C);
    if (C == '"' || C == '\\') {
      Out += '\\';
      Out += C;
    } else if (U < 0x20) {
      Out += fmt::format("\\u{:04x}", U);
    } else {
      Out += C;
    }
  }
  Out += '"';
}

bool isValidUtf8(std::string_view S) {
  std::string Quoted;
  appendJsonString(Quoted, S);
  JsonValue V;
  return JsonParser(Quoted, 0, "key").parse(V);
}

JsonObject &JsonObject::key(std::string_view K) {
  S += First ? "{" : ", ";
  First = false;
  appendJsonString(S, K);
  S += ": ";
  return *this;
}

JsonObject &JsonObject::num(std::string_view K, double V) {
  key(K);
  S += std::isfinite(V) ? fmt::format("{}", V) : "null";
  return *this;
}

JsonObject &JsonObject::integer(std::string_view K, int64_t V) {
  key(K);
  S += std::to_string(V);
  return *this;
}

JsonObject &JsonObject::str(std::string_view K, std::string_view V) {
  key(K);
  appendJsonString(S, V);
  return *this;
}

JsonObject &JsonObject::raw(std::string_view K, std::string_view Json) {
  key(K);
  S += Json;
  return *this;
}

} // namespace gradc::runtime
