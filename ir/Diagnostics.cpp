#include "ir/Diagnostics.h"

namespace gradc {

SourceFile::SourceFile(std::string Name, std::string Text)
    : Name(std::move(Name)), Text(std::move(Text)) {
  LineStarts.push_back(0);
  for (size_t I = 0; I < this->Text.size(); ++I)
    if (this->Text[I] == '\n')
      LineStarts.push_back(I + 1);
}

std::string_view SourceFile::line(uint32_t Line) const {
  if (Line == 0 || Line > LineStarts.size())
    return {};
  size_t Begin = LineStarts[Line - 1];
  size_t End = Text.find('\n', Begin);
  if (End == std::string::npos)
    End = Text.size();
  if (End > Begin && Text[End - 1] == '\r')
    --End;
  return std::string_view(Text).substr(Begin, End - Begin);
}

static std::string_view severityName(Severity S) {
  switch (S) {
  case Severity::Error:
    return "error";
  case Severity::Warning:
    return "warning";
  case Severity::Note:
    return "note";
  }
  return "?";
}

void DiagnosticEngine::report(Severity S, Loc L, std::string_view Msg) {
  if (S == Severity::Error) {
    if (NumErrors >= ErrorLimit) {
      if (!Suppressing)
        OS << "gradc: error: too many errors, stopping\n";
      Suppressing = true;
      ++NumErrors;
      return;
    }
    ++NumErrors;
  } else if (S == Severity::Warning) {
    ++NumWarnings;
  }
  if (Suppressing)
    return;
  std::string Prefix = Source ? Source->name() : std::string("gradc");
  if (Source && L.isValid())
    Prefix += fmt::format(":{}:{}", L.Line, L.Col);
  OS << Prefix << ": " << severityName(S) << ": " << Msg << '\n';
  if (!Source || !L.isValid() || !Source->hasLine(L.Line))
    return;
  std::string_view Line = Source->line(L.Line);
  // Show the line (control characters as spaces so the caret lines up) and a
  // caret under the column; tabs are kept so the caret stays aligned.
  std::string Shown, Caret;
  for (char C : Line)
    Shown += (static_cast<unsigned char>(C) < 0x20 && C != '\t') ? ' ' : C;
  for (size_t I = 0; I + 1 < L.Col && I < Line.size(); ++I)
    Caret += Line[I] == '\t' ? '\t' : ' ';
  OS << Shown << '\n' << Caret << "^\n";
}

} // namespace gradc
