#include "ir/Attr.h"

#include <cassert>
#include <cmath>
#include <fmt/format.h>

namespace gradc::ir {

std::string_view attrKindName(AttrKind K) {
  switch (K) {
  case AttrKind::Int:
    return "an integer";
  case AttrKind::Float:
    return "a number";
  case AttrKind::Bool:
    return "true or false";
  case AttrKind::Ints:
    return "a list of integers";
  case AttrKind::Pair:
    return "an integer or a list of two integers";
  case AttrKind::Axes:
    return "an integer or a list of integers";
  case AttrKind::DType:
    return "a dtype (f32, f64 or i32)";
  }
  return "?";
}

const AttrValue *findAttr(const AttrList &L, std::string_view Name) {
  for (const Attr &A : L)
    if (A.Name == Name)
      return &A.Value;
  return nullptr;
}

template <typename T> static const T &get(const AttrList &L, std::string_view N) {
  const AttrValue *V = findAttr(L, N);
  assert(V && std::holds_alternative<T>(*V) && "attribute missing or of wrong kind");
  return std::get<T>(*V);
}

int64_t getInt(const AttrList &L, std::string_view N) { return get<int64_t>(L, N); }
double getFloat(const AttrList &L, std::string_view N) { return get<double>(L, N); }
bool getBool(const AttrList &L, std::string_view N) { return get<bool>(L, N); }
const IntList &getInts(const AttrList &L, std::string_view N) {
  return get<IntList>(L, N);
}
DType getDType(const AttrList &L, std::string_view N) { return get<DType>(L, N); }

void setAttr(AttrList &L, std::string_view Name, AttrValue V) {
  for (Attr &A : L)
    if (A.Name == Name) {
      A.Value = std::move(V);
      return;
    }
  L.push_back({std::string(Name), std::move(V)});
}

std::string convertAttr(const AttrSpec &S, const AttrValue &V, AttrValue &Out) {
  auto Bad = [&] {
    return fmt::format("'{}' must be {}", S.Name, attrKindName(S.Kind));
  };
  switch (S.Kind) {
  case AttrKind::Int:
    if (!std::holds_alternative<int64_t>(V))
      return Bad();
    Out = V;
    return "";
  case AttrKind::Float:
    if (auto *I = std::get_if<int64_t>(&V))
      Out = static_cast<double>(*I);
    else if (std::holds_alternative<double>(V))
      Out = V;
    else
      return Bad();
    return "";
  case AttrKind::Bool:
    if (!std::holds_alternative<bool>(V))
      return Bad();
    Out = V;
    return "";
  case AttrKind::Ints:
    if (!std::holds_alternative<IntList>(V))
      return Bad();
    Out = V;
    return "";
  case AttrKind::Pair:
    if (auto *I = std::get_if<int64_t>(&V))
      Out = IntList{*I, *I};
    else if (auto *L = std::get_if<IntList>(&V); L && L->size() == 2)
      Out = V;
    else
      return Bad();
    return "";
  case AttrKind::Axes:
    if (auto *I = std::get_if<int64_t>(&V))
      Out = IntList{*I};
    else if (std::holds_alternative<IntList>(V))
      Out = V;
    else
      return Bad();
    return "";
  case AttrKind::DType:
    if (!std::holds_alternative<DType>(V))
      return Bad();
    Out = V;
    return "";
  }
  return Bad();
}

bool bindAttrs(std::string_view What, std::span<const AttrSpec> Specs,
               std::span<const AttrValue> Positional,
               std::span<const NamedAttrValue> Keywords, AttrList &Out,
               std::string &Err, int &ErrArg) {
  std::vector<std::optional<AttrValue>> Bound(Specs.size());
  ErrArg = -1;
  if (Positional.size() > Specs.size()) {
    ErrArg = static_cast<int>(Specs.size());
    Err = fmt::format("{} takes at most {} argument{} here, got {}", What,
                      Specs.size(), Specs.size() == 1 ? "" : "s",
                      Positional.size());
    return false;
  }
  for (size_t I = 0; I < Positional.size(); ++I) {
    AttrValue V;
    if (std::string E = convertAttr(Specs[I], Positional[I], V); !E.empty()) {
      ErrArg = static_cast<int>(I);
      Err = fmt::format("{}: {}", What, E);
      return false;
    }
    Bound[I] = std::move(V);
  }
  for (size_t K = 0; K < Keywords.size(); ++K) {
    int Arg = static_cast<int>(Positional.size() + K);
    size_t I = 0;
    while (I < Specs.size() && Specs[I].Name != Keywords[K].Name)
      ++I;
    if (I == Specs.size()) {
      ErrArg = Arg;
      std::vector<std::string_view> Names;
      for (const AttrSpec &S : Specs)
        Names.push_back(S.Name);
      Err = Names.empty()
                ? fmt::format("{} has no argument '{}'", What, Keywords[K].Name)
                : fmt::format("{} has no argument '{}' (it takes: {})", What,
                              Keywords[K].Name, fmt::join(Names, ", "));
      return false;
    }
    if (Bound[I]) {
      ErrArg = Arg;
      Err = fmt::format("{}: argument '{}' given twice", What, Specs[I].Name);
      return false;
    }
    AttrValue V;
    if (std::string E = convertAttr(Specs[I], Keywords[K].Value, V); !E.empty()) {
      ErrArg = Arg;
      Err = fmt::format("{}: {}", What, E);
      return false;
    }
    Bound[I] = std::move(V);
  }
  Out.clear();
  for (size_t I = 0; I < Specs.size(); ++I) {
    if (!Bound[I]) {
      if (!Specs[I].Default) {
        Err = fmt::format("{}: missing argument '{}'", What, Specs[I].Name);
        return false;
      }
      AttrValue V;
      [[maybe_unused]] std::string E = convertAttr(Specs[I], *Specs[I].Default, V);
      assert(E.empty() && "default of the wrong kind");
      Bound[I] = std::move(V);
    }
    Out.push_back({std::string(Specs[I].Name), std::move(*Bound[I])});
  }
  return true;
}

static std::string formatDouble(double D) {
  if (std::isnan(D))
    return "nan";
  if (std::isinf(D))
    return D > 0 ? "inf" : "-inf";
  std::string S = fmt::format("{}", D);
  if (S.find_first_of(".e") == std::string::npos)
    S += ".0";
  return S;
}

std::string formatAttrValue(const AttrValue &V) {
  if (auto *I = std::get_if<int64_t>(&V))
    return fmt::format("{}", *I);
  if (auto *D = std::get_if<double>(&V))
    return formatDouble(*D);
  if (auto *B = std::get_if<bool>(&V))
    return *B ? "true" : "false";
  if (auto *L = std::get_if<IntList>(&V))
    return fmt::format("[{}]", fmt::join(*L, ", "));
  return std::string(dtypeName(std::get<DType>(V)));
}

std::string formatAttrs(const AttrList &L) {
  if (L.empty())
    return "";
  std::string S = "{";
  for (size_t I = 0; I < L.size(); ++I) {
    if (I)
      S += ", ";
    S += L[I].Name + " = " + formatAttrValue(L[I].Value);
  }
  return S + "}";
}

//===----------------------------------------------------------------------===//
// Initializers, optimizers and schedules (SPEC.md §1).
//===----------------------------------------------------------------------===//

static const CallSpec Initializers[] = {
    {"zeros", {}},
    {"ones", {}},
    {"constant", {{"value", AttrKind::Float, std::nullopt}}},
    {"uniform",
     {{"lo", AttrKind::Float, std::nullopt}, {"hi", AttrKind::Float, std::nullopt}}},
    {"normal",
     {{"mean", AttrKind::Float, std::nullopt},
      {"std", AttrKind::Float, std::nullopt}}},
    {"glorot_uniform", {}},
    {"glorot_normal", {}},
    {"he_uniform", {}},
    {"he_normal", {}},
};

static const CallSpec Optimizers[] = {
    {"sgd",
     {{"lr", AttrKind::Float, std::nullopt},
      {"momentum", AttrKind::Float, 0.0},
      {"nesterov", AttrKind::Bool, false},
      {"weight_decay", AttrKind::Float, 0.0}}},
    {"adam",
     {{"lr", AttrKind::Float, 1e-3},
      {"beta1", AttrKind::Float, 0.9},
      {"beta2", AttrKind::Float, 0.999},
      {"eps", AttrKind::Float, 1e-8},
      {"weight_decay", AttrKind::Float, 0.0}}},
    {"adamw",
     {{"lr", AttrKind::Float, 1e-3},
      {"beta1", AttrKind::Float, 0.9},
      {"beta2", AttrKind::Float, 0.999},
      {"eps", AttrKind::Float, 1e-8},
      {"weight_decay", AttrKind::Float, 0.01}}},
    {"rmsprop",
     {{"lr", AttrKind::Float, 1e-2},
      {"alpha", AttrKind::Float, 0.99},
      {"eps", AttrKind::Float, 1e-8},
      {"momentum", AttrKind::Float, 0.0}}},
    {"adagrad",
     {{"lr", AttrKind::Float, 1e-2}, {"eps", AttrKind::Float, 1e-10}}},
};

static const CallSpec Schedules[] = {
    {"step",
     {{"every", AttrKind::Int, std::nullopt},
      {"gamma", AttrKind::Float, std::nullopt}}},
    {"exponential", {{"gamma", AttrKind::Float, std::nullopt}}},
    {"cosine",
     {{"steps", AttrKind::Int, std::nullopt},
      {"min_lr", AttrKind::Float, 0.0}}},
};

static const CallSpec *lookup(std::span<const CallSpec> Table,
                              std::string_view Name) {
  for (const CallSpec &S : Table)
    if (S.Name == Name)
      return &S;
  return nullptr;
}

const CallSpec *lookupInitializer(std::string_view N) {
  return lookup(Initializers, N);
}
const CallSpec *lookupOptimizer(std::string_view N) {
  return lookup(Optimizers, N);
}
const CallSpec *lookupSchedule(std::string_view N) { return lookup(Schedules, N); }
std::span<const CallSpec> allInitializers() { return Initializers; }
std::span<const CallSpec> allOptimizers() { return Optimizers; }
std::span<const CallSpec> allSchedules() { return Schedules; }

} // namespace gradc::ir
