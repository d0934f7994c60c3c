//===- frontend/Lexer.h - Tokens of the model language -----------*- C++
//-*-===//
//
// Splits a model file into tokens with 1-based line:column locations.
// Newlines are tokens only outside ( ) and [ ], where they end statements.
// Comments run from '#' to the end of the line. Bad bytes, malformed numbers
// and out-of-range literals become Error tokens after a diagnostic is
// recorded; the lexer never reads past the end of its buffer.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Diagnostics.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace gradc::frontend {

enum class TokKind : uint8_t {
  Eof,
  Newline,
  Error,
  Name,
  Int,
  Float,
  Plus,
  Minus,
  Star,
  Slash,
  At,
  LParen,
  RParen,
  LBracket,
  RBracket,
  LBrace,
  RBrace,
  Comma,
  Equal,
  Colon,
  // Reserved words.
  KwModel,
  KwConst,
  KwInput,
  KwParam,
  KwOutput,
  KwMetric,
  KwTrain,
  KwTrue,
  KwFalse,
  KwF32,
  KwF64,
  KwI32,
};

inline bool isKeyword(TokKind K) { return K >= TokKind::KwModel; }

/// A number as written: an integer (no '.' and no exponent) or a float.
struct NumberValue {
  bool IsInt = true;
  int64_t Int = 0;
  double Float = 0;

  double asDouble() const { return IsInt ? static_cast<double>(Int) : Float; }
  static NumberValue ofInt(int64_t V) { return {true, V, 0}; }
  static NumberValue ofFloat(double V) { return {false, 0, V}; }
};

/// "64", "0.5", "1e-05": how a number is shown in messages.
std::string formatNumber(const NumberValue &N);

struct Token {
  TokKind Kind = TokKind::Eof;
  Loc L;
  std::string_view Text; // the characters of the token (empty for Eof)
  NumberValue Num;       // Int and Float tokens
};

/// How a token is named in "expected X, got Y" messages: "'+'", "'foo'",
/// "end of line", "end of file".
std::string describeToken(const Token &T);

/// A diagnostic recorded for later: the parser never prints, and the front
/// end reports each statement's diagnostics in source order.
struct PendingDiag {
  Severity Sev = Severity::Error;
  Loc L;
  std::string Msg;
};

/// Parses an unsigned number literal (the whole of \p Text) by the language's
/// rules. On failure returns false with a message in \p Err.
bool parseNumberLiteral(std::string_view Text, NumberValue &Out,
                        std::string &Err);

/// Shortens \p Text for a message: at most 32 characters, then "...".
std::string abbreviate(std::string_view Text);

class Lexer {
public:
  explicit Lexer(std::string_view Text) : Text(Text) {}

  /// The next token. Lexical errors are appended to \p Diags (dropped when it
  /// is null) and returned as Error tokens.
  Token next(std::vector<PendingDiag> *Diags);

private:
  char peekChar(size_t Ahead = 0) const {
    return Pos + Ahead < Text.size() ? Text[Pos + Ahead] : '\0';
  }
  bool atEnd(size_t Ahead = 0) const { return Pos + Ahead >= Text.size(); }
  Loc here() const;
  Loc eofLoc() const;
  void skipSpaceAndComments();
  Token lexNumber(std::vector<PendingDiag> *Diags);
  Token make(TokKind K, size_t Begin, Loc L) const;

  std::string_view Text;
  size_t Pos = 0;
  uint32_t Line = 1;
  size_t LineStart = 0;
  size_t BracketDepth = 0;
};

} // namespace gradc::frontend
