// Unit tests of runtime/Checkpoint: safetensors round trips with metadata,
// the exact byte layout, files laid out as Python's safetensors writes them,
// atomic replacement, and a table of corrupt headers that must each give a
// clear error naming the file (and the tensor) rather than crash.
#include "runtime/Checkpoint.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

using namespace gradc;
using namespace gradc::runtime;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

namespace {

using Bytes = std::vector<uint8_t>;

template <typename T> Bytes leBytes(std::vector<T> Values) {
  Bytes B(Values.size() * sizeof(T));
  if (!B.empty())
    std::memcpy(B.data(), Values.data(), B.size());
  return B;
}

NamedTensor tensor(std::string Name, ir::DType T, std::vector<int64_t> Dims,
                   Bytes Data) {
  return NamedTensor{std::move(Name), T, std::move(Dims), std::move(Data)};
}

/// A safetensors file: the length, \p Header verbatim, then \p Data.
Bytes makeFile(std::string_view Header, const Bytes &Data) {
  Bytes B(8);
  for (int I = 0; I < 8; ++I)
    B[I] = uint8_t(uint64_t(Header.size()) >> (8 * I));
  B.insert(B.end(), Header.begin(), Header.end());
  B.insert(B.end(), Data.begin(), Data.end());
  return B;
}

Bytes readAll(const std::string &P) {
  std::ifstream In(P, std::ios::binary);
  return Bytes(std::istreambuf_iterator<char>(In), {});
}

class CheckpointTest : public ::testing::Test {
protected:
  fs::path Dir;

  void SetUp() override {
    const auto *Info = ::testing::UnitTest::GetInstance()->current_test_info();
    Dir = fs::path(::testing::TempDir()) /
          ("gradc-ckpt-" + std::to_string(::getpid()) + "-" + Info->name());
    fs::remove_all(Dir);
    fs::create_directories(Dir);
  }
  void TearDown() override { fs::remove_all(Dir); }

  std::string path(const std::string &Name) { return (Dir / Name).string(); }

  std::string write(const std::string &Name, const Bytes &B) {
    std::string P = path(Name);
    std::ofstream(P, std::ios::binary)
        .write(reinterpret_cast<const char *>(B.data()), B.size());
    return P;
  }

