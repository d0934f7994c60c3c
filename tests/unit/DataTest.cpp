// Unit tests of runtime/Data: the .npy, IDX and .csv loaders (each element
// type, headers, detection by magic number, truncated and lying files), the
// feed checks and conversions, seeded shuffling and batching, and writeNpy.
// The last test loads the real MNIST training images when
// scripts/fetch_mnist.sh has put them in the cache; it is skipped otherwise.
#include "runtime/Data.h"

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <set>
#include <unistd.h>

using namespace gradc;
using namespace gradc::runtime;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

namespace {

using Bytes = std::vector<uint8_t>;

Bytes fromHex(std::string_view Hex) {
  Bytes B;
  for (size_t I = 0; I + 1 < Hex.size(); I += 2)
    B.push_back(uint8_t(std::stoi(std::string(Hex.substr(I, 2)), nullptr, 16)));
  return B;
}

Bytes fromText(std::string_view S) { return Bytes(S.begin(), S.end()); }

template <typename T> Bytes leBytes(std::initializer_list<T> Values) {
  Bytes B;
  for (T V : Values) {
    uint8_t Raw[sizeof(T)];
    std::memcpy(Raw, &V, sizeof(T));
    B.insert(B.end(), Raw, Raw + sizeof(T));
  }
  return B;
}

template <typename T> Bytes beBytes(std::initializer_list<T> Values) {
  Bytes B = leBytes(Values);
  for (size_t I = 0; I < B.size(); I += sizeof(T))
    std::reverse(B.begin() + I, B.begin() + I + sizeof(T));
  return B;
}

/// A .npy file laid out as numpy lays it out, with any header text.
Bytes makeNpy(std::string_view Dict, const Bytes &Data, int Major = 1) {
  std::string Header(Dict);
  size_t Pre = Major == 1 ? 10 : 12;
  Header.append((64 - (Pre + Header.size() + 1) % 64) % 64, ' ');
  Header += '\n';
  Bytes B = {0x93, 'N', 'U', 'M', 'P', 'Y', uint8_t(Major), 0};
  for (size_t I = 0; I < Pre - 8; ++I)
    B.push_back(uint8_t(Header.size() >> (8 * I)));
  B.insert(B.end(), Header.begin(), Header.end());
  B.insert(B.end(), Data.begin(), Data.end());
  return B;
}

std::string npyDict(std::string_view Descr, std::string_view Shape,
                    bool Fortran = false) {
  return "{'descr': '" + std::string(Descr) +
         "', 'fortran_order': " + (Fortran ? "True" : "False") +
         ", 'shape': " + std::string(Shape) + ", }";
}

/// An IDX file: magic, big-endian dims, then \p Data (already big-endian).
Bytes makeIdx(uint8_t Type, std::vector<uint32_t> Dims, const Bytes &Data) {
  Bytes B = {0, 0, Type, uint8_t(Dims.size())};
  for (uint32_t D : Dims) {
    Bytes E = beBytes<uint32_t>({D});
    B.insert(B.end(), E.begin(), E.end());
  }
  B.insert(B.end(), Data.begin(), Data.end());
  return B;
}

template <typename T> std::vector<T> valuesOf(const DataArray &A) {
  std::vector<T> V(A.Bytes.size() / sizeof(T));
  std::memcpy(V.data(), A.Bytes.data(), A.Bytes.size());
  return V;
}

class DataTest : public ::testing::Test {
protected:
  fs::path Dir;

  void SetUp() override {
    const auto *Info = ::testing::UnitTest::GetInstance()->current_test_info();
    Dir = fs::path(::testing::TempDir()) /
          ("gradc-data-" + std::to_string(::getpid()) + "-" + Info->name());
    fs::remove_all(Dir);
    fs::create_directories(Dir);
  }
  void TearDown() override { fs::remove_all(Dir); }

  std::string write(const std::string &Name, const Bytes &B) {
    std::string P = (Dir / Name).string();
    std::ofstream(P, std::ios::binary)
        .write(reinterpret_cast<const char *>(B.data()), B.size());
    return P;
  }

  DataArray load(const std::string &Name, const Bytes &B) {
    DataArray A;
    std::string Err;
    EXPECT_TRUE(loadData(write(Name, B), A, Err)) << Err;
    return A;
  }

