// examples/embed/main.cpp: a C++ program that embeds gradc as a library.
//
// It compiles the MNIST MLP (examples/mnist_mlp.nn) with libgradc, loads the
// MNIST IDX files itself, trains, evaluates on the test set, and saves a
// checkpoint that the command line reads:
//
//   embed examples/mnist_mlp.nn ~/.cache/gradc/mnist mnist.safetensors [STEPS]
//   gradc eval examples/mnist_mlp.nn --load mnist.safetensors
//       --data x=~/.cache/gradc/mnist/t10k-images-idx3-ubyte
//       --data y=~/.cache/gradc/mnist/t10k-labels-idx1-ubyte
//   (one command line)
//
// Build: c++ -std=c++20 main.cpp $(pkg-config --cflags --libs gradc), or
// with CMake: find_package(gradc) and target_link_libraries(embed gradc::gradc)
// (examples/embed/CMakeLists.txt).
#include <gradc/gradc.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

namespace {

/// The elements of an IDX file of unsigned bytes (MNIST's format: a
/// big-endian header of magic 0x00000801 or 0x00000803 and the dims).
std::vector<uint8_t> readIdx(const std::string &Path, std::vector<uint32_t> &Dims) {
  std::ifstream In(Path, std::ios::binary);
  if (!In)
    throw std::runtime_error("cannot read " + Path);
  auto Word = [&] {
    unsigned char B[4] = {};
    In.read(reinterpret_cast<char *>(B), 4);
    return uint32_t(B[0]) << 24 | uint32_t(B[1]) << 16 | uint32_t(B[2]) << 8 | B[3];
  };
  uint32_t Magic = Word();
  if ((Magic >> 8) != 0x08 || (Magic & 0xff) < 1 || (Magic & 0xff) > 4)
    throw std::runtime_error(Path + " is not an IDX file of unsigned bytes");
  Dims.clear();
  size_t N = 1;
  for (uint32_t I = 0; I < (Magic & 0xff); ++I) {
    Dims.push_back(Word());
    N *= Dims.back();
  }
  std::vector<uint8_t> Data(N);
  In.read(reinterpret_cast<char *>(Data.data()), static_cast<std::streamsize>(N));
  if (!In)
    throw std::runtime_error(Path + " is truncated");
  return Data;
}

struct Split {
  std::vector<float> Images; // N x 784, the pixel values 0..255
  std::vector<int32_t> Labels;
  size_t N = 0;
};

Split load(const std::string &Dir, const std::string &Prefix) {
  std::vector<uint32_t> ImDims, LbDims;
  std::vector<uint8_t> Im = readIdx(Dir + "/" + Prefix + "-images-idx3-ubyte", ImDims);
  std::vector<uint8_t> Lb = readIdx(Dir + "/" + Prefix + "-labels-idx1-ubyte", LbDims);
  if (ImDims.size() != 3 || ImDims[1] * ImDims[2] != 784 || LbDims[0] != ImDims[0])
    throw std::runtime_error(Dir + ": " + Prefix + " files do not fit MNIST");
  Split S;
  S.N = ImDims[0];
  S.Images.assign(Im.begin(), Im.end());
  S.Labels.assign(Lb.begin(), Lb.end());
  return S;
}

} // namespace

int main(int Argc, char **Argv) {
  if (Argc < 4) {
    std::cerr << "usage: embed MODEL.nn MNIST_DIR OUT.safetensors [STEPS]\n";
    return 2;
  }
  const std::string ModelPath = Argv[1], Dir = Argv[2], Out = Argv[3];
  const long Steps = Argc > 4 ? std::atol(Argv[4]) : 1000;
  try {
    gradc::Options O;
    O.Threads = 1;
    gradc::Model M = gradc::Model::fromFile(ModelPath, O);
    const size_t B = static_cast<size_t>(M.batchSize());
    Split Train = load(Dir, "train"), Test = load(Dir, "t10k");
    std::cerr << "model " << M.name() << ": batch " << B << ", " << Train.N
              << " training and " << Test.N << " test examples\n";

    // One batch buffer per input, bound once; each step copies a batch in.
    std::vector<float> X(B * 784);
    std::vector<int32_t> Y(B);
    M.bind("x", X);
    M.bind("y", Y);
    auto Gather = [&](const Split &S, size_t First) {
      std::copy_n(S.Images.begin() + First * 784, B * 784, X.begin());
      std::copy_n(S.Labels.begin() + First, B, Y.begin());
    };

    M.init(0);
    const size_t Batches = Train.N / B;
    for (long T = 0; T < Steps; ++T) {
      Gather(Train, (static_cast<size_t>(T) % Batches) * B);
      double Loss = M.trainStep(); // the model's adam(lr = 1e-3)
      if ((T + 1) % 100 == 0 || T + 1 == Steps)
        std::printf("step %ld loss %.6f\n", T + 1, Loss);
    }

    // The test set, full batches (the command line also evaluates the rest).
    double Loss = 0, Acc = 0;
    size_t N = 0;
    for (size_t First = 0; First + B <= Test.N; First += B, ++N) {
      Gather(Test, First);
      gradc::EvalResult R = M.eval();
      Loss += R.Loss;
      Acc += R.Metrics.at(0);
    }
    std::printf("test loss %.6f acc %.4f over %zu examples\n", Loss / N, Acc / N, N * B);
    M.save(Out);
    std::printf("saved %s at step %lld\n", Out.c_str(), static_cast<long long>(M.step()));
  } catch (const gradc::Error &E) {
    std::cerr << "embed: " << gradc_status_name(E.status()) << ": " << E.what() << "\n";
    return 1;
  } catch (const std::exception &E) {
    std::cerr << "embed: " << E.what() << "\n";
    return 1;
  }
  return 0;
}
