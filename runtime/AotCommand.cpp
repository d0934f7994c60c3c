//===- runtime/AotCommand.cpp - gradc compile -----------------------------===//
//
// `gradc compile MODEL -o OUT [--header OUT.h] [--emit obj|asm|llvm]
// [--cpu NAME] [--threads N]`: the module of the pipeline (buildFinalModule,
// the one the JIT compiles), then codegen/Aot.h's object and header, each
// written atomically. The runtime error messages of the object's
// PREFIX_last_error are made here, with the same source location and input
// names the backends give (failingInputsSuffix), for every node that reads
// i32 ids.
//
//===----------------------------------------------------------------------===//
#include "codegen/Aot.h"
#include "runtime/Commands.h"
#include "runtime/FileIO.h"

#include <fmt/format.h>

namespace gradc::runtime {
namespace {

bool writeText(const std::string &Path, const std::string &Text,
               std::string &Err) {
  std::span<const uint8_t> Bytes(reinterpret_cast<const uint8_t *>(Text.data()),
                                 Text.size());
  std::span<const uint8_t> Parts[] = {Bytes};
  return writeFileAtomically(Path, Parts, Err);
}

/// "FILE:LINE:COL: 'op': an id is out of range (input 'ids')" for every node
/// that reads an i32 value.
std::map<std::pair<std::string, ir::ValueId>, std::string>
errorMessages(const ir::Module &M) {
  std::map<std::pair<std::string, ir::ValueId>, std::string> Out;
  for (const ir::Function &F : M.Functions)
    for (ir::ValueId V = 0; V < F.Nodes.size(); ++V) {
      const ir::Node &N = F.Nodes[V];
      if (ir::getOpInfo(N.Opcode).Family == ir::OpFamily::Source)
        continue;
      bool ReadsIds = false;
      for (ir::ValueId O : N.Operands)
        ReadsIds |= F.type(O).Elt == ir::DType::I32;
      if (!ReadsIds)
        continue;
      std::string Msg =
          fmt::format("'{}': an id is out of range", ir::mnemonic(N.Opcode));
      if (N.L.isValid())
        Msg = fmt::format("{}:{}:{}: {}", M.SourceName, N.L.Line, N.L.Col, Msg);
      Out[{F.Name, V}] = Msg + failingInputsSuffix(M, F, V);
    }
  return Out;
}

} // namespace

int runCompile(const SourceFile &Model, const CompileCommand &C,
               std::ostream &Log) {
  auto Fail = [&](const std::string &Msg) {
    Log << "gradc: error: compile: " << Msg << '\n';
    return 1;
  };
  codegen::AotOptions O;
  if (C.Emit == "obj")
    O.Emit = codegen::AotEmit::Object;
  else if (C.Emit == "asm")
    O.Emit = codegen::AotEmit::Assembly;
  else if (C.Emit == "llvm")
    O.Emit = codegen::AotEmit::LLVM;
  else
    return Fail(fmt::format("--emit: unknown kind '{}' (kinds: obj, asm, llvm)",
                            C.Emit));
  if (C.OutPath.empty())
    return Fail("no output file given (-o OUT.o)");
  O.Cpu = C.Cpu;
  O.Threads = C.Compile.Threads == 0 ? 1 : C.Compile.Threads;

  DiagnosticEngine Diags(Log);
  Diags.setSource(&Model);
  std::unique_ptr<ir::Module> M = buildFinalModule(Model, C.Compile, Diags, Log);
  if (!M)
    return 1;
  O.ErrorMessages = errorMessages(*M);
  std::string Out, Err;
  if (!codegen::compileAot(*M, O, Out, Err))
    return Fail(Err);
  if (!writeText(C.OutPath, Out, Err))
    return Fail(Err);
  if (!C.HeaderPath.empty() &&
      !writeText(C.HeaderPath, codegen::aotHeader(*M, O), Err))
    return Fail(Err);
  return 0;
}

} // namespace gradc::runtime
