// libFuzzer target: any bytes as a model file. The front end must report
// diagnostics and return; a crash, hang, leak or sanitizer report is a bug.
// When the model is accepted, its printed IR must parse back to the same text.
#include "frontend/Frontend.h"
#include "ir/IRParser.h"
#include "ir/Printer.h"

#include <cstdlib>
#include <sstream>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *Data, size_t Size) {
  gradc::SourceFile Src("fuzz.nn",
                        std::string(reinterpret_cast<const char *>(Data), Size));
  std::ostringstream Sink;
  gradc::DiagnosticEngine Diags(Sink);
  Diags.setSource(&Src);
  auto M = gradc::loadModel(Src, {}, Diags);
  if (!M)
    return 0;
  std::string Text = gradc::ir::printModule(*M);
  gradc::SourceFile IR("fuzz.ir", Text);
  gradc::DiagnosticEngine IRDiags(Sink);
  IRDiags.setSource(&IR);
  auto Back = gradc::ir::parseModule(IR, IRDiags);
  if (!Back || gradc::ir::printModule(*Back) != Text)
    std::abort(); // the printed IR of an accepted model must round-trip
  return 0;
}
