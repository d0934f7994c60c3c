//===- tests/unit/LexerTest.cpp - Tokens of the model language ------------===//
//
// Token kinds and locations, newlines inside brackets, comments, numbers and
// their errors, bad bytes, CRLF and the end-of-file location.
//
//===----------------------------------------------------------------------===//
#include "frontend/Lexer.h"

#include <gtest/gtest.h>

using namespace gradc;
using namespace gradc::frontend;

namespace {

struct Lexed {
  std::vector<Token> Toks;
  std::vector<PendingDiag> Diags;
};

Lexed lexAll(std::string_view Text) {
  Lexed R;
  Lexer L(Text);
  while (true) {
    Token T = L.next(&R.Diags);
    R.Toks.push_back(T);
    if (T.Kind == TokKind::Eof)
      break;
  }
  return R;
}

std::vector<TokKind> kinds(const Lexed &R) {
  std::vector<TokKind> K;
  for (const Token &T : R.Toks)
    K.push_back(T.Kind);
  return K;
}

using K = TokKind;

TEST(LexerTest, PunctuationAndNames) {
  Lexed R = lexAll("h = relu(x / 255.0 @ W1 + b1)");
  EXPECT_EQ(kinds(R),
            (std::vector<TokKind>{K::Name, K::Equal, K::Name, K::LParen,
                                  K::Name, K::Slash, K::Float, K::At, K::Name,
                                  K::Plus, K::Name, K::RParen, K::Eof}));
  EXPECT_TRUE(R.Diags.empty());
  EXPECT_EQ(R.Toks[2].Text, "relu");
  EXPECT_EQ(R.Toks[2].L, (Loc{1, 5}));
  EXPECT_EQ(R.Toks[7].L, (Loc{1, 20}));
}

TEST(LexerTest, AllPunctuation) {
  Lexed R = lexAll("+ - * / @ ( ) [ ] { } , = :");
  EXPECT_EQ(kinds(R),
            (std::vector<TokKind>{K::Plus, K::Minus, K::Star, K::Slash, K::At,
                                  K::LParen, K::RParen, K::LBracket,
                                  K::RBracket, K::LBrace, K::RBrace, K::Comma,
                                  K::Equal, K::Colon, K::Eof}));
}

TEST(LexerTest, Keywords) {
  Lexed R = lexAll("model const input param output metric train true false "
                   "f32 f64 i32 minimize inputs");
  EXPECT_EQ(kinds(R),
            (std::vector<TokKind>{
                K::KwModel, K::KwConst, K::KwInput, K::KwParam, K::KwOutput,
                K::KwMetric, K::KwTrain, K::KwTrue, K::KwFalse, K::KwF32,
                K::KwF64, K::KwI32, K::Name, K::Name, K::Eof}));
}

TEST(LexerTest, NewlinesOnlyOutsideBrackets) {
  Lexed R = lexAll("a = f(x,\n  y)\nb = [1,\n2]\n");
  EXPECT_EQ(kinds(R),
            (std::vector<TokKind>{
                K::Name, K::Equal, K::Name, K::LParen, K::Name, K::Comma,
                K::Name, K::RParen, K::Newline, K::Name, K::Equal, K::LBracket,
                K::Int, K::Comma, K::Int, K::RBracket, K::Newline, K::Eof}));
  EXPECT_EQ(R.Toks[6].L, (Loc{2, 3}));  // y
  EXPECT_EQ(R.Toks[9].L, (Loc{3, 1}));  // b
  EXPECT_EQ(R.Toks[14].L, (Loc{4, 1})); // 2
}

TEST(LexerTest, BracesDoNotHideNewlines) {
  Lexed R = lexAll("train {\n minimize loss\n}");
  EXPECT_EQ(kinds(R),
            (std::vector<TokKind>{K::KwTrain, K::LBrace, K::Newline, K::Name,
                                  K::Name, K::Newline, K::RBrace, K::Eof}));
}

TEST(LexerTest, StrayClosingBracketDoesNotUnderflow) {
  Lexed R = lexAll(")\na");
  EXPECT_EQ(kinds(R),
            (std::vector<TokKind>{K::RParen, K::Newline, K::Name, K::Eof}));
}

TEST(LexerTest, Comments) {
  Lexed R = lexAll("# a comment\nx = 1 # trailing (\ny");
  EXPECT_EQ(kinds(R),
            (std::vector<TokKind>{K::Newline, K::Name, K::Equal, K::Int,
                                  K::Newline, K::Name, K::Eof}));
  EXPECT_EQ(R.Toks[5].L, (Loc{3, 1}));
}

TEST(LexerTest, Numbers) {
  Lexed R = lexAll("64 0.5 1e-3 2.5E+2 .5 3. 0");
  ASSERT_TRUE(R.Diags.empty());
  EXPECT_EQ(R.Toks[0].Kind, K::Int);
  EXPECT_EQ(R.Toks[0].Num.Int, 64);
  EXPECT_EQ(R.Toks[1].Kind, K::Float);
  EXPECT_DOUBLE_EQ(R.Toks[1].Num.Float, 0.5);
  EXPECT_EQ(R.Toks[2].Kind, K::Float);
  EXPECT_DOUBLE_EQ(R.Toks[2].Num.Float, 1e-3);
  EXPECT_DOUBLE_EQ(R.Toks[3].Num.Float, 250.0);
  EXPECT_DOUBLE_EQ(R.Toks[4].Num.Float, 0.5);
  EXPECT_EQ(R.Toks[5].Kind, K::Float);
  EXPECT_DOUBLE_EQ(R.Toks[5].Num.Float, 3.0);
  EXPECT_EQ(R.Toks[6].Kind, K::Int);
  EXPECT_EQ(R.Toks[6].Num.Int, 0);
}

TEST(LexerTest, LargestIntegerAndOverflow) {
  Lexed R = lexAll("9223372036854775807 9223372036854775808");
  EXPECT_EQ(R.Toks[0].Kind, K::Int);
  EXPECT_EQ(R.Toks[0].Num.Int, INT64_MAX);
  EXPECT_EQ(R.Toks[1].Kind, K::Error);
  ASSERT_EQ(R.Diags.size(), 1u);
  EXPECT_EQ(R.Diags[0].Msg,
            "integer literal '9223372036854775808' is too large");
  EXPECT_EQ(R.Diags[0].L, (Loc{1, 21}));
}

TEST(LexerTest, FloatOverflowAndUnderflow) {
  Lexed R = lexAll("1e999 1e-999");
  EXPECT_EQ(R.Toks[0].Kind, K::Error);
  EXPECT_EQ(R.Toks[1].Kind, K::Float);
  ASSERT_EQ(R.Diags.size(), 1u);
  EXPECT_EQ(R.Diags[0].Msg, "number '1e999' is too large");
}

TEST(LexerTest, MalformedNumbers) {
  for (std::string_view S : {"28x", "1e", "1.5e+", "1..2", "2_000", "1.2.3"}) {
    Lexed R = lexAll(S);
    ASSERT_EQ(R.Diags.size(), 1u) << S;
    EXPECT_EQ(R.Diags[0].Msg, "malformed number '" + std::string(S) + "'");
    EXPECT_EQ(R.Toks[0].Kind, K::Error);
    EXPECT_EQ(R.Toks[1].Kind, K::Eof) << S; // one token, not several
  }
}

TEST(LexerTest, HugeNumberIsAbbreviated) {
  std::string S(1000, '9');
  Lexed R = lexAll(S);
  ASSERT_EQ(R.Diags.size(), 1u);
  EXPECT_EQ(R.Diags[0].Msg,
            "integer literal '" + std::string(29, '9') + "...' is too large");
}

TEST(LexerTest, BadBytes) {
  Lexed R = lexAll(std::string("a \x07 $ \xc3\xa9 ", 9) + std::string(1, '\0'));
  EXPECT_EQ(kinds(R),
            (std::vector<TokKind>{K::Name, K::Error, K::Error, K::Error,
                                  K::Error, K::Error, K::Eof}));
  ASSERT_EQ(R.Diags.size(), 5u);
  EXPECT_EQ(R.Diags[0].Msg, "unexpected character '\\x07'");
  EXPECT_EQ(R.Diags[0].L, (Loc{1, 3}));
  EXPECT_EQ(R.Diags[1].Msg, "unexpected character '$'");
  EXPECT_EQ(R.Diags[2].Msg, "unexpected character '\\xc3'");
  EXPECT_EQ(R.Diags[3].Msg, "unexpected character '\\xa9'");
  EXPECT_EQ(R.Diags[4].Msg, "unexpected character '\\x00'");
}

TEST(LexerTest, CRLF) {
  Lexed R = lexAll("a = 1\r\nb = f(\r\n x)\r\n");
  EXPECT_TRUE(R.Diags.empty());
  EXPECT_EQ(kinds(R),
            (std::vector<TokKind>{K::Name, K::Equal, K::Int, K::Newline,
                                  K::Name, K::Equal, K::Name, K::LParen,
                                  K::Name, K::RParen, K::Newline, K::Eof}));
  EXPECT_EQ(R.Toks[8].L, (Loc{3, 2}));
}

TEST(LexerTest, LoneCarriageReturnIsAnError) {
  Lexed R = lexAll("a\rb");
  ASSERT_EQ(R.Diags.size(), 1u);
  EXPECT_EQ(R.Diags[0].Msg, "unexpected character '\\x0d'");
}

TEST(LexerTest, EofLocation) {
  EXPECT_EQ(lexAll("").Toks.back().L, (Loc{1, 1}));
  EXPECT_EQ(lexAll("abc").Toks.back().L, (Loc{1, 4}));
  // After a final newline, EOF is placed at the end of the last line.
  EXPECT_EQ(lexAll("ab\nabcd\n").Toks.back().L, (Loc{2, 5}));
  EXPECT_EQ(lexAll("ab\r\n").Toks.back().L, (Loc{1, 3}));
  EXPECT_EQ(lexAll("f(\n").Toks.back().L, (Loc{1, 3}));
}

TEST(LexerTest, NullDiagsDropsErrors) {
  Lexer L("$");
  EXPECT_EQ(L.next(nullptr).Kind, K::Error);
  EXPECT_EQ(L.next(nullptr).Kind, K::Eof);
  EXPECT_EQ(L.next(nullptr).Kind, K::Eof);
}

TEST(LexerTest, ParseNumberLiteral) {
  NumberValue N;
  std::string Err;
  EXPECT_TRUE(parseNumberLiteral("128", N, Err));
  EXPECT_TRUE(N.IsInt);
  EXPECT_EQ(N.Int, 128);
  EXPECT_TRUE(parseNumberLiteral("1e-3", N, Err));
  EXPECT_FALSE(N.IsInt);
  EXPECT_FALSE(parseNumberLiteral("", N, Err));
  EXPECT_FALSE(parseNumberLiteral("-1", N, Err));
  EXPECT_FALSE(parseNumberLiteral("12a", N, Err));
  EXPECT_EQ(Err, "malformed number '12a'");
}

TEST(LexerTest, FormatNumber) {
  EXPECT_EQ(formatNumber(NumberValue::ofInt(-3)), "-3");
  EXPECT_EQ(formatNumber(NumberValue::ofFloat(21.5)), "21.5");
  EXPECT_EQ(formatNumber(NumberValue::ofFloat(2.0)), "2.0");
}

} // namespace
