# Writes the bytes of IN as a C++ array definition to OUT:
#   cmake -DIN=ThreadPool.bc -DOUT=ThreadPoolBitcode.inc -P Embed.cmake
file(READ ${IN} HEX HEX)
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," BYTES "${HEX}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" BYTES "${BYTES}")
file(WRITE ${OUT} "// Generated from ${IN} by codegen/rt/Embed.cmake.\n${BYTES}\n")