  size_t numEntries() {
    size_t N = 0;
    for (const auto &E : fs::directory_iterator(Dir)) {
      (void)E;
      ++N;
    }
    return N;
  }
};

Checkpoint sample() {
  Checkpoint C;
  C.Tensors.push_back(
      tensor("W1", ir::DType::F32, {3, 2}, leBytes<float>({1, 2, 3, 4, 5, 6})));
  C.Tensors.push_back(
      tensor("b1", ir::DType::F32, {2}, leBytes<float>({-1, 1})));
  C.Tensors.push_back(tensor("optimizer/W1/m", ir::DType::F64, {3},
                             leBytes<double>({0.5, 0.25, 0.125})));
  C.Tensors.push_back(
      tensor("count", ir::DType::I32, {}, leBytes<int32_t>({7})));
  C.Tensors.push_back(tensor("empty", ir::DType::F32, {0, 4}, {}));
  C.Tensors.push_back(tensor("bn.running_mean \"q\" \xC3\xA9", ir::DType::F32,
                             {1}, leBytes<float>({9})));
  C.Metadata["step"] = "10";
  C.Metadata["note"] = "line\nbreak \\ \"quoted\"";
  return C;
}

TEST_F(CheckpointTest, RoundTrip) {
  Checkpoint C = sample();
  std::string P = path("ckpt.safetensors");
  std::string Err;
  ASSERT_TRUE(saveCheckpoint(P, C, Err)) << Err;
  Checkpoint L;
  ASSERT_TRUE(loadCheckpoint(P, L, Err)) << Err;
  EXPECT_EQ(L.Metadata, C.Metadata);
  ASSERT_EQ(L.Tensors.size(), C.Tensors.size());
  for (const NamedTensor &T : C.Tensors) {
    const NamedTensor *U = L.find(T.Name);
    ASSERT_NE(U, nullptr) << T.Name;
    EXPECT_EQ(U->Type, T.Type) << T.Name;
    EXPECT_EQ(U->Dims, T.Dims) << T.Name;
    EXPECT_EQ(U->Bytes, T.Bytes) << T.Name;
  }
  EXPECT_EQ(L.find("nope"), nullptr);
  // Largest elements first, then by name, so every tensor is aligned.
  EXPECT_EQ(L.Tensors[0].Name, "optimizer/W1/m");
  EXPECT_EQ(L.Tensors[1].Name, "W1");
  EXPECT_EQ(numEntries(), 1u) << "no temporary file left";
}

TEST_F(CheckpointTest, ExactLayout) {
  Checkpoint C;
  C.Tensors.push_back(tensor("b", ir::DType::F32, {2}, leBytes<float>({1, 2})));
  C.Tensors.push_back(
      tensor("a", ir::DType::I32, {1, 1}, leBytes<int32_t>({3})));
  C.Metadata["step"] = "10";
  std::string P = path("x.safetensors");
  std::string Err;
  ASSERT_TRUE(saveCheckpoint(P, C, Err)) << Err;
  Bytes B = readAll(P);
  std::string Header =
      "{\"__metadata__\":{\"step\":\"10\"},"
      "\"a\":{\"dtype\":\"I32\",\"shape\":[1,1],\"data_offsets\":[0,4]},"
      "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}";
  Header.append((8 - Header.size() % 8) % 8, ' ');
  Bytes Want = makeFile(Header, leBytes<int32_t>({3}));
  Bytes Floats = leBytes<float>({1, 2});
  Want.insert(Want.end(), Floats.begin(), Floats.end());
  EXPECT_EQ(B, Want);
  EXPECT_EQ(B[0] % 8, 0) << "header length is a multiple of 8";
}

TEST_F(CheckpointTest, LoadsPythonLayout) {
  // As Python's safetensors writes it: keys in any order, compact JSON,
  // "format" metadata, space padding, data sorted by dtype then name, and an
  // I64 tensor (loaded as I32 when its values fit).
  std::string Header =
      "{\"__metadata__\":{\"format\":\"pt\"},"
      "\"weight\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[16,32]},"
      "\"steps\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,16]},"
      "\"scalar\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[32,36]}}";
  Header.append((8 - Header.size() % 8) % 8, ' ');
  Bytes Data = leBytes<int64_t>({-3, 2000000000});
  Bytes F = leBytes<float>({1, 2, 3, 4, 0.5f});
  Data.insert(Data.end(), F.begin(), F.end());
  std::string P = write("py.safetensors", makeFile(Header, Data));
  Checkpoint C;
  std::string Err;
  ASSERT_TRUE(loadCheckpoint(P, C, Err)) << Err;
  EXPECT_EQ(C.Metadata.at("format"), "pt");
  ASSERT_EQ(C.Tensors.size(), 3u);
  EXPECT_EQ(C.Tensors[0].Name, "steps") << "tensors come in data order";
  EXPECT_EQ(C.Tensors[0].Type, ir::DType::I32);
  EXPECT_EQ(C.Tensors[0].Bytes, leBytes<int32_t>({-3, 2000000000}));
  EXPECT_EQ(C.find("weight")->Bytes, leBytes<float>({1, 2, 3, 4}));
  EXPECT_TRUE(C.find("scalar")->Dims.empty());

  // An I64 value beyond int32 is an error naming the tensor.
  Bytes Big = Data;
  Big[15] = 0x01;
  P = write("big.safetensors", makeFile(Header, Big));
  EXPECT_FALSE(loadCheckpoint(P, C, Err));
  EXPECT_THAT(Err, HasSubstr("tensor 'steps': I64 value"));
  EXPECT_TRUE(C.Tensors.empty()) << "nothing half-loaded";

  // Escapes in names, including a surrogate pair.
  std::string Esc = "{\"a\\u00e9\\ud83d\\ude00\\n\":{\"dtype\":\"F32\","
                    "\"shape\":[1],\"data_offsets\":[0,4]}}";
  P = write("esc.safetensors", makeFile(Esc, leBytes<float>({1})));
  ASSERT_TRUE(loadCheckpoint(P, C, Err)) << Err;
  EXPECT_EQ(C.Tensors[0].Name, "a\xC3\xA9\xF0\x9F\x98\x80\n");
  // No tensors at all is a valid (empty) file.
  P = write("none.safetensors", makeFile("{}      ", {}));
  ASSERT_TRUE(loadCheckpoint(P, C, Err)) << Err;
  EXPECT_TRUE(C.Tensors.empty());
}

TEST_F(CheckpointTest, AtomicReplace) {
  std::string P = path("ckpt.safetensors");
  std::string Err;
  Checkpoint Old = sample();
  ASSERT_TRUE(saveCheckpoint(P, Old, Err)) << Err;
  Bytes Before = readAll(P);

  // A save that fails validation leaves the old file as it was.
  Checkpoint Bad;
  Bad.Tensors.push_back(tensor("W", ir::DType::F32, {2}, Bytes(4)));
  EXPECT_FALSE(saveCheckpoint(P, Bad, Err));
  EXPECT_THAT(Err, HasSubstr("tensor 'W': 4 bytes do not match F32[2]"));
  EXPECT_EQ(readAll(P), Before);

  // A save into a directory that does not exist fails and leaves nothing.
  std::string Missing = path("no/such/dir/ckpt.safetensors");
  EXPECT_FALSE(saveCheckpoint(Missing, Old, Err));
  EXPECT_THAT(Err, HasSubstr(Missing));
  EXPECT_FALSE(fs::exists(path("no")));

  // A directory in the way: the rename fails, the temporary file goes.
  fs::create_directory(path("taken.safetensors"));
  EXPECT_FALSE(saveCheckpoint(path("taken.safetensors"), Old, Err));
  EXPECT_THAT(Err, HasSubstr("cannot replace"));
  EXPECT_EQ(numEntries(), 2u) << "ckpt.safetensors and taken.safetensors only";

  // A successful save replaces the old file whole.
  Checkpoint New;
  New.Tensors.push_back(tensor("x", ir::DType::F64, {1}, leBytes<double>({4})));
  New.Metadata["step"] = "11";
  ASSERT_TRUE(saveCheckpoint(P, New, Err)) << Err;
  Checkpoint L;
  ASSERT_TRUE(loadCheckpoint(P, L, Err)) << Err;
  ASSERT_EQ(L.Tensors.size(), 1u);
  EXPECT_EQ(L.Metadata.at("step"), "11");
  EXPECT_EQ(numEntries(), 2u);
}

TEST_F(CheckpointTest, SaveValidates) {
  std::string P = path("c.safetensors");
  std::string Err;
  Checkpoint Dup;
  Dup.Tensors.push_back(tensor("a", ir::DType::F32, {}, Bytes(4)));
  Dup.Tensors.push_back(tensor("a", ir::DType::F32, {}, Bytes(4)));
  EXPECT_FALSE(saveCheckpoint(P, Dup, Err));
  EXPECT_THAT(Err, HasSubstr("tensor 'a' appears twice"));
  Checkpoint Meta;
  Meta.Tensors.push_back(tensor("__metadata__", ir::DType::F32, {}, Bytes(4)));
  EXPECT_FALSE(saveCheckpoint(P, Meta, Err));
  Checkpoint Utf;
  Utf.Tensors.push_back(tensor("bad\xFF", ir::DType::F32, {}, Bytes(4)));
  EXPECT_FALSE(saveCheckpoint(P, Utf, Err));
  EXPECT_FALSE(fs::exists(P));
}

TEST_F(CheckpointTest, MissingFile) {
  Checkpoint C;
  std::string Err;
  EXPECT_FALSE(loadCheckpoint(path("nope.safetensors"), C, Err));
  EXPECT_THAT(Err, HasSubstr("nope.safetensors: cannot open"));
}

/// One corrupt file: its header (or raw bytes), its data, and the error.
struct CorruptCase {
  const char *What;
  std::string Header;
  Bytes Data;
  const char *Error;
  bool Raw = false; // Header is the whole file
};

TEST_F(CheckpointTest, CorruptHeaders) {
  auto T = [](std::string Name, std::string DType, std::string Shape,
              std::string Offsets) {
    return "\"" + Name + "\":{\"dtype\":\"" + DType + "\",\"shape\":" + Shape +
           ",\"data_offsets\":" + Offsets + "}";
  };
  std::string W = T("W", "F32", "[2]", "[0,8]");
  std::vector<CorruptCase> Cases = {
      {"too short", std::string("\x05\x00\x00", 3), {}, "too short", true},
      {"zero length", std::string(8, '\0'), {}, "header length is 0", true},
      {"length past the end",
       std::string("\xFF\x00\x00\x00\x00\x00\x00\x00{}", 10),
       {},
       "the header length 255 exceeds the 2 bytes",
       true},
      {"huge length",
       std::string("\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF{}", 10),
       {},
       "exceeds",
       true},
      {"not an object", "[1, 2]  ", {}, "does not start with '{'"},
      {"leading space", " {}     ", {}, "does not start with '{'"},
      {"truncated JSON", "{\"W\":{\"dtype\"", {}, "malformed header JSON"},
      {"trailing comma", "{" + W + ",}", Bytes(8), "expected a string key"},
      {"trailing junk", "{" + W + "}x", Bytes(8), "unexpected text after"},
      {"NUL padding", "{" + W + "}" + std::string(3, '\0'), Bytes(8),
       "unexpected text after"},
      {"unterminated string", "{\"W", {}, "unterminated string"},
      {"bad escape", "{\"\\x\":1}", {}, "unknown escape '\\x'"},
      {"lone surrogate", "{\"\\ud800\":1}", {}, "unpaired high surrogate"},
      {"low surrogate", "{\"\\udc00\":1}", {}, "unpaired low surrogate"},
      {"bad hex", "{\"\\u12g4\":1}", {}, "bad hex digit"},
      {"invalid UTF-8", "{\"\xFF\":1}", {}, "invalid UTF-8"},
      {"overlong UTF-8", "{\"\xC0\x80\":1}", {}, "invalid UTF-8"},
      {"control char", "{\"a\tb\":1}", {}, "control character"},
      {"bad number",
       "{\"__metadata__\":{},\"x\":01}",
       {},
       "expected ',' or '}'"},
      {"bad exponent", "{\"x\":1e}", {}, "malformed number"},
      {"deep nesting",
       "{\"a\":" + std::string(1000, '[') + std::string(1000, ']') + "}",
       {},
       "nested too deeply"},
      {"duplicate tensor", "{" + W + "," + W + "}", Bytes(8),
       "duplicate tensor name 'W'"},
      {"metadata not object",
       "{\"__metadata__\":[]}",
       {},
       "'__metadata__' is not"},
      {"metadata not string",
       "{\"__metadata__\":{\"step\":10}}",
       {},
       "metadata 'step' is not a string"},
      {"entry not object", "{\"W\":[1]}", {}, "tensor 'W': its entry is not"},
      {"missing offsets",
       "{\"W\":{\"dtype\":\"F32\",\"shape\":[2]}}",
       {},
       "tensor 'W': needs 'dtype', 'shape' and 'data_offsets'"},
      {"unknown key",
       "{\"W\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4],"
       "\"x\":1}}",
       Bytes(4), "tensor 'W': unknown key 'x'"},
      {"dtype not string",
       "{\"W\":{\"dtype\":32,\"shape\":[2],\"data_offsets\":[0,8]}}", Bytes(8),
       "'dtype' is not a string"},
      {"F16", "{" + T("W", "F16", "[2]", "[0,4]") + "}", Bytes(4),
       "tensor 'W': dtype 'F16' is not supported"},
      {"negative dim", "{" + T("W", "F32", "[-2]", "[0,8]") + "}", Bytes(8),
       "tensor 'W': 'shape' holds -2, not a dimension size"},
      {"fractional dim", "{" + T("W", "F32", "[2.0]", "[0,8]") + "}", Bytes(8),
       "not a dimension size"},
      {"string dim", "{" + T("W", "F32", "[\"2\"]", "[0,8]") + "}", Bytes(8),
       "not a dimension size"},
      {"shape not array", "{" + T("W", "F32", "2", "[0,8]") + "}", Bytes(8),
       "'shape' is not an array"},
      {"huge shape",
       "{" + T("W", "F32", "[1099511627776,1099511627776]", "[0,8]") + "}",
       Bytes(8), "has too many elements"},
      {"huge offset",
       "{" + T("W", "F32", "[2]", "[0,99999999999999999999]") + "}", Bytes(8),
       "'data_offsets' is not a pair"},
      {"three offsets", "{" + T("W", "F32", "[2]", "[0,4,8]") + "}", Bytes(8),
       "'data_offsets' is not a pair"},
      {"reversed offsets", "{" + T("W", "F32", "[2]", "[8,0]") + "}", Bytes(8),
       "data_offsets [8, 0] do not match F32[2] (8 bytes)"},
      {"size mismatch", "{" + T("W1", "F32", "[784,128]", "[0,100]") + "}",
       Bytes(100),
       "tensor 'W1': data_offsets [0, 100] do not match F32[784, 128] (401408 "
       "bytes)"},
      {"past the end", "{" + T("W", "F32", "[2]", "[4,12]") + "}", Bytes(8),
       "tensor 'W': data_offsets [4, 12] run past the end of the data (8 "
       "bytes)"},
      {"overlap", "{" + W + "," + T("V", "F32", "[1]", "[4,8]") + "}", Bytes(8),
       "tensors 'W' and 'V' overlap"},
      {"gap", "{" + T("W", "F32", "[1]", "[4,8]") + "}", Bytes(8),
       "tensor 'W': its data starts at byte 4, but the data before it ends at "
       "0"},
      {"trailing data", "{" + W + "}", Bytes(12),
       "the data section has 12 bytes but the tensors cover 8"},
  };
  for (const CorruptCase &C : Cases) {
    SCOPED_TRACE(C.What);
    Bytes File;
    if (C.Raw)
      File.assign(C.Header.begin(), C.Header.end());
    else
      File = makeFile(C.Header, C.Data);
    std::string P = write("bad.safetensors", File);
    Checkpoint Out;
    std::string Err;
    EXPECT_FALSE(loadCheckpoint(P, Out, Err));
    EXPECT_THAT(Err, HasSubstr(P + ": "));
    EXPECT_THAT(Err, HasSubstr(C.Error));
    EXPECT_TRUE(Out.Tensors.empty() && Out.Metadata.empty());
  }
}

TEST_F(CheckpointTest, TruncatedFiles) {
  // Every prefix of a valid checkpoint fails cleanly.
  std::string P = path("full.safetensors");
  std::string Err;
  ASSERT_TRUE(saveCheckpoint(P, sample(), Err)) << Err;
  Bytes Full = readAll(P);
  for (size_t N = 0; N < Full.size(); ++N) {
    Checkpoint C;
    std::string Q =
        write("cut.safetensors", Bytes(Full.begin(), Full.begin() + N));
    EXPECT_FALSE(loadCheckpoint(Q, C, Err)) << N;
    EXPECT_THAT(Err, HasSubstr(Q));
  }
}

} // namespace
