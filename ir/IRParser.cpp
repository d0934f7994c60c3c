//===- ir/IRParser.cpp - Text to IR ---------------------------------------===//
//
// A hand-written lexer and recursive-descent parser for the form printed by
// Printer.cpp. Nodes are rebuilt through each op's shape rule, so a node whose
// printed type disagrees with its operands is an error at that line, and the
// parsed module satisfies the verifier. Every error names the IR file's
// line:col; nothing in the text can make the parser crash or loop.
//
//===----------------------------------------------------------------------===//
#include "ir/IRParser.h"

#include "ir/Fusion.h"
#include "ir/OpDefs.h"
#include "ir/Verifier.h"

#include <charconv>
#include <cmath>
#include <map>

namespace gradc::ir {
namespace {

enum class Tok { Eof, Ident, Percent, At, Int, Float, String, Punct, Error };

struct Token {
  Tok Kind = Tok::Eof;
  std::string Text; // identifier, name, string contents or punctuation
  int64_t IntVal = 0;
  double FloatVal = 0;
  Loc L;
};

static bool isIdentChar(char C) {
  return (C >= 'a' && C <= 'z') || (C >= 'A' && C <= 'Z') ||
         (C >= '0' && C <= '9') || C == '_' || C == '.' || C == '/';
}

class Lexer {
public:
  explicit Lexer(std::string_view Text) : Text(Text) {}

  Token next() {
    skipSpace();
    Token T;
    T.L = {Line, Col};
    if (Pos >= Text.size())
      return T;
    char C = Text[Pos];
    if (C == '%' || C == '@') {
      advance();
      T.Kind = C == '%' ? Tok::Percent : Tok::At;
      T.Text = identChars();
      if (T.Text.empty())
        return error(T, fmt::format("expected a name after '{}'", C));
      return T;
    }
    if (C == '"')
      return string(T);
    if (C == '-' || (C >= '0' && C <= '9'))
      return number(T);
    if (isIdentChar(C)) {
      T.Kind = Tok::Ident;
      T.Text = identChars();
      if (T.Text == "inf" || T.Text == "nan") {
        T.Kind = Tok::Float;
        T.FloatVal = T.Text == "inf" ? HUGE_VAL : std::nan("");
      }
      return T;
    }
    if (std::string_view("{}[](),:=").find(C) != std::string_view::npos) {
      advance();
      T.Kind = Tok::Punct;
      T.Text = std::string(1, C);
      return T;
    }
    advance();
    return error(T, fmt::format("unexpected character '{}'", printable(C)));
  }

private:
  static std::string printable(char C) {
    unsigned char U = static_cast<unsigned char>(C);
    return U >= 0x20 && U < 0x7f ? std::string(1, C) : fmt::format("\\x{:02x}", U);
  }
  Token error(Token T, std::string Msg) {
    T.Kind = Tok::Error;
    T.Text = std::move(Msg);
    return T;
  }
  void advance() {
    if (Text[Pos] == '\n') {
      ++Line;
      Col = 1;
    } else {
      ++Col;
    }
    ++Pos;
  }
  void skipSpace() {
    while (Pos < Text.size()) {
      char C = Text[Pos];
      if (C == ' ' || C == '\t' || C == '\n' || C == '\r')
        advance();
      else if (C == '#')
        while (Pos < Text.size() && Text[Pos] != '\n')
          advance();
      else
        break;
    }
  }
  std::string identChars() {
    size_t Begin = Pos;
    while (Pos < Text.size() && isIdentChar(Text[Pos]))
      advance();
    return std::string(Text.substr(Begin, Pos - Begin));
  }
  Token string(Token T) {
    advance();
    while (Pos < Text.size() && Text[Pos] != '"' && Text[Pos] != '\n') {
      char C = Text[Pos];
      advance();
      if (C != '\\') {
        T.Text += C;
        continue;
      }
      if (Pos >= Text.size())
        break;
      char E = Text[Pos];
      advance();
      if (E == '"' || E == '\\') {
        T.Text += E;
      } else if (E == 'x' && Pos + 2 <= Text.size()) {
        unsigned V = 0;
        auto [P, Ec] = std::from_chars(Text.data() + Pos, Text.data() + Pos + 2, V, 16);
        if (Ec != std::errc() || P != Text.data() + Pos + 2)
          return error(T, "bad \\x escape in string");
        advance();
        advance();
        T.Text += static_cast<char>(V);
      } else {
        return error(T, "bad escape in string");
      }
    }
    if (Pos >= Text.size() || Text[Pos] != '"')
      return error(T, "unterminated string");
    advance();
    T.Kind = Tok::String;
    return T;
  }
  Token number(Token T) {
    size_t Begin = Pos;
    if (Text[Pos] == '-')
      advance();
    if (Pos + 3 <= Text.size() && Text.substr(Pos, 3) == "inf") {
      for (int I = 0; I < 3; ++I)
        advance();
      T.Kind = Tok::Float;
      T.FloatVal = Text[Begin] == '-' ? -HUGE_VAL : HUGE_VAL;
      return T;
    }
    bool IsFloat = false;
    while (Pos < Text.size()) {
      char C = Text[Pos];
      if (C >= '0' && C <= '9') {
        advance();
      } else if (C == '.' || C == 'e' || C == 'E') {
        IsFloat = true;
        advance();
        if ((C == 'e' || C == 'E') && Pos < Text.size() &&
            (Text[Pos] == '-' || Text[Pos] == '+'))
          advance();
      } else {
        break;
      }
    }
    std::string_view S = Text.substr(Begin, Pos - Begin);
    const char *End = S.data() + S.size();
    if (IsFloat) {
      auto [P, Ec] = std::from_chars(S.data(), End, T.FloatVal);
      if (Ec != std::errc() || P != End)
        return error(T, fmt::format("bad number '{}'", S));
      T.Kind = Tok::Float;
    } else {
      auto [P, Ec] = std::from_chars(S.data(), End, T.IntVal);
      if (Ec != std::errc() || P != End)
        return error(T, fmt::format("bad integer '{}'", S));
      T.Kind = Tok::Int;
    }
    return T;
  }

