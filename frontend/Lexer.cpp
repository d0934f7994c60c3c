//===- frontend/Lexer.cpp - Tokens of the model language ------------------===//
//
// A hand-written scanner over a byte buffer. Every read is bounds-checked
// (peekChar returns '\0' past the end), so any bytes are safe to lex.
//
//===----------------------------------------------------------------------===//
#include "frontend/Lexer.h"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <fmt/format.h>

namespace gradc::frontend {

static bool isDigit(char C) { return C >= '0' && C <= '9'; }
static bool isNameStart(char C) {
  return (C >= 'a' && C <= 'z') || (C >= 'A' && C <= 'Z') || C == '_';
}
static bool isNameChar(char C) { return isNameStart(C) || isDigit(C); }

std::string formatNumber(const NumberValue &N) {
  if (N.IsInt)
    return fmt::format("{}", N.Int);
  if (std::isnan(N.Float))
    return "nan";
  if (std::isinf(N.Float))
    return N.Float > 0 ? "inf" : "-inf";
  std::string S = fmt::format("{}", N.Float);
  if (S.find_first_of(".e") == std::string::npos)
    S += ".0";
  return S;
}

std::string abbreviate(std::string_view Text) {
  if (Text.size() <= 32)
    return std::string(Text);
  return std::string(Text.substr(0, 29)) + "...";
}

std::string describeToken(const Token &T) {
  switch (T.Kind) {
  case TokKind::Eof:
    return "end of file";
  case TokKind::Newline:
    return "end of line";
  case TokKind::Error:
    return "an invalid token";
  default:
    return "'" + abbreviate(T.Text) + "'";
  }
}

/// Scans the longest number literal at the start of \p Text: digits, an
/// optional fraction and an optional exponent (".5" and "1." are numbers).
/// Returns its length (0 if there is none) and whether it is a float.
static size_t scanNumber(std::string_view Text, bool &IsFloat) {
  auto At = [&](size_t I) { return I < Text.size() ? Text[I] : '\0'; };
  size_t P = 0;
  IsFloat = false;
  while (isDigit(At(P)))
    ++P;
  if (At(P) == '.' && (P > 0 || isDigit(At(P + 1)))) {
    IsFloat = true;
    ++P;
    while (isDigit(At(P)))
      ++P;
  }
  if (P == 0)
    return 0;
  if (At(P) == 'e' || At(P) == 'E') {
    size_t Q = P + 1;
    if (At(Q) == '+' || At(Q) == '-')
      ++Q;
    if (isDigit(At(Q))) {
      IsFloat = true;
      P = Q;
      while (isDigit(At(P)))
        ++P;
    }
  }
  return P;
}

bool parseNumberLiteral(std::string_view Text, NumberValue &Out,
                        std::string &Err) {
  bool IsFloat;
  size_t Len = scanNumber(Text, IsFloat);
  if (Len == 0 || Len != Text.size()) {
    Err = fmt::format("malformed number '{}'", abbreviate(Text));
    return false;
  }
  if (!IsFloat) {
    int64_t V = 0;
    for (char C : Text) {
      int D = C - '0';
      if (V > (INT64_MAX - D) / 10) {
        Err =
            fmt::format("integer literal '{}' is too large", abbreviate(Text));
        return false;
      }
      V = V * 10 + D;
    }
    Out = NumberValue::ofInt(V);
    return true;
  }
  double D = 0;
  auto [Ptr, Ec] = std::from_chars(Text.data(), Text.data() + Text.size(), D);
  if (Ec == std::errc::result_out_of_range) {
    // Overflow or underflow: strtod tells them apart (inf vs. tiny).
    std::string Copy(Text);
    D = std::strtod(Copy.c_str(), nullptr);
  } else if (Ec != std::errc() || Ptr != Text.data() + Text.size()) {
    Err = fmt::format("malformed number '{}'", abbreviate(Text));
    return false;
  }
  if (!std::isfinite(D)) {
    Err = fmt::format("number '{}' is too large", abbreviate(Text));
    return false;
  }
  Out = NumberValue::ofFloat(D);
  return true;
}

Loc Lexer::here() const {
  return {Line, static_cast<uint32_t>(Pos - LineStart + 1)};
}

Loc Lexer::eofLoc() const {
  // Past the last character of the last non-empty line, so that a caret
  // lands just after the text rather than on an empty line.
  size_t End = Text.size();
  if (End == 0)
    return {1, 1};
  if (Text[End - 1] != '\n')
    return here();
  size_t E = End - 1;
  if (E > 0 && Text[E - 1] == '\r')
    --E;
  size_t Start = End >= 2 ? Text.rfind('\n', End - 2) : std::string_view::npos;
  Start = Start == std::string_view::npos ? 0 : Start + 1;
  uint32_t LastLine = Line > 1 ? Line - 1 : 1;
  return {LastLine, static_cast<uint32_t>(E - Start + 1)};
}

void Lexer::skipSpaceAndComments() {
  while (!atEnd()) {
    char C = peekChar();
    if (C == ' ' || C == '\t') {
      ++Pos;
    } else if (C == '\r' && (peekChar(1) == '\n' || atEnd(1))) {
      ++Pos;
    } else if (C == '#') {
      while (!atEnd() && peekChar() != '\n')
        ++Pos;
    } else if (C == '\n' && BracketDepth > 0) {
      ++Pos;
      ++Line;
      LineStart = Pos;
    } else {
      return;
    }
  }
}

Token Lexer::make(TokKind K, size_t Begin, Loc L) const {
  Token T;
  T.Kind = K;
  T.L = L;
  T.Text = Text.substr(Begin, Pos - Begin);
  return T;
}

static TokKind keywordKind(std::string_view S) {
  static constexpr std::array<std::pair<std::string_view, TokKind>, 12> Words =
      {{
          {"model", TokKind::KwModel},
          {"const", TokKind::KwConst},
          {"input", TokKind::KwInput},
          {"param", TokKind::KwParam},
          {"output", TokKind::KwOutput},
          {"metric", TokKind::KwMetric},
          {"train", TokKind::KwTrain},
          {"true", TokKind::KwTrue},
          {"false", TokKind::KwFalse},
          {"f32", TokKind::KwF32},
          {"f64", TokKind::KwF64},
          {"i32", TokKind::KwI32},
      }};
  for (const auto &[W, K] : Words)
    if (W == S)
      return K;
  return TokKind::Name;
}

Token Lexer::lexNumber(std::vector<PendingDiag> *Diags) {
  size_t Begin = Pos;
  Loc L = here();
  bool IsFloat;
  Pos += scanNumber(Text.substr(Pos), IsFloat);
  // A number glued to letters, digits or dots ("28x", "1e", "1e+", "1..2")
  // is one malformed token rather than several.
  bool Glued = false;
  while (!atEnd()) {
    char C = peekChar(), Prev = Text[Pos - 1];
    bool Sign = (C == '+' || C == '-') && (Prev == 'e' || Prev == 'E');
    if (!isNameChar(C) && C != '.' && !Sign)
      break;
    ++Pos;
    Glued = true;
  }
  Token T = make(IsFloat ? TokKind::Float : TokKind::Int, Begin, L);
  std::string Err;
  if (Glued) {
    Err = fmt::format("malformed number '{}'", abbreviate(T.Text));
  } else if (parseNumberLiteral(T.Text, T.Num, Err)) {
    return T;
  }
  if (Diags)
    Diags->push_back({Severity::Error, L, std::move(Err)});
  T.Kind = TokKind::Error;
  return T;
}

Token Lexer::next(std::vector<PendingDiag> *Diags) {
  skipSpaceAndComments();
  if (atEnd()) {
    Token T;
    T.Kind = TokKind::Eof;
    T.L = eofLoc();
    return T;
  }
  size_t Begin = Pos;
  Loc L = here();
  char C = peekChar();
  if (C == '\n') {
    ++Pos;
    Token T = make(TokKind::Newline, Begin, L);
    ++Line;
    LineStart = Pos;
    return T;
  }
  if (isNameStart(C)) {
    while (!atEnd() && isNameChar(peekChar()))
      ++Pos;
    Token T = make(TokKind::Name, Begin, L);
    T.Kind = keywordKind(T.Text);
    return T;
  }
  if (isDigit(C) || (C == '.' && isDigit(peekChar(1))))
    return lexNumber(Diags);

  ++Pos;
  TokKind K;
  switch (C) {
  case '+':
    K = TokKind::Plus;
    break;
  case '-':
    K = TokKind::Minus;
    break;
  case '*':
    K = TokKind::Star;
    break;
  case '/':
    K = TokKind::Slash;
    break;
  case '@':
    K = TokKind::At;
    break;
  case '(':
    K = TokKind::LParen;
    ++BracketDepth;
    break;
  case '[':
    K = TokKind::LBracket;
    ++BracketDepth;
    break;
  case ')':
    K = TokKind::RParen;
    BracketDepth -= BracketDepth > 0;
    break;
  case ']':
    K = TokKind::RBracket;
    BracketDepth -= BracketDepth > 0;
    break;
  case '{':
    K = TokKind::LBrace;
    break;
  case '}':
    K = TokKind::RBrace;
    break;
  case ',':
    K = TokKind::Comma;
    break;
  case '=':
    K = TokKind::Equal;
    break;
  case ':':
    K = TokKind::Colon;
    break;
  default: {
    unsigned char U = static_cast<unsigned char>(C);
    std::string Shown =
        U > 0x20 && U < 0x7f ? std::string(1, C) : fmt::format("\\x{:02x}", U);
    if (Diags)
      Diags->push_back({Severity::Error, L,
                        fmt::format("unexpected character '{}'", Shown)});
    return make(TokKind::Error, Begin, L);
  }
  }
  return make(K, Begin, L);
}

} // namespace gradc::frontend
