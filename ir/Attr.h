//===- ir/Attr.h - Compile-time attributes of ops and train settings -*- C++ -*-===//
//
// Attributes are the non-tensor arguments of an op (`axis = 1`), of an
// initializer (`uniform(lo, hi)`), an optimizer or a schedule. Each of those
// declares its attributes with AttrSpecs; binding checks kinds and fills in
// defaults, so every attribute list in the IR is complete and in spec order.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "ir/Types.h"

#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

namespace gradc::ir {

using IntList = std::vector<int64_t>;
using AttrValue = std::variant<int64_t, double, bool, IntList, DType>;

enum class AttrKind : uint8_t {
  Int,   // an integer
  Float, // a number (an integer converts)
  Bool,  // true or false
  Ints,  // a list of integers
  Pair,  // an integer or [h, w]; stored as a list of two
  Axes,  // an integer or a list of integers; stored as a list
  DType, // f32, f64 or i32
};

std::string_view attrKindName(AttrKind K);

struct AttrSpec {
  std::string_view Name;
  AttrKind Kind;
  std::optional<AttrValue> Default; // nullopt: required
};

struct Attr {
  std::string Name;
  AttrValue Value;
  bool operator==(const Attr &) const = default;
};

using AttrList = std::vector<Attr>;

/// Looks an attribute up by name; nullptr when absent.
const AttrValue *findAttr(const AttrList &L, std::string_view Name);
int64_t getInt(const AttrList &L, std::string_view Name);
double getFloat(const AttrList &L, std::string_view Name);
bool getBool(const AttrList &L, std::string_view Name);
const IntList &getInts(const AttrList &L, std::string_view Name);
DType getDType(const AttrList &L, std::string_view Name);
void setAttr(AttrList &L, std::string_view Name, AttrValue V);

/// Converts \p V to the spec's kind. Returns an error message on failure
/// ("must be an integer"), empty on success.
std::string convertAttr(const AttrSpec &S, const AttrValue &V, AttrValue &Out);

/// Binds positional and keyword arguments to \p Specs, in spec order, filling
/// defaults. \p Positional values bind to specs in order. On failure returns
/// false with \p Err set and \p ErrArg the index of the offending argument
/// (positional first, then keywords), or -1.
struct NamedAttrValue {
  std::string Name;
  AttrValue Value;
};
bool bindAttrs(std::string_view What, std::span<const AttrSpec> Specs,
               std::span<const AttrValue> Positional,
               std::span<const NamedAttrValue> Keywords, AttrList &Out,
               std::string &Err, int &ErrArg);

/// Prints a value: integers plainly, floats always with a point or exponent
/// and shortest round-trip digits, lists as [a, b], dtypes by name.
std::string formatAttrValue(const AttrValue &V);
/// "{axis = 1, keepdims = false}", or "" for an empty list.
std::string formatAttrs(const AttrList &L);

/// A named thing with attributes that a train block or a param declaration
/// calls: initializers, optimizers and schedules.
struct CallSpec {
  std::string_view Name;
  std::vector<AttrSpec> Args;
};
const CallSpec *lookupInitializer(std::string_view Name);
const CallSpec *lookupOptimizer(std::string_view Name);
const CallSpec *lookupSchedule(std::string_view Name);
std::span<const CallSpec> allInitializers();
std::span<const CallSpec> allOptimizers();
std::span<const CallSpec> allSchedules();

} // namespace gradc::ir