  std::string_view Text;
  size_t Pos = 0;
  uint32_t Line = 1, Col = 1;
};

class Parser {
public:
  Parser(const SourceFile &Src, DiagnosticEngine &Diags)
      : Lex(Src.text()), Diags(Diags) {
    Cur = Lex.next();
  }

  std::unique_ptr<Module> parse();

private:
  // Token helpers. Every failure reports once and returns false; the parser
  // stops at the first error.
  bool fail(Loc L, std::string Msg) {
    if (!Failed)
      Diags.error(L, "{}", Msg);
    Failed = true;
    return false;
  }
  bool lexOk() {
    return Cur.Kind != Tok::Error || fail(Cur.L, Cur.Text);
  }
  void consume() { Cur = Lex.next(); }
  bool isPunct(char C) const {
    return Cur.Kind == Tok::Punct && Cur.Text[0] == C;
  }
  bool isIdent(std::string_view S) const {
    return Cur.Kind == Tok::Ident && Cur.Text == S;
  }
  bool expectPunct(char C) {
    if (!lexOk())
      return false;
    if (!isPunct(C))
      return fail(Cur.L, fmt::format("expected '{}'", C));
    consume();
    return true;
  }
  bool expectKeyword(std::string_view S) {
    if (!lexOk())
      return false;
    if (!isIdent(S))
      return fail(Cur.L, fmt::format("expected '{}'", S));
    consume();
    return true;
  }
  bool expect(Tok K, std::string_view What, Token &Out) {
    if (!lexOk())
      return false;
    if (Cur.Kind != K)
      return fail(Cur.L, fmt::format("expected {}", What));
    Out = Cur;
    consume();
    return true;
  }