  /// Loads \p B as \p Name, expects failure and returns the error.
  std::string loadError(const std::string &Name, const Bytes &B) {
    DataArray A;
    std::string Err;
    std::string P = write(Name, B);
    EXPECT_FALSE(loadData(P, A, Err)) << Name;
    EXPECT_THAT(Err, HasSubstr(P)) << "errors name the file";
    return Err;
  }
};

//===----------------------------------------------------------------------===//
// .npy
//===----------------------------------------------------------------------===//

TEST_F(DataTest, NpyWrittenByNumpy) {
  // np.save(f, np.arange(6, dtype='<f4').reshape(2, 3) * 0.5 - 1)
  DataArray A = load(
      "a.npy",
      fromHex("934e554d5059010076007b276465736372273a20273c6634272c2027666f7274"
              "72616e5f6f72646572273a2046616c73652c20277368617065273a2028322c20"
              "33292c207d202020202020202020202020202020202020202020202020202020"
              "202020202020202020202020202020202020202020202020202020202020200a"
              "000080bf000000bf000000000000003f0000803f0000c03f"));
  EXPECT_EQ(A.Kind, ElementKind::F32);
  EXPECT_EQ(A.Dims, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(valuesOf<float>(A),
            (std::vector<float>{-1, -0.5f, 0, 0.5f, 1, 1.5f}));
  EXPECT_EQ(A.numExamples(), 2);
  EXPECT_EQ(A.rowElements(), 3);

  // np.save(f, np.array([0, 7, 255], dtype=np.uint8))
  DataArray U = load(
      "u.npy",
      fromHex("934e554d5059010076007b276465736372273a20277c7531272c2027666f7274"
              "72616e5f6f72646572273a2046616c73652c20277368617065273a2028332c29"
              "2c207d2020202020202020202020202020202020202020202020202020202020"
              "202020202020202020202020202020202020202020202020202020202020200a"
              "0007ff"));
  EXPECT_EQ(U.Kind, ElementKind::U8);
  EXPECT_EQ(U.Dims, (std::vector<int64_t>{3}));
  EXPECT_EQ(U.Bytes, (Bytes{0, 7, 255}));
  EXPECT_EQ(U.rowElements(), 1);

  // np.lib.format.write_array(f, np.array([[-1, 2**40], [3, 4]], '<i8'),
  //                           version=(2, 0))
  DataArray L = load(
      "l.npy",
      fromHex(
          "934e554d50590200740000007b276465736372273a20273c6938272c2027666f"
          "727472616e5f6f72646572273a2046616c73652c20277368617065273a202832"
          "2c2032292c207d20202020202020202020202020202020202020202020202020"
          "202020202020202020202020202020202020202020202020202020202020200a"
          "ffffffffffffffff000000000001000003000000000000000400000000000000"));
  EXPECT_EQ(L.Kind, ElementKind::I64);
  EXPECT_EQ(valuesOf<int64_t>(L),
            (std::vector<int64_t>{-1, int64_t(1) << 40, 3, 4}));

  // Version 3.0, f8.
  DataArray D = load(
      "d.npy",
      fromHex("934e554d50590300740000007b276465736372273a20273c6638272c2027666f"
              "727472616e5f6f72646572273a2046616c73652c20277368617065273a202832"
              "2c292c207d202020202020202020202020202020202020202020202020202020"
              "202020202020202020202020202020202020202020202020202020202020200a"
              "000000000000f43f00000000000004c0"));
  EXPECT_EQ(D.Kind, ElementKind::F64);
  EXPECT_EQ(valuesOf<double>(D), (std::vector<double>{1.25, -2.5}));
}

TEST_F(DataTest, NpyEachDType) {
  DataArray I = load("i.npy", makeNpy(npyDict("<i4", "(2, 2)"),
                                      leBytes<int32_t>({1, -2, 3, -4})));
  EXPECT_EQ(I.Kind, ElementKind::I32);
  EXPECT_EQ(valuesOf<int32_t>(I), (std::vector<int32_t>{1, -2, 3, -4}));
  DataArray U = load("u.npy", makeNpy(npyDict("u1", "(2,)"), Bytes{9, 200}));
  EXPECT_EQ(U.Kind, ElementKind::U8);
  DataArray F = load("f.npy", makeNpy(npyDict("<f4", "(1, 2, 2)"),
                                      leBytes<float>({1, 2, 3, 4}), 2));
  EXPECT_EQ(F.Dims, (std::vector<int64_t>{1, 2, 2}));
  EXPECT_EQ(F.rowElements(), 4);
  // Keys in another order, double quotes, no trailing comma, Python 2 longs.
  DataArray G =
      load("g.npy", makeNpy("{\"shape\": (2L, 1L), \"fortran_order\": "
                            "False, \"descr\": \"<f8\"}",
                            leBytes<double>({5, 6})));
  EXPECT_EQ(G.Dims, (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(valuesOf<double>(G), (std::vector<double>{5, 6}));
}

TEST_F(DataTest, NpyRejected) {
  EXPECT_THAT(loadError("f.npy", makeNpy(npyDict("<f4", "(2, 2)", true),
                                         leBytes<float>({1, 2, 3, 4}))),
              HasSubstr("Fortran-order"));
  EXPECT_THAT(loadError("b.npy", makeNpy(npyDict(">f4", "(1,)"), Bytes(4))),
              HasSubstr("big-endian dtype '>f4'"));
  EXPECT_THAT(loadError("i1.npy", makeNpy(npyDict("|i1", "(1,)"), Bytes(1))),
              HasSubstr("dtype '|i1' is not supported"));
  EXPECT_THAT(loadError("h.npy", makeNpy(npyDict("<f2", "(1,)"), Bytes(2))),
              HasSubstr("dtype '<f2'"));
  EXPECT_THAT(
      loadError("s.npy", makeNpy("{'descr': [('a', '<f4')], 'fortran_order': "
                                 "False, 'shape': (1,), }",
                                 Bytes(4))),
      HasSubstr("structured dtype"));
  EXPECT_THAT(loadError("scalar.npy", makeNpy(npyDict("<f4", "()"), Bytes(4))),
              HasSubstr("scalar"));
  EXPECT_THAT(loadError("zero.npy", makeNpy(npyDict("<f4", "(0, 3)"), {})),
              HasSubstr("no examples"));
  EXPECT_THAT(loadError("neg.npy", makeNpy(npyDict("<f4", "(-1,)"), {})),
              HasSubstr("shape entry"));
  EXPECT_THAT(
      loadError("key.npy", makeNpy("{'descr': '<f4', 'fortran_order': False, "
                                   "'shape': (1,), 'extra': 1}",
                                   Bytes(4))),
      HasSubstr("unexpected key 'extra'"));
  EXPECT_THAT(loadError("nokey.npy", makeNpy("{'descr': '<f4'}", Bytes(4))),
              HasSubstr("the header has no 'fortran_order'"));
  EXPECT_THAT(loadError("v4.npy", makeNpy(npyDict("<f4", "(1,)"), Bytes(4), 4)),
              HasSubstr("version 4.0"));
  EXPECT_THAT(loadError("magic.npy", fromText("NUMPY but not really")),
              HasSubstr("not a .npy file"));
}

TEST_F(DataTest, NpyTruncatedOrLying) {
  Bytes Good = makeNpy(npyDict("<f4", "(4, 2)"),
                       leBytes<float>({1, 2, 3, 4, 5, 6, 7, 8}));
  // Every prefix of a valid file is an error, never a crash.
  for (size_t N = 0; N < Good.size(); ++N) {
    Bytes Prefix(Good.begin(), Good.begin() + N);
    DataArray A;
    std::string Err;
    EXPECT_FALSE(loadData(write("p.npy", Prefix), A, Err)) << N;
    EXPECT_FALSE(Err.empty());
  }
  // The header claims 10^12 elements; the file has a few bytes.
  EXPECT_THAT(
      loadError("huge.npy",
                makeNpy(npyDict("<f4", "(1000000, 1000000)"), Bytes(100))),
      HasSubstr("4000000000000 bytes of data"));
  // Dimensions whose product overflows.
  EXPECT_THAT(loadError("ovf.npy",
                        makeNpy(npyDict("<f8", "(4294967296, 4294967296, 16)"),
                                Bytes(8))),
              HasSubstr("too many elements"));
  // A header length beyond the end of the file.
  Bytes Long = Good;
  Long[8] = 0xFF;
  Long[9] = 0xFF;
  EXPECT_THAT(loadError("long.npy", Long), HasSubstr("truncated .npy header"));
  // Extra bytes after the data.
  Bytes Extra = Good;
  Extra.push_back(0);
  EXPECT_THAT(loadError("extra.npy", Extra), HasSubstr("33 bytes after"));
}

//===----------------------------------------------------------------------===//
// IDX
//===----------------------------------------------------------------------===//

TEST_F(DataTest, IdxEachType) {
  DataArray U =
      load("images", makeIdx(0x08, {2, 2, 2}, {0, 1, 2, 3, 4, 5, 6, 255}));
  EXPECT_EQ(U.Kind, ElementKind::U8);
  EXPECT_EQ(U.Dims, (std::vector<int64_t>{2, 2, 2}));
  EXPECT_EQ(U.rowElements(), 4);
  EXPECT_EQ(U.Bytes.back(), 255);

  DataArray S = load("s", makeIdx(0x09, {3}, {0xFF, 0x7F, 0x80}));
  EXPECT_EQ(S.Kind, ElementKind::I8);
  EXPECT_EQ(valuesOf<int8_t>(S), (std::vector<int8_t>{-1, 127, -128}));

  DataArray H = load("h", makeIdx(0x0B, {2}, beBytes<int16_t>({-300, 1000})));
  EXPECT_EQ(H.Kind, ElementKind::I16);
  EXPECT_EQ(valuesOf<int16_t>(H), (std::vector<int16_t>{-300, 1000}));

  DataArray I = load("i", makeIdx(0x0C, {2}, beBytes<int32_t>({-70000, 5})));
  EXPECT_EQ(I.Kind, ElementKind::I32);
  EXPECT_EQ(valuesOf<int32_t>(I), (std::vector<int32_t>{-70000, 5}));

  DataArray F = load("f", makeIdx(0x0D, {1, 2}, beBytes<float>({1.5f, -2})));
  EXPECT_EQ(F.Kind, ElementKind::F32);
  EXPECT_EQ(valuesOf<float>(F), (std::vector<float>{1.5f, -2}));

  DataArray D = load("d", makeIdx(0x0E, {2}, beBytes<double>({0.25, 1e300})));
  EXPECT_EQ(D.Kind, ElementKind::F64);
  EXPECT_EQ(valuesOf<double>(D), (std::vector<double>{0.25, 1e300}));
}

TEST_F(DataTest, IdxWhateverTheName) {
  // The magic number wins over the extension.
  Bytes Idx = makeIdx(0x08, {3}, {1, 2, 3});
  EXPECT_EQ(load("labels.csv", Idx).Kind, ElementKind::U8);
  EXPECT_EQ(load("labels.npy", Idx).Kind, ElementKind::U8);
  EXPECT_EQ(load("t10k-labels.idx1-ubyte", Idx).Dims,
            (std::vector<int64_t>{3}));
}

TEST_F(DataTest, IdxTruncatedOrLying) {
  Bytes Good = makeIdx(0x0D, {2, 3}, beBytes<float>({1, 2, 3, 4, 5, 6}));
  for (size_t N = 4; N < Good.size(); ++N) {
    Bytes Prefix(Good.begin(), Good.begin() + N);
    DataArray A;
    std::string Err;
    EXPECT_FALSE(loadData(write("p", Prefix), A, Err)) << N;
    EXPECT_FALSE(Err.empty());
  }
  EXPECT_THAT(loadError("hdr", Bytes{0, 0, 8, 3, 0, 0, 0xEA, 0x60}),
              HasSubstr("truncated IDX header"));
  EXPECT_THAT(loadError("lie", makeIdx(0x08, {60000, 28, 28}, Bytes(100))),
              HasSubstr("47040000 bytes of data"));
  EXPECT_THAT(loadError("huge", makeIdx(0x0E, {0xFFFFFFFF, 0xFFFFFFFF, 0xFFFF},
                                        Bytes(8))),
              HasSubstr("too many elements"));
  EXPECT_THAT(loadError("rank0", Bytes{0, 0, 8, 0}),
              HasSubstr("no dimensions"));
  EXPECT_THAT(loadError("empty", makeIdx(0x08, {0, 5}, {})),
              HasSubstr("no examples"));
}

//===----------------------------------------------------------------------===//
// .csv
//===----------------------------------------------------------------------===//

TEST_F(DataTest, Csv) {
  DataArray A = load("a.csv", fromText("1,2,3\n4.5,-6,7e2\n"));
  EXPECT_EQ(A.Kind, ElementKind::F64);
  EXPECT_EQ(A.Dims, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(valuesOf<double>(A), (std::vector<double>{1, 2, 3, 4.5, -6, 700}));

  // A header (any non-numeric cell), CRLF, spaces, '+', trailing empty lines.
  DataArray H = load(
      "h.csv", fromText("x1, \"x 2\" ,label\r\n 1 ,+2,0\r\n3,4,1\r\n\r\n\n"));
  EXPECT_EQ(H.Dims, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(valuesOf<double>(H), (std::vector<double>{1, 2, 0, 3, 4, 1}));

  // A header with one non-numeric cell among numbers; no final newline.
  DataArray M = load("m.csv", fromText("1,b\n5,6"));
  EXPECT_EQ(M.Dims, (std::vector<int64_t>{1, 2}));

  // One column feeds a scalar per example.
  DataArray L = load("l.csv", fromText("label\n3\n1\n4\n"));
  EXPECT_EQ(L.Dims, (std::vector<int64_t>{3, 1}));
  EXPECT_EQ(L.rowElements(), 1);
}

TEST_F(DataTest, CsvErrors) {
  std::string P = (Dir / "x.csv").string();
  EXPECT_EQ(loadError("x.csv", fromText("a,b,c\n1,2,3\n4,5\n")),
            P + ":3: expected 3 values, got 2");
  EXPECT_EQ(loadError("x.csv", fromText("1,2\n3,4,5\n")),
            P + ":2: expected 2 values, got 3");
  EXPECT_EQ(loadError("x.csv", fromText("1,2\n3,abc\n")),
            P + ":2: value 'abc' in column 2 is not a number");
  EXPECT_EQ(loadError("x.csv", fromText("1,2\n3,\n")),
            P + ":2: value '' in column 2 is not a number");
  EXPECT_THAT(loadError("x.csv", fromText("1,2\n\n3,4\n")),
              HasSubstr(":2: empty line"));
  EXPECT_THAT(loadError("x.csv", fromText("1,2\n3,1e999\n")),
              HasSubstr("out of range"));
  EXPECT_THAT(loadError("x.csv", fromText("\"a,b\n1\n")),
              HasSubstr(":1: malformed quoted cell"));
  EXPECT_THAT(loadError("x.csv", fromText("")), HasSubstr("empty"));
  EXPECT_THAT(loadError("x.csv", fromText("\n\r\n")), HasSubstr("empty"));
  EXPECT_THAT(loadError("x.csv", fromText("a,b\n")), HasSubstr("no examples"));
  EXPECT_THAT(loadError("x.csv", fromText("1,2\n1,+-2\n")),
              HasSubstr("not a number"));
}

TEST_F(DataTest, UnknownFormatAndMissingFile) {
  std::string P = write("data.txt", fromText("1,2\n"));
  DataArray A;
  std::string Err;
  EXPECT_FALSE(loadData(P, A, Err));
  EXPECT_EQ(Err, "cannot tell the format of '" + P +
                     "' (expected .npy, .csv or an IDX file)");
  std::string Missing = (Dir / "nope.npy").string();
  EXPECT_FALSE(loadData(Missing, A, Err));
  EXPECT_THAT(Err, HasSubstr(Missing + ": cannot open"));
  EXPECT_FALSE(loadData(Dir.string(), A, Err));
  EXPECT_THAT(Err, HasSubstr("is a directory"));
}

//===----------------------------------------------------------------------===//
// Feeds and conversions
//===----------------------------------------------------------------------===//

TEST_F(DataTest, CheckFeedsShapes) {
  DataArray Images = load("img", makeIdx(0x08, {3, 28, 28}, Bytes(3 * 784, 7)));
  std::string Err;
  EXPECT_TRUE(checkFeeds(Images, ir::DType::F32, {784}, Err)) << Err;
  EXPECT_TRUE(checkFeeds(Images, ir::DType::F32, {28, 28}, Err)) << Err;
  EXPECT_TRUE(checkFeeds(Images, ir::DType::I32, {1, 28, 28}, Err)) << Err;
  EXPECT_FALSE(checkFeeds(Images, ir::DType::F32, {10}, Err, "x"));
  EXPECT_EQ(Err, Images.Path + ": holds u8[3, 28, 28] (784 values per "
                               "example) but input 'x' f32[B, 10] takes 10 "
                               "values per example");
  DataArray Labels = load("lab", makeIdx(0x08, {3}, {1, 2, 3}));
  EXPECT_TRUE(checkFeeds(Labels, ir::DType::I32, {}, Err)) << Err;
  EXPECT_FALSE(checkFeeds(Labels, ir::DType::I32, {10}, Err));
  EXPECT_THAT(Err, HasSubstr("the input i32[B, 10]"));

  DataArray Other = load("o", makeIdx(0x08, {4}, {1, 2, 3, 4}));
  const DataArray *Same[] = {&Images, &Labels};
  EXPECT_TRUE(checkSameExamples(Same, Err));
  const DataArray *Differ[] = {&Images, &Other};
  EXPECT_FALSE(checkSameExamples(Differ, Err));
  EXPECT_THAT(Err,
              HasSubstr("holds 3 examples but " + Other.Path + " holds 4"));
}

TEST_F(DataTest, CheckFeedsIntegral) {
  std::string Err;
  DataArray Ok = load("ok.csv", fromText("y\n1\n-2\n2147483647\n"));
  EXPECT_TRUE(checkFeeds(Ok, ir::DType::I32, {}, Err)) << Err;
  EXPECT_TRUE(checkFeeds(Ok, ir::DType::F32, {1}, Err)) << Err;

  DataArray Frac = load("y.csv", fromText("1,2\n3,4\n5,2.5\n"));
  EXPECT_FALSE(checkFeeds(Frac, ir::DType::I32, {2}, Err, "y"));
  EXPECT_EQ(Err, Frac.Path + ": example 2: value 2.5 cannot feed input 'y' "
                             "i32[B, 2]: it is not an integer");

  DataArray Big = load("big.csv", fromText("1\n3000000000\n"));
  EXPECT_FALSE(checkFeeds(Big, ir::DType::I32, {}, Err));
  EXPECT_THAT(Err, HasSubstr("example 1: value 3000000000"));
  EXPECT_THAT(Err, HasSubstr("outside the int32 range"));

  DataArray Nan = load(
      "nan.npy", makeNpy(npyDict("<f4", "(2,)"), leBytes<float>({1, NAN})));
  EXPECT_FALSE(checkFeeds(Nan, ir::DType::I32, {}, Err));
  EXPECT_THAT(Err, HasSubstr("example 1: value nan"));

  DataArray L =
      load("l.npy", makeNpy(npyDict("<i8", "(3,)"),
                            leBytes<int64_t>({0, -5, int64_t(1) << 31})));
  EXPECT_FALSE(checkFeeds(L, ir::DType::I32, {}, Err));
  EXPECT_THAT(Err, HasSubstr("example 2: value 2147483648"));
}

TEST_F(DataTest, GatherConvertsByValue) {
  DataArray U = load("u", makeIdx(0x08, {3, 2}, {0, 1, 127, 128, 254, 255}));
  int64_t Rows[] = {2, 0};
  float F[4];
  gatherRows(U, Rows, ir::DType::F32, F);
  EXPECT_EQ(std::vector<float>(F, F + 4), (std::vector<float>{254, 255, 0, 1}));
  double D[4];
  gatherRows(U, Rows, ir::DType::F64, D);
  EXPECT_EQ(D[1], 255.0);
  int32_t I[4];
  gatherRows(U, Rows, ir::DType::I32, I);
  EXPECT_EQ(std::vector<int32_t>(I, I + 4),
            (std::vector<int32_t>{254, 255, 0, 1}));

  DataArray S = load("s", makeIdx(0x0B, {2}, beBytes<int16_t>({-300, 7})));
  int64_t Both[] = {0, 1};
  gatherRows(S, Both, ir::DType::F32, F);
  EXPECT_EQ(F[0], -300.0f);

  DataArray C = load("c.csv", fromText("0.1,2\n-3,4\n"));
  int64_t Second[] = {1};
  gatherRows(C, Second, ir::DType::I32, I);
  EXPECT_EQ(I[0], -3);
  EXPECT_EQ(I[1], 4);
  gatherRows(C, std::span<const int64_t>(Both, 1), ir::DType::F32, F);
  EXPECT_EQ(F[0], 0.1f);

  DataArray L = load(
      "l.npy", makeNpy(npyDict("<i8", "(2,)"), leBytes<int64_t>({-9, 123})));
  gatherRows(L, Both, ir::DType::I32, I);
  EXPECT_EQ(I[0], -9);
  EXPECT_EQ(I[1], 123);

  // Same type: a straight copy of the rows.
  DataArray G = load("g.npy", makeNpy(npyDict("<f4", "(3, 1)"),
                                      leBytes<float>({1.5f, 2.5f, 3.5f})));
  int64_t Order[] = {2, 1, 0};
  gatherRows(G, Order, ir::DType::F32, F);
  EXPECT_EQ(std::vector<float>(F, F + 3),
            (std::vector<float>{3.5f, 2.5f, 1.5f}));
}

//===----------------------------------------------------------------------===//
// Shuffling and batches
//===----------------------------------------------------------------------===//

TEST(ShuffleTest, ReproduciblePermutation) {
  std::vector<int64_t> A = shuffledOrder(1000, 7);
  EXPECT_EQ(A, shuffledOrder(1000, 7)) << "same seed, same order";
  EXPECT_NE(A, shuffledOrder(1000, 8)) << "different seed, different order";
  std::vector<int64_t> Sorted = A;
  std::sort(Sorted.begin(), Sorted.end());
  for (int64_t I = 0; I < 1000; ++I)
    ASSERT_EQ(Sorted[I], I);
  // The exact order is part of the contract: it must not change between
  // builds or standard libraries.
  EXPECT_EQ(shuffledOrder(10, 0),
            (std::vector<int64_t>{6, 3, 2, 9, 8, 1, 4, 7, 0, 5}));
  EXPECT_TRUE(shuffledOrder(0, 1).empty());
  EXPECT_EQ(shuffledOrder(1, 1), (std::vector<int64_t>{0}));
  EXPECT_NE(mixSeed(5, 0), mixSeed(5, 1));
  EXPECT_EQ(mixSeed(5, 1), mixSeed(5, 1));
}

TEST(ShuffleTest, Batches) {
  auto InOrder = makeBatches(10, 3, /*Shuffle=*/false, 0);
  ASSERT_EQ(InOrder.size(), 3u) << "the last partial batch is dropped";
  EXPECT_EQ(InOrder[0], (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(InOrder[2], (std::vector<int64_t>{6, 7, 8}));

  auto All = makeBatches(10, 3, false, 0, /*DropLast=*/false);
  ASSERT_EQ(All.size(), 4u);
  EXPECT_EQ(All[3], (std::vector<int64_t>{9}));

  auto S1 = makeBatches(10, 3, true, 42);
  EXPECT_EQ(S1, makeBatches(10, 3, true, 42));
  EXPECT_NE(S1, makeBatches(10, 3, true, 43));
  ASSERT_EQ(S1.size(), 3u);
  std::set<int64_t> Seen;
  for (const auto &B : S1) {
    EXPECT_EQ(B.size(), 3u);
    Seen.insert(B.begin(), B.end());
  }
  EXPECT_EQ(Seen.size(), 9u) << "no example twice in an epoch";
  std::vector<int64_t> Order = shuffledOrder(10, 42);
  EXPECT_EQ(S1[0], std::vector<int64_t>(Order.begin(), Order.begin() + 3));

  EXPECT_EQ(makeBatches(9, 3, false, 0).size(), 3u);
  EXPECT_TRUE(makeBatches(2, 3, false, 0).empty());
  EXPECT_EQ(makeBatches(2, 3, false, 0, false).size(), 1u);
  EXPECT_TRUE(makeBatches(5, 0, false, 0).empty());
}

//===----------------------------------------------------------------------===//
// writeNpy
//===----------------------------------------------------------------------===//

TEST_F(DataTest, WriteNpyRoundTrip) {
  std::string P = (Dir / "out.npy").string();
  std::vector<float> V = {1, 2, 3, 4, 5, 6};
  std::string Err;
  ASSERT_TRUE(writeNpy(P, ir::DType::F32, {2, 3}, V.data(), Err)) << Err;
  DataArray A;
  ASSERT_TRUE(loadData(P, A, Err)) << Err;
  EXPECT_EQ(A.Kind, ElementKind::F32);
  EXPECT_EQ(A.Dims, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(valuesOf<float>(A), V);
  EXPECT_EQ(fs::file_size(P), 128u + 24u) << "header padded to 64 bytes";

  std::vector<int32_t> L = {7, -1, 3};
  ASSERT_TRUE(writeNpy(P, ir::DType::I32, {3}, L.data(), Err)) << Err;
  ASSERT_TRUE(loadData(P, A, Err)) << Err;
  EXPECT_EQ(A.Kind, ElementKind::I32);
  EXPECT_EQ(A.Dims, (std::vector<int64_t>{3}));
  EXPECT_EQ(valuesOf<int32_t>(A), L);

  std::vector<double> D = {0.5, 0.25};
  ASSERT_TRUE(writeNpy(P, ir::DType::F64, {2, 1}, D.data(), Err)) << Err;
  ASSERT_TRUE(loadData(P, A, Err)) << Err;
  EXPECT_EQ(valuesOf<double>(A), D);

  for (const auto &E : fs::directory_iterator(Dir))
    EXPECT_EQ(E.path().filename(), "out.npy") << "no temporary file left";
}

TEST_F(DataTest, WriteNpyFailsCleanly) {
  std::string Err;
  float V[1] = {1};
  std::string P = (Dir / "missing" / "out.npy").string();
  EXPECT_FALSE(writeNpy(P, ir::DType::F32, {1}, V, Err));
  EXPECT_THAT(Err, HasSubstr(P));
  // A directory in the way: the rename fails and the temporary file goes.
  fs::create_directory(Dir / "taken.npy");
  EXPECT_FALSE(
      writeNpy((Dir / "taken.npy").string(), ir::DType::F32, {1}, V, Err));
  size_t Entries = 0;
  for (const auto &E : fs::directory_iterator(Dir)) {
    (void)E;
    ++Entries;
  }
  EXPECT_EQ(Entries, 1u) << "only taken.npy; no temporary file left";
}

//===----------------------------------------------------------------------===//
// Real MNIST
//===----------------------------------------------------------------------===//

// Uses the files scripts/fetch_mnist.sh puts in
// ${GRADC_DATA:-$HOME/.cache/gradc}/mnist; SKIPPED when they are not there.
TEST(MnistTest, LoadsRealTrainImages) {
  std::string Root;
  if (const char *D = std::getenv("GRADC_DATA"))
    Root = D;
  else if (const char *H = std::getenv("HOME"))
    Root = std::string(H) + "/.cache/gradc";
  fs::path Dir = fs::path(Root) / "mnist";
  if (Root.empty() || !fs::exists(Dir / "train-images-idx3-ubyte") ||
      !fs::exists(Dir / "train-labels-idx1-ubyte"))
    GTEST_SKIP() << "MNIST is not in " << Dir
                 << "; run scripts/fetch_mnist.sh to enable this test";

  DataArray Images, Labels;
  std::string Err;
  ASSERT_TRUE(loadData((Dir / "train-images-idx3-ubyte").string(), Images, Err))
      << Err;
  EXPECT_EQ(Images.Kind, ElementKind::U8);
  EXPECT_EQ(Images.Dims, (std::vector<int64_t>{60000, 28, 28}));
  EXPECT_EQ(Images.Bytes[14 * 28 + 13], 81) << "image 0, row 14, column 13";
  uint64_t Sum = 0;
  for (uint8_t B : Images.Bytes)
    Sum += B;
  EXPECT_EQ(Sum, 1567298545u);
  EXPECT_TRUE(checkFeeds(Images, ir::DType::F32, {784}, Err)) << Err;

  ASSERT_TRUE(loadData((Dir / "train-labels-idx1-ubyte").string(), Labels, Err))
      << Err;
  EXPECT_EQ(Labels.Dims, (std::vector<int64_t>{60000}));
  EXPECT_EQ(Labels.Bytes[0], 5);
  EXPECT_EQ(Labels.Bytes[59999], 8);
  EXPECT_TRUE(checkFeeds(Labels, ir::DType::I32, {}, Err)) << Err;
  int64_t Rows[] = {0, 1, 2};
  int32_t Y[3];
  gatherRows(Labels, Rows, ir::DType::I32, Y);
  EXPECT_EQ(std::vector<int32_t>(Y, Y + 3), (std::vector<int32_t>{5, 0, 4}));
}

} // namespace
