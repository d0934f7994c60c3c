#!/usr/bin/env python3
"""ctest install_package: `cmake --install` into a temporary prefix, then
examples/embed built against the installed gradc twice: as a CMake project
with find_package(gradc), and with `c++ $(pkg-config --cflags --libs gradc)`.
Both binaries must load the installed libgradc and run (no arguments: the
usage line, exit status 2); the package's GRADC_EXECUTABLE must be the
installed gradc.

  check_install.py CMAKE BUILD_DIR SOURCE_DIR WORK_DIR CXX [EXTRA_FLAGS...]
"""
import os
import shutil
import subprocess
import sys

CMAKE, BUILD, SRC, WORK, CXX = sys.argv[1:6]
EXTRA = sys.argv[6:]
shutil.rmtree(WORK, ignore_errors=True)
os.makedirs(WORK)
prefix = os.path.join(WORK, "prefix")


def run(args, env=None, want=0):
    r = subprocess.run(args, capture_output=True, text=True, env=env)
    if r.returncode != want:
        sys.exit(f"FAIL: {' '.join(args)} exited {r.returncode}\n{r.stdout}{r.stderr}")
    return r.stdout + r.stderr


run([CMAKE, "--install", BUILD, "--prefix", prefix])
for f in ["bin/gradc", "include/gradc/gradc.h", "include/gradc/gradc.hpp",
          "lib/cmake/gradc/gradcConfig.cmake", "lib/pkgconfig/gradc.pc"]:
    if not os.path.exists(os.path.join(prefix, f)):
        sys.exit(f"FAIL: the install has no {f}")
libdir = os.path.join(prefix, "lib")
if not any(n.startswith("libgradc.so") for n in os.listdir(libdir)):
    sys.exit("FAIL: the install has no libgradc.so")

# CMake: find_package(gradc).
proj = os.path.join(WORK, "cmake-project")
shutil.copytree(os.path.join(SRC, "examples", "embed"), proj)
with open(os.path.join(proj, "CMakeLists.txt"), "a") as f:
    f.write('\nif(NOT EXISTS "${GRADC_EXECUTABLE}")\n'
            '  message(FATAL_ERROR "GRADC_EXECUTABLE is ${GRADC_EXECUTABLE}")\nendif()\n')
flags = " ".join(EXTRA)
run([CMAKE, "-S", proj, "-B", os.path.join(WORK, "cmake-build"),
     "-DCMAKE_PREFIX_PATH=" + prefix, "-DCMAKE_CXX_COMPILER=" + CXX,
     "-DCMAKE_CXX_FLAGS=" + flags, "-DCMAKE_EXE_LINKER_FLAGS=" + flags])
run([CMAKE, "--build", os.path.join(WORK, "cmake-build")])
out = run([os.path.join(WORK, "cmake-build", "embed")], want=2)
if "usage: embed" not in out:
    sys.exit("FAIL: the CMake-built example did not run:\n" + out)
print("find_package(gradc): built and ran examples/embed")

# pkg-config.
env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(libdir, "pkgconfig"))
pc = run(["pkg-config", "--cflags", "--libs", "gradc"], env=env).split()
exe = os.path.join(WORK, "embed-pc")
run([CXX, "-std=c++20", os.path.join(SRC, "examples", "embed", "main.cpp"), "-o", exe]
    + pc + EXTRA)
out = run([exe], want=2)
if "usage: embed" not in out:
    sys.exit("FAIL: the pkg-config-built example did not run:\n" + out)
ldd = run(["ldd", exe])
used = [l.split("=>")[1].split()[0] for l in ldd.splitlines() if "libgradc.so" in l and "=>" in l]
if not used or os.path.dirname(os.path.realpath(used[0])) != os.path.realpath(libdir):
    sys.exit("FAIL: the pkg-config build does not use the installed libgradc:\n" + ldd)
print("pkg-config gradc: built and ran examples/embed against", libdir)
print("PASS")