  bool parseType(TensorType &T);
  bool parseLoc(Loc &L);
  bool parseAttrValue(AttrValue &V);
  bool parseAttrs(std::vector<NamedAttrValue> &Out, Loc &At);
  bool bind(std::string_view What, std::span<const AttrSpec> Specs,
            std::vector<NamedAttrValue> Named, Loc At, AttrList &Out);
  bool parseCall(const CallSpec *(*Lookup)(std::string_view),
                 std::string_view Kind, Call &Out);
  bool parseSymbol(Module &M);
  bool parseFunction(Module &M);
  bool parseNode(Module &M, Function &F, std::map<std::string, ValueId> &Names);
  bool parseTrain(Module &M);

  Lexer Lex;
  Token Cur;
  DiagnosticEngine &Diags;
  bool Failed = false;
};

bool Parser::parseType(TensorType &T) {
  Token Name;
  if (!expect(Tok::Ident, "a type such as f32[64, 10]", Name))
    return false;
  auto DT = parseDType(Name.Text);
  if (!DT)
    return fail(Name.L, fmt::format("unknown dtype '{}'", Name.Text));
  T = TensorType(*DT, {});
  if (!expectPunct('['))
    return false;
  int64_t Count = 1;
  while (!isPunct(']')) {
    if (!T.Dims.empty() && !expectPunct(','))
      return false;
    Token D;
    if (!expect(Tok::Int, "a dimension", D))
      return false;
    if (D.IntVal < 1)
      return fail(D.L, fmt::format("dimension {} is not positive", D.IntVal));
    if (D.IntVal > MaxElements / Count)
      return fail(D.L, "tensor has too many elements");
    Count *= D.IntVal;
    T.Dims.push_back(D.IntVal);
  }
  return expectPunct(']');
}

bool Parser::parseLoc(Loc &L) {
  if (!isIdent("loc"))
    return true;
  consume();
  Token Line, Col;
  if (!expectPunct('(') || !expect(Tok::Int, "a line number", Line) ||
      !expectPunct(':') || !expect(Tok::Int, "a column number", Col) ||
      !expectPunct(')'))
    return false;
  if (Line.IntVal < 1 || Line.IntVal > UINT32_MAX || Col.IntVal < 1 ||
      Col.IntVal > UINT32_MAX)
    return fail(Line.L, "location out of range");
  L = {static_cast<uint32_t>(Line.IntVal), static_cast<uint32_t>(Col.IntVal)};
  return true;
}

bool Parser::parseAttrValue(AttrValue &V) {
  if (!lexOk())
    return false;
  if (Cur.Kind == Tok::Int) {
    V = Cur.IntVal;
  } else if (Cur.Kind == Tok::Float) {
    V = Cur.FloatVal;
  } else if (isIdent("true") || isIdent("false")) {
    V = Cur.Text == "true";
  } else if (Cur.Kind == Tok::Ident && parseDType(Cur.Text)) {
    V = *parseDType(Cur.Text);
  } else if (isPunct('[')) {
    consume();
    IntList L;
    while (!isPunct(']')) {
      if (!L.empty() && !expectPunct(','))
        return false;
      Token I;
      if (!expect(Tok::Int, "an integer", I))
        return false;
      L.push_back(I.IntVal);
    }
    V = std::move(L);
  } else {
    return fail(Cur.L, "expected an attribute value");
  }
  consume();
  return true;
}

bool Parser::parseAttrs(std::vector<NamedAttrValue> &Out, Loc &At) {
  At = Cur.L;
  if (!isPunct('{'))
    return true;
  consume();
  while (!isPunct('}')) {
    if (!Out.empty() && !expectPunct(','))
      return false;
    Token Name;
    if (!expect(Tok::Ident, "an attribute name", Name) || !expectPunct('='))
      return false;
    AttrValue V;
    if (!parseAttrValue(V))
      return false;
    Out.push_back({Name.Text, std::move(V)});
  }
  consume();
  return true;
}

bool Parser::bind(std::string_view What, std::span<const AttrSpec> Specs,
                  std::vector<NamedAttrValue> Named, Loc At, AttrList &Out) {
  std::string Err;
  int ErrArg;
  if (!bindAttrs(What, Specs, {}, Named, Out, Err, ErrArg))
    return fail(At, Err);
  return true;
}

bool Parser::parseCall(const CallSpec *(*Lookup)(std::string_view),
                       std::string_view Kind, Call &Out) {
  Token Name;
  if (!expect(Tok::Ident, Kind, Name))
    return false;
  const CallSpec *Spec = Lookup(Name.Text);
  if (!Spec)
    return fail(Name.L, fmt::format("unknown {} '{}'", Kind, Name.Text));
  std::vector<NamedAttrValue> Named;
  Loc At;
  if (!parseAttrs(Named, At))
    return false;
  Out.Name = Name.Text;
  return bind(Name.Text, Spec->Args, std::move(Named), At, Out.Args);
}

bool Parser::parseSymbol(Module &M) {
  Symbol S;
  S.Kind = Cur.Text == "input"   ? SymbolKind::Input
           : Cur.Text == "param" ? SymbolKind::Param
           : Cur.Text == "arg"   ? SymbolKind::Arg
                                 : SymbolKind::State;
  consume();
  Token Name;
  if (!expect(Tok::At, "a symbol name such as @W1", Name))
    return false;
  if (M.lookupSymbol(Name.Text))
    return fail(Name.L, fmt::format("redefinition of symbol @{}", Name.Text));
  S.Name = Name.Text;
  if (!expectPunct(':') || !parseType(S.Type))
    return false;
  if (S.Kind == SymbolKind::Arg && !isFloat(S.Type.Elt))
    return fail(Name.L, fmt::format("@{} must have a float type", S.Name));
  if (!S.isReadByInput()) {
    if (!isFloat(S.Type.Elt))
      return fail(Name.L, fmt::format("@{} must have a float type", S.Name));
    if (!expectPunct('=') ||
        !parseCall(lookupInitializer, "initializer", S.Init))
      return false;
  }
  if (!parseLoc(S.L))
    return false;
  M.Symbols.push_back(std::move(S));
  return true;
}

bool Parser::parseNode(Module &M, Function &F,
                       std::map<std::string, ValueId> &Names) {
  Token Result = Cur;
  consume();
  Token OpName;
  if (!expectPunct('=') || !expect(Tok::Ident, "an op name", OpName))
    return false;
  auto O = lookupOp(OpName.Text);
  if (!O)
    return fail(OpName.L, fmt::format("unknown op '{}'", OpName.Text));
  const OpInfo &Info = getOpInfo(*O);
  Node N;
  N.Opcode = *O;
  bool Numbered = Result.Text[0] >= '0' && Result.Text[0] <= '9';
  if (!Numbered)
    N.Name = Result.Text;
  if (Names.count(Result.Text))
    return fail(Result.L, fmt::format("redefinition of %{}", Result.Text));
  if (Info.has(OF_Symbol)) {
    Token Sym;
    if (!expect(Tok::At, "a symbol name", Sym))
      return false;
    const Symbol *S = M.lookupSymbol(Sym.Text);
    if (!S)
      return fail(Sym.L, fmt::format("unknown symbol @{}", Sym.Text));
    bool KindOk = (*O == Op::Input) == S->isReadByInput();
    if (!KindOk)
      return fail(Sym.L, fmt::format("'{}' cannot read {} @{}", OpName.Text,
                                     symbolKindName(S->Kind), S->Name));
    N.Symbol = Sym.Text;
  }
  std::vector<Loc> OperandLocs;
  while (Cur.Kind == Tok::Percent) {
    auto It = Names.find(Cur.Text);
    if (It == Names.end())
      return fail(Cur.L, fmt::format("use of undefined value %{}", Cur.Text));
    N.Operands.push_back(It->second);
    OperandLocs.push_back(Cur.L);
    consume();
    if (!isPunct(','))
      break;
    consume();
    if (Cur.Kind != Tok::Percent)
      return fail(Cur.L, "expected an operand");
  }
  std::vector<NamedAttrValue> Named;
  Loc AttrLoc;
  if (!parseAttrs(Named, AttrLoc) ||
      !bind(OpName.Text, getOpDef(*O).Attrs, std::move(Named), AttrLoc, N.Attrs))
    return false;
  Loc TypeLoc = Cur.L;
  if (!expectPunct(':') || !parseType(N.Type) || !parseLoc(N.L))
    return false;
  if (Info.Family == OpFamily::Source) {
    size_t Want = *O == Op::Assign ? 1 : 0;
    if (N.Operands.size() != Want)
      return fail(OpName.L, fmt::format("'{}' takes {} operand{}", OpName.Text,
                                        Want, Want == 1 ? "" : "s"));
    if (Want && F.type(N.Operands[0]) != N.Type)
      return fail(OperandLocs[0], fmt::format("assigned value is {}, not {}",
                                              formatType(F.type(N.Operands[0])),
                                              formatType(N.Type)));
    if (const Symbol *S = M.lookupSymbol(N.Symbol); S && S->Type != N.Type)
      return fail(TypeLoc, fmt::format("type {} differs from @{}'s {}",
                                       formatType(N.Type), S->Name,
                                       formatType(S->Type)));
  } else {
    std::vector<TensorType> Types;
    for (ValueId V : N.Operands)
      Types.push_back(F.type(V));
    TensorType Inferred;
    std::string Err;
    int ErrOperand;
    AttrList Attrs = N.Attrs;
    if (!inferType(*O, Types, Attrs, Inferred, Err, ErrOperand))
      return fail(ErrOperand >= 0 ? OperandLocs[ErrOperand] : OpName.L, Err);
    if (Inferred != N.Type)
      return fail(TypeLoc, fmt::format("type {} differs from the {} that '{}' "
                                       "gives for these operands",
                                       formatType(N.Type), formatType(Inferred),
                                       OpName.Text));
    if (Attrs != N.Attrs)
      return fail(AttrLoc, fmt::format("attributes are not in normal form; "
                                       "'{}' normalizes them to {}",
                                       OpName.Text, formatAttrs(Attrs)));
  }
  Names[Result.Text] = static_cast<ValueId>(F.Nodes.size());
  F.Nodes.push_back(std::move(N));
  return true;
}

bool Parser::parseFunction(Module &M) {
  consume();
  Token Name;
  if (!expect(Tok::At, "a function name such as @model", Name))
    return false;
  if (M.lookupFunction(Name.Text))
    return fail(Name.L, fmt::format("redefinition of function @{}", Name.Text));
  M.Functions.push_back(Function{Name.Text, {}, {}, {}});
  Function &F = M.Functions.back();
  std::map<std::string, ValueId> Names;
  if (!expectPunct('{'))
    return false;
  while (lexOk() && !isPunct('}')) {
    if (Cur.Kind == Tok::Percent) {
      if (!F.Results.empty())
        return fail(Cur.L, "nodes must come before the results");
      if (!parseNode(M, F, Names))
        return false;
      continue;
    }
    if (isIdent("fused")) {
      // fused KIND { NODE... }: a fusion group (ir/Fusion.h).
      if (!F.Results.empty())
        return fail(Cur.L, "nodes must come before the results");
      Loc At = Cur.L;
      consume();
      Token Kind;
      if (!expect(Tok::Ident, "a fusion kind (loop, reduce)", Kind))
        return false;
      auto FK = parseFusionKind(Kind.Text);
      if (!FK)
        return fail(Kind.L, fmt::format("unknown fusion kind '{}' (kinds: loop, "
                                        "reduce)",
                                        Kind.Text));
      if (!expectPunct('{'))
        return false;
      FusionGroup G{*FK, static_cast<ValueId>(F.Nodes.size()), 0};
      while (lexOk() && Cur.Kind == Tok::Percent)
        if (!parseNode(M, F, Names))
          return false;
      if (!expectPunct('}'))
        return false;
      G.End = static_cast<ValueId>(F.Nodes.size());
      if (G.End == G.Begin)
        return fail(At, "empty fused region");
      F.Groups.push_back(G);
      continue;
    }
    ResultKind K;
    if (isIdent("output"))
      K = ResultKind::Output;
    else if (isIdent("metric"))
      K = ResultKind::Metric;
    else if (isIdent("loss"))
      K = ResultKind::Loss;
    else
      return fail(Cur.L, "expected a node, a fused region, a result (output, "
                         "metric, loss) or '}'");
    consume();
    Token RName, Value;
    if (!expect(Tok::Ident, "a result name", RName) || !expectPunct('=') ||
        !expect(Tok::Percent, "a value such as %probs", Value))
      return false;
    auto It = Names.find(Value.Text);
    if (It == Names.end())
      return fail(Value.L, fmt::format("use of undefined value %{}", Value.Text));
    for (const Result &R : F.Results)
      if (R.Kind == K && R.Name == RName.Text)
        return fail(RName.L, fmt::format("duplicate {} '{}'", resultKindName(K),
                                         RName.Text));
    F.Results.push_back({K, RName.Text, It->second});
  }
  return expectPunct('}');
}

bool Parser::parseTrain(Module &M) {
  Loc TrainLoc = Cur.L;
  consume();
  if (M.Train)
    return fail(TrainLoc, "more than one train block");
  TrainConfig T;
  if (!expectPunct('{') || !expectKeyword("minimize"))
    return false;
  Token Loss;
  if (!expect(Tok::Percent, "the loss value", Loss) || !parseLoc(T.MinimizeLoc))
    return false;
  T.Minimize = Loss.Text;
  const Function *Model = M.lookupFunction("model");
  if (Model && !Model->lookup(Loss.Text))
    return fail(Loss.L, fmt::format("@model has no value %{}", Loss.Text));

  if (!expectKeyword("optimizer") ||
      !parseCall(lookupOptimizer, "optimizer", T.Optimizer) ||
      !parseLoc(T.OptimizerLoc))
    return false;
  if (isIdent("clip_grad_norm")) {
    consume();
    if (!lexOk())
      return false;
    if (Cur.Kind == Tok::Int)
      T.ClipGradNorm = static_cast<double>(Cur.IntVal);
    else if (Cur.Kind == Tok::Float)
      T.ClipGradNorm = Cur.FloatVal;
    else
      return fail(Cur.L, "expected a number");
    consume();
  }
  if (isIdent("schedule")) {
    consume();
    T.Schedule.emplace();
    if (!parseCall(lookupSchedule, "schedule", *T.Schedule))
      return false;
  }
  M.Train = std::move(T);
  return expectPunct('}');
}

std::unique_ptr<Module> Parser::parse() {
  auto M = std::make_unique<Module>();
  Token Name;
  if (!expectKeyword("module") ||
      !expect(Tok::At, "a module name such as @mnist_mlp", Name))
    return nullptr;
  M->Name = Name.Text;
  if (isIdent("source")) {
    consume();
    Token S;
    if (!expect(Tok::String, "a quoted file name", S))
      return nullptr;
    M->SourceName = S.Text;
  }
  while (lexOk() && Cur.Kind != Tok::Eof) {
    bool Ok;
    if (isIdent("input") || isIdent("param") || isIdent("state") ||
        isIdent("arg"))
      Ok = M->Functions.empty() ? parseSymbol(*M)
                                : fail(Cur.L, "symbols must come before functions");
    else if (isIdent("func"))
      Ok = !M->Train ? parseFunction(*M)
                     : fail(Cur.L, "functions must come before the train block");
    else if (isIdent("train"))
      Ok = parseTrain(*M);
    else
      Ok = fail(Cur.L,
                "expected 'input', 'param', 'state', 'arg', 'func' or 'train'");
    if (!Ok)
      return nullptr;
  }
  if (Failed)
    return nullptr;
  std::vector<std::string> Problems = verifyModule(*M);
  for (const std::string &P : Problems)
    Diags.error({}, "{}", P);
  return Problems.empty() ? std::move(M) : nullptr;
}

} // namespace

std::unique_ptr<Module> parseModule(const SourceFile &Src,
                                    DiagnosticEngine &Diags) {
  return Parser(Src, Diags).parse();
}

} // namespace gradc::ir
