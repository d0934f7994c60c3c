# Prints a .npy file without NumPy: "DTYPE [SHAPE]" on the first line, then
# one row per line (values with 6 significant digits). Used by the lit tests.
import ast
import struct
import sys

with open(sys.argv[1], "rb") as f:
    data = f.read()
assert data[:6] == b"\x93NUMPY", "not a .npy file"
major = data[6]
if major == 1:
    hlen = struct.unpack("<H", data[8:10])[0]
    start = 10
else:
    hlen = struct.unpack("<I", data[8:12])[0]
    start = 12
header = ast.literal_eval(data[start:start + hlen].decode("latin1"))
assert header["fortran_order"] is False
descr, shape = header["descr"], header["shape"]
fmt = {"<f4": "f", "<f8": "d", "<i4": "i"}[descr]
body = data[start + hlen:]
count = 1
for d in shape:
    count *= d
values = struct.unpack("<%d%s" % (count, fmt), body[:count * struct.calcsize(fmt)])
assert len(body) == count * struct.calcsize(fmt), "trailing or missing bytes"
print(descr, list(shape))
row = count // shape[0] if shape and shape[0] else count
for i in range(0, count, max(row, 1)):
    print(" ".join("%.6g" % v for v in values[i:i + row]))
