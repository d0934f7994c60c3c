//===- ir/Module.h - The graph IR: modules, functions, nodes -----*- C++ -*-===//
//
// A Module is everything gradc knows about a model at any stage:
//   - symbols: the inputs, trainable params (with initializers) and, from the
//     grad stage on, non-trainable state (optimizer slots, running
//     statistics, the step counter) and call arguments (the learning rate).
//     Compiler-made symbols have names no model can spell (`.step`,
//     `optimizer/W1/m`, `h.running_mean`), so they never collide;
//   - functions: static single-assignment graphs of Nodes in topological
//     order. The parsed stage has one function, @model; autodiff adds
//     @train_step, @eval and @predict;
//   - the train block's configuration.
// A ValueId is a node's index in its function: a node may only use values
// with smaller ids. Each node keeps the source location it came from.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Attr.h"
#include "ir/Diagnostics.h"
#include "ir/Op.h"
#include "ir/Types.h"

#include <optional>
#include <string>
#include <vector>

namespace gradc::ir {

using ValueId = uint32_t;

struct Node {
  Op Opcode = Op::Constant;
  TensorType Type;
  std::vector<ValueId> Operands;
  AttrList Attrs;
  std::string Name;   // the source name ("h"), or empty for a temporary
  std::string Symbol; // the module symbol of input/param nodes, else empty
  Loc L;
};

enum class ResultKind : uint8_t { Output, Metric, Loss };
std::string_view resultKindName(ResultKind K);

/// What a function returns: predict's outputs, eval's metrics, the loss.
struct Result {
  ResultKind Kind;
  std::string Name;
  ValueId Value;
  bool operator==(const Result &) const = default;
};

/// What a fusion group compiles to (ir/Fusion.h): `loop`, one loop nest
/// evaluating elementwise members of one shape; `reduce`, a reduction that
/// evaluates its elementwise producers inside its loop.
enum class FusionKind : uint8_t { Loop, Reduce };

/// A fusion group: the contiguous nodes [Begin, End) of a function, compiled
/// as one kernel. Set by the `fuse` pass; printed as a `fused` region.
struct FusionGroup {
  FusionKind Kind = FusionKind::Loop;
  ValueId Begin = 0, End = 0;
  bool operator==(const FusionGroup &) const = default;
};

struct Function {
  std::string Name;
  std::vector<Node> Nodes;
  std::vector<Result> Results;
  /// Fusion groups in node order, disjoint (empty before `fuse`).
  std::vector<FusionGroup> Groups;

  const Node &node(ValueId V) const { return Nodes[V]; }
  Node &node(ValueId V) { return Nodes[V]; }
  const TensorType &type(ValueId V) const { return Nodes[V].Type; }
  /// The value named \p Name, or nullopt.
  std::optional<ValueId> lookup(std::string_view Name) const;
};

/// Input: fed from data per example. Param: trainable. State: updated by the
/// step but not trained (optimizer slots, running statistics, the step
/// counter). Arg: a scalar the caller passes to each call (the learning rate).
enum class SymbolKind : uint8_t { Input, Param, State, Arg };
std::string_view symbolKindName(SymbolKind K);

/// An initializer call: `he_normal`, `uniform {lo = -1.0, hi = 1.0}`.
struct Call {
  std::string Name;
  AttrList Args;
  bool operator==(const Call &) const = default;
};

struct Symbol {
  SymbolKind Kind;
  std::string Name;
  TensorType Type;
  Call Init; // params and state only

  bool isReadByInput() const {
    return Kind == SymbolKind::Input || Kind == SymbolKind::Arg;
  }
  Loc L;
};

struct TrainConfig {
  std::string Minimize; // a value name in @model
  Loc MinimizeLoc;
  Call Optimizer;
  Loc OptimizerLoc;
  std::optional<double> ClipGradNorm;
  std::optional<Call> Schedule;
};

struct Module {
  std::string Name;
  std::string SourceName; // the file the model came from, for diagnostics
  std::vector<Symbol> Symbols;
  std::vector<Function> Functions;
  std::optional<TrainConfig> Train;

  const Symbol *lookupSymbol(std::string_view Name) const;
  Function *lookupFunction(std::string_view Name);
  const Function *lookupFunction(std::string_view Name) const;
};

} // namespace gradc::ir
