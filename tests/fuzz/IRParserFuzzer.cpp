// libFuzzer target: any bytes as textual IR. The IR parser must report an
// error or produce a module that prints and parses back to the same text.
#include "ir/IRParser.h"
#include "ir/Printer.h"

#include <cstdlib>
#include <sstream>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *Data, size_t Size) {
  gradc::SourceFile Src("fuzz.ir",
                        std::string(reinterpret_cast<const char *>(Data), Size));
  std::ostringstream Sink;
  gradc::DiagnosticEngine Diags(Sink);
  Diags.setSource(&Src);
  auto M = gradc::ir::parseModule(Src, Diags);
  if (!M)
    return 0;
  std::string Text = gradc::ir::printModule(*M);
  gradc::SourceFile Again("again.ir", Text);
  gradc::DiagnosticEngine Diags2(Sink);
  Diags2.setSource(&Again);
  auto Back = gradc::ir::parseModule(Again, Diags2);
  if (!Back || gradc::ir::printModule(*Back) != Text)
    std::abort();
  return 0;
}
