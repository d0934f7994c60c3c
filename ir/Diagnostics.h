//===- ir/Diagnostics.h - The one diagnostic engine --------------*- C++ -*-===//
//
// Every user-facing error, warning and note goes through a DiagnosticEngine:
//
//   model.nn:12:17: error: cannot broadcast f32[64, 784] with f32[100]
//   h = relu(x / 255.0 @ W1 + b1)
//                   ^
//
// Parsers and checkers never print by themselves. Internal invariants are
// asserts, not diagnostics.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <fmt/format.h>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace gradc {

/// A position in the source file: 1-based line and column; 0 means unknown.
struct Loc {
  uint32_t Line = 0;
  uint32_t Col = 0;
  bool isValid() const { return Line != 0; }
  bool operator==(const Loc &) const = default;
};

/// A source buffer and its name, with line lookup for carets.
class SourceFile {
public:
  SourceFile(std::string Name, std::string Text);
  const std::string &name() const { return Name; }
  const std::string &text() const { return Text; }
  /// The text of line \p Line (1-based) without its newline.
  std::string_view line(uint32_t Line) const;
  bool hasLine(uint32_t Line) const {
    return Line >= 1 && Line <= LineStarts.size() && !Text.empty();
  }

private:
  std::string Name;
  std::string Text;
  std::vector<size_t> LineStarts;
};

enum class Severity { Error, Warning, Note };

class DiagnosticEngine {
public:
  /// Diagnostics are written to \p OS as they are reported.
  explicit DiagnosticEngine(std::ostream &OS) : OS(OS) {}

  /// The file that locations refer to; may be null (no carets then).
  void setSource(const SourceFile *F) { Source = F; }
  const SourceFile *source() const { return Source; }

  void report(Severity S, Loc L, std::string_view Msg);

  template <typename... Args>
  void error(Loc L, fmt::format_string<Args...> F, Args &&...A) {
    report(Severity::Error, L, fmt::format(F, std::forward<Args>(A)...));
  }
  template <typename... Args>
  void warning(Loc L, fmt::format_string<Args...> F, Args &&...A) {
    report(Severity::Warning, L, fmt::format(F, std::forward<Args>(A)...));
  }
  template <typename... Args>
  void note(Loc L, fmt::format_string<Args...> F, Args &&...A) {
    report(Severity::Note, L, fmt::format(F, std::forward<Args>(A)...));
  }

  unsigned numErrors() const { return NumErrors; }
  unsigned numWarnings() const { return NumWarnings; }
  bool hasErrors() const { return NumErrors != 0; }
  /// After this many errors the rest are dropped and one line says so.
  void setErrorLimit(unsigned N) { ErrorLimit = N; }
  bool tooManyErrors() const { return NumErrors >= ErrorLimit; }

private:
  std::ostream &OS;
  const SourceFile *Source = nullptr;
  unsigned NumErrors = 0;
  unsigned NumWarnings = 0;
  unsigned ErrorLimit = 20;
  bool Suppressing = false;
};

} // namespace gradc
