//===- ir/Printer.cpp - IR to text --------------------------------------===//
//
// Prints a module in the form IRParser reads back exactly:
//
//   module @NAME source "FILE"
//   input @x : f32[64, 784] loc(8:8)
//   param @W1 : f32[784, 128] = he_normal loc(11:8)
//   func @model {
//     %0 = div %x, %c {attrs} : f32[64, 784] loc(17:12)
//     fused loop {  # 2 ops -> %h          (a fusion group, ir/Fusion.h)
//       %3 = add %2, %b1 : f32[64, 128] loc(31:30)
//       %h = relu %3 : f32[64, 128] loc(31:10)
//     }
//     output probs = %probs
//   }
//   train { ... }
//
// Named values print by name, temporaries are numbered in order.
//
//===----------------------------------------------------------------------===//
#include "ir/Printer.h"

#include "ir/Fusion.h"

#include <fmt/format.h>
#include <sstream>

namespace gradc::ir {

static std::string quote(std::string_view S) {
  std::string Out = "\"";
  for (unsigned char C : S) {
    if (C == '"' || C == '\\')
      Out += {'\\', static_cast<char>(C)};
    else if (C < 0x20 || C >= 0x7f)
      Out += fmt::format("\\x{:02x}", C);
    else
      Out += static_cast<char>(C);
  }
  return Out + "\"";
}

static std::string formatLoc(Loc L) {
  return L.isValid() ? fmt::format(" loc({}:{})", L.Line, L.Col) : "";
}

static std::string formatCall(const Call &C) {
  std::string A = formatAttrs(C.Args);
  return A.empty() ? C.Name : C.Name + " " + A;
}

static void printFunction(const Function &F, std::ostream &OS) {
  std::vector<std::string> Names(F.Nodes.size());
  unsigned Next = 0;
  for (size_t I = 0; I < F.Nodes.size(); ++I)
    Names[I] = F.Nodes[I].Name.empty() ? fmt::format("%{}", Next++)
                                       : "%" + F.Nodes[I].Name;
  OS << "func @" << F.Name << " {";
  if (!F.Groups.empty())
    OS << "  # kernels: " << countKernels(F);
  OS << '\n';
  FusionInfo Info = analyzeFusion(F);
  size_t NextGroup = 0;
  for (size_t I = 0; I < F.Nodes.size(); ++I) {
    const Node &N = F.Nodes[I];
    const FusionGroup *G =
        NextGroup < F.Groups.size() ? &F.Groups[NextGroup] : nullptr;
    bool InGroup = G && I >= G->Begin && I < G->End;
    if (G && I == G->Begin) {
      std::vector<std::string> Outs;
      for (ValueId V = G->Begin; V < G->End; ++V)
        if (Info.IsOutput[V])
          Outs.push_back(Names[V]);
      OS << fmt::format("  fused {} {{  # {} ops -> {}\n", fusionKindName(G->Kind),
                        G->End - G->Begin, fmt::join(Outs, ", "));
    }
    std::string Line = fmt::format("{}  {} = {}", InGroup ? "  " : "",
                                   Names[I], mnemonic(N.Opcode));
    if (!N.Symbol.empty())
      Line += " @" + N.Symbol;
    for (size_t J = 0; J < N.Operands.size(); ++J)
      Line += (J ? ", " : " ") + Names[N.Operands[J]];
    if (std::string A = formatAttrs(N.Attrs); !A.empty())
      Line += " " + A;
    Line += " : " + formatType(N.Type) + formatLoc(N.L);
    OS << Line << '\n';
    if (G && I + 1 == G->End) {
      OS << "  }\n";
      ++NextGroup;
    }
  }
  for (const Result &R : F.Results)
    OS << "  " << resultKindName(R.Kind) << ' ' << R.Name << " = "
       << Names[R.Value] << '\n';
  OS << "}\n";
}

void printModule(const Module &M, std::ostream &OS) {
  OS << "module @" << M.Name;
  if (!M.SourceName.empty())
    OS << " source " << quote(M.SourceName);
  OS << '\n';
  if (!M.Symbols.empty())
    OS << '\n';
  for (const Symbol &S : M.Symbols) {
    OS << symbolKindName(S.Kind) << " @" << S.Name << " : " << formatType(S.Type);
    if (!S.isReadByInput())
      OS << " = " << formatCall(S.Init);
    OS << formatLoc(S.L) << '\n';
  }
  for (const Function &F : M.Functions) {
    OS << '\n';
    printFunction(F, OS);
  }
  if (const auto &T = M.Train) {
    OS << "\ntrain {\n";
    OS << "  minimize %" << T->Minimize << formatLoc(T->MinimizeLoc) << '\n';
    OS << "  optimizer " << formatCall(T->Optimizer) << formatLoc(T->OptimizerLoc)
       << '\n';
    if (T->ClipGradNorm)
      OS << "  clip_grad_norm " << formatAttrValue(*T->ClipGradNorm) << '\n';
    if (T->Schedule)
      OS << "  schedule " << formatCall(*T->Schedule) << '\n';
    OS << "}\n";
  }
}

std::string printModule(const Module &M) {
  std::ostringstream OS;
  printModule(M, OS);
  return OS.str();
}

} // namespace gradc::ir
