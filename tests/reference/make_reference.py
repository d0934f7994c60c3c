#!/usr/bin/python3
"""Generates the PyTorch reference data of tests/reference/cases/.

Run with Debian's Python and PyTorch 1.13 (apt-get install python3-torch):

    /usr/bin/python3 tests/reference/make_reference.py

For every case it writes tests/reference/cases/NAME/:

  model.nn           the gradc model
  INPUT.npy          one file per input, N = 10*B examples: with --no-shuffle the
                     10 training steps take 10 consecutive full batches in file order
  init.safetensors   the initial parameters, under the model's param names
  expected.json      {"losses": [the forward loss of each of the 10 steps, before
                     its update], "dtype": "f32" | "f64", ...}
  final.safetensors  after 10 steps: the params, batch-norm running statistics as
                     NAME.running_mean / NAME.running_var, optimizer state as
                     optimizer/PARAM/SLOT (PyTorch's slot names) and the metadata
                     "step": "10"

The training loop is PyTorch's own: torch.optim optimizers, torch.nn.utils
.clip_grad_norm_, F.batch_norm(training=True) on running statistics starting at 0
and 1. Schedules set param_groups' lr by hand before each step (the lr of the step
taken after t completed steps, SPEC.md section 1), not through torch schedulers.

check_reference.py (stdlib only) compares `gradc train` with these files.
"""

import json
import math
import os
import shutil
import struct
import sys

import numpy as np
import torch
import torch.nn.functional as F

STEPS = 10
HERE = os.path.dirname(os.path.abspath(__file__))
CASES_DIR = os.path.join(HERE, "cases")


# --------------------------------------------------------------------------
# safetensors (the package is not installed: a minimal writer)

_ST_DTYPES = {np.dtype("float32"): "F32", np.dtype("float64"): "F64",
              np.dtype("int32"): "I32"}


def write_safetensors(path, tensors, metadata=None):
    """Writes {name: ndarray} as safetensors: an 8-byte little-endian header
    length, the JSON header (padded with spaces to a multiple of 8), the data."""
    header = {}
    if metadata:
        header["__metadata__"] = {k: str(v) for k, v in metadata.items()}
    blobs = []
    offset = 0
    for name in sorted(tensors):
        a = np.ascontiguousarray(tensors[name])
        dt = _ST_DTYPES[a.dtype]
        data = a.astype(a.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": dt, "shape": list(a.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(",", ":")).encode("utf-8")
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


# --------------------------------------------------------------------------
# The training configuration: written into the model's train block and used to
# build the same PyTorch optimizer.

def fmt_num(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    return repr(float(v))


def fmt_call(name, args):
    return "%s(%s)" % (name, ", ".join("%s = %s" % (k, fmt_num(v)) for k, v in args.items()))


def train_block(loss, opt, clip, sched):
    lines = ["train {", "  minimize       %s" % loss, "  optimizer      %s" % fmt_call(*opt)]
    if clip is not None:
        lines.append("  clip_grad_norm %s" % fmt_num(clip))
    if sched is not None:
        lines.append("  schedule       %s" % fmt_call(*sched))
    lines.append("}")
    return "\n".join(lines) + "\n"


def make_optimizer(params, opt):
    name, a = opt
    if name == "sgd":
        return torch.optim.SGD(params, lr=a["lr"], momentum=a.get("momentum", 0.0),
                               nesterov=a.get("nesterov", False),
                               weight_decay=a.get("weight_decay", 0.0))
    if name == "adam":
        return torch.optim.Adam(params, lr=a.get("lr", 1e-3),
                                betas=(a.get("beta1", 0.9), a.get("beta2", 0.999)),
                                eps=a.get("eps", 1e-8), weight_decay=a.get("weight_decay", 0.0))
    if name == "adamw":
        return torch.optim.AdamW(params, lr=a.get("lr", 1e-3),
                                 betas=(a.get("beta1", 0.9), a.get("beta2", 0.999)),
                                 eps=a.get("eps", 1e-8), weight_decay=a.get("weight_decay", 0.01))
    if name == "rmsprop":
        return torch.optim.RMSprop(params, lr=a.get("lr", 1e-2), alpha=a.get("alpha", 0.99),
                                   eps=a.get("eps", 1e-8), momentum=a.get("momentum", 0.0))
    if name == "adagrad":
        return torch.optim.Adagrad(params, lr=a.get("lr", 1e-2), eps=a.get("eps", 1e-10))
    raise ValueError(name)


# PyTorch's state slot names, as gradc saves them (optimizer/PARAM/SLOT).
def state_slots(opt):
    name, a = opt
    if name == "sgd":
        return ["momentum_buffer"] if a.get("momentum", 0.0) != 0 else []
    if name in ("adam", "adamw"):
        return ["exp_avg", "exp_avg_sq"]
    if name == "rmsprop":
        return ["square_avg"] + (["momentum_buffer"] if a.get("momentum", 0.0) != 0 else [])
    if name == "adagrad":
        return ["sum"]
    raise ValueError(name)


def lr_at(t, opt, sched):
    """The learning rate of the step taken after t completed steps."""
    lr = opt[1].get("lr", {"sgd": None, "adam": 1e-3, "adamw": 1e-3,
                           "rmsprop": 1e-2, "adagrad": 1e-2}[opt[0]])
    if sched is None:
        return lr
    name, a = sched
    if name == "step":
        return lr * a["gamma"] ** (t // a["every"])
    if name == "exponential":
        return lr * a["gamma"] ** t
    if name == "cosine":
        n = a["steps"]
        lo = a.get("min_lr", 0.0)
        return lo + (lr - lo) * (1 + math.cos(math.pi * min(t, n) / n)) / 2
    raise ValueError(name)


class BatchNorms:
    """F.batch_norm in training mode, with running statistics (0 and 1 at the
    start) kept under the name of the tensor the result is bound to."""

    def __init__(self, dtype):
        self.dtype = dtype
        self.stats = {}

    def __call__(self, name, x, gamma, beta, eps=1e-5, momentum=0.1):
        c = x.shape[1]
        if name not in self.stats:
            self.stats[name] = (torch.zeros(c, dtype=self.dtype), torch.ones(c, dtype=self.dtype))
        rm, rv = self.stats[name]
        return F.batch_norm(x, rm, rv, gamma, beta, training=True, momentum=momentum, eps=eps)


# --------------------------------------------------------------------------
# Cases. Each has: the model text (declarations and expressions; the train block
# is generated from opt/clip/sched), the inputs (N = 10*B examples), the initial
# params and a PyTorch forward(P, X, bn) giving the loss with the same semantics.

CASES = []


def case(fn):
    CASES.append(fn)
    return fn


def rng_for(name):
    return np.random.RandomState(abs(hash_name(name)) % (2 ** 31))


def hash_name(s):
    h = 0
    for ch in s:
        h = (h * 131 + ord(ch)) % (2 ** 31 - 1)
    return h


def glorot(rng, shape, fan_in, fan_out, dt=np.float32):
    a = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-a, a, size=shape).astype(dt)


def small(rng, shape, s=0.1, dt=np.float32):
    return (rng.standard_normal(shape) * s).astype(dt)


def soft_targets(rng, n, c, dt=np.float32):
    z = rng.standard_normal((n, c)) * 1.5
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return (e / e.sum(axis=1, keepdims=True)).astype(dt)


@case
def sgd_step():
    name = "sgd_step"
    B = 4
    r = rng_for(name)
    N = STEPS * B
    text = f"""# Plain SGD with a step schedule: lr 0.2 halves every 3 steps.
# A ReLU MLP, softmax cross-entropy on i32 class ids, an accuracy metric.
model sgd_step

const B = {B}

input  x : f32[B, 6]
input  y : i32[B]

param  W1 : f32[6, 8] = he_normal
param  b1 : f32[8]    = zeros
param  W2 : f32[8, 3] = glorot_uniform
param  b2 : f32[3]    = zeros

h      = relu(x @ W1 + b1)
logits = h @ W2 + b2
loss   = softmax_cross_entropy(logits, y)
metric acc = accuracy(logits, y)
"""
    inputs = {"x": r.standard_normal((N, 6)).astype(np.float32),
              "y": r.randint(0, 3, size=N).astype(np.int32)}
    params = {"W1": glorot(r, (6, 8), 6, 8), "b1": small(r, (8,)),
              "W2": glorot(r, (8, 3), 8, 3), "b2": small(r, (3,))}

    def forward(P, X, bn):
        h = F.relu(X["x"] @ P["W1"] + P["b1"])
        logits = h @ P["W2"] + P["b2"]
        return F.cross_entropy(logits, X["y"].long())

    return dict(name=name, dtype="f32", B=B, text=text, inputs=inputs, params=params,
                forward=forward, opt=("sgd", {"lr": 0.2}), clip=None,
                sched=("step", {"every": 3, "gamma": 0.5}),
                covers="sgd (plain), schedule step, relu, matmul, softmax_cross_entropy (i32 ids), accuracy metric")


@case
def sgd_momentum_wd():
    name = "sgd_momentum_wd"
    B = 4
    r = rng_for(name)
    N = STEPS * B
    text = f"""# SGD with momentum and weight decay, gradient clipping (the clip is active
# on some steps); a sigmoid MLP regressing two targets with mse.
model sgd_momentum_wd

const B = {B}

input  x : f32[B, 5]
input  t : f32[B, 2]

param  W1 : f32[5, 6] = glorot_uniform
param  b1 : f32[6]
param  W2 : f32[6, 2] = glorot_uniform
param  b2 : f32[2]

h    = sigmoid(x @ W1 + b1)
pred = h @ W2 + b2
loss = mse(pred, t)
"""
    x = r.standard_normal((N, 5)).astype(np.float32)
    inputs = {"x": x, "t": (np.stack([x[:, 0] - x[:, 1], x[:, 2] * 0.5 + 1.0], 1)
                            + 0.1 * r.standard_normal((N, 2))).astype(np.float32)}
    params = {"W1": glorot(r, (5, 6), 5, 6), "b1": small(r, (6,)),
              "W2": glorot(r, (6, 2), 6, 2), "b2": small(r, (2,))}

    def forward(P, X, bn):
        h = torch.sigmoid(X["x"] @ P["W1"] + P["b1"])
        pred = h @ P["W2"] + P["b2"]
        return ((pred - X["t"]) ** 2).mean()

    return dict(name=name, dtype="f32", B=B, text=text, inputs=inputs, params=params,
                forward=forward,
                opt=("sgd", {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01}),
                clip=1.0, sched=None,
                covers="sgd momentum + weight_decay, clip_grad_norm, sigmoid, mse")


@case
def sgd_nesterov_exp():
    name = "sgd_nesterov_exp"
    B = 4
    r = rng_for(name)
    N = STEPS * B
    text = f"""# Nesterov SGD with weight decay and an exponential schedule; a tanh MLP
# with three independent binary targets (bce_with_logits, soft 0..1 targets).
model sgd_nesterov_exp

const B = {B}

input  x : f32[B, 4]
input  t : f32[B, 3]

param  W1 : f32[4, 6] = glorot_uniform
param  b1 : f32[6]
param  W2 : f32[6, 3] = glorot_uniform
param  b2 : f32[3]

z    = tanh(x @ W1 + b1) @ W2 + b2
loss = bce_with_logits(z, t)
"""
    inputs = {"x": r.standard_normal((N, 4)).astype(np.float32),
              "t": r.uniform(0, 1, size=(N, 3)).round(1).astype(np.float32)}
    params = {"W1": glorot(r, (4, 6), 4, 6), "b1": small(r, (6,)),
              "W2": glorot(r, (6, 3), 6, 3) * 2, "b2": small(r, (3,))}

    def forward(P, X, bn):
        z = torch.tanh(X["x"] @ P["W1"] + P["b1"]) @ P["W2"] + P["b2"]
        return F.binary_cross_entropy_with_logits(z, X["t"])

    return dict(name=name, dtype="f32", B=B, text=text, inputs=inputs, params=params,
                forward=forward,
                opt=("sgd", {"lr": 0.5, "momentum": 0.8, "nesterov": True, "weight_decay": 0.001}),
                clip=None, sched=("exponential", {"gamma": 0.9}),
                covers="sgd nesterov + weight_decay, schedule exponential, tanh, bce_with_logits")


@case
def adam_clip():
    name = "adam_clip"
    B = 6
    r = rng_for(name)
    N = STEPS * B
    text = f"""# Adam with L2 weight decay (added to the gradient) and clip_grad_norm 0.5
# (active on every step); a GELU MLP, softmax cross-entropy on class ids.
model adam_clip

const B = {B}

input  x : f32[B, 5]
input  y : i32[B]

param  W1 : f32[5, 8] = he_normal
param  b1 : f32[8]
param  W2 : f32[8, 4] = glorot_uniform
param  b2 : f32[4]

h      = gelu(x @ W1 + b1)
logits = h @ W2 + b2
loss   = softmax_cross_entropy(logits, y)
metric acc = accuracy(logits, y)
"""
    inputs = {"x": r.standard_normal((N, 5)).astype(np.float32),
              "y": r.randint(0, 4, size=N).astype(np.int32)}
    params = {"W1": glorot(r, (5, 8), 5, 8) * 2, "b1": small(r, (8,)),
              "W2": glorot(r, (8, 4), 8, 4) * 2, "b2": small(r, (4,))}

    def forward(P, X, bn):
        h = F.gelu(X["x"] @ P["W1"] + P["b1"])
        logits = h @ P["W2"] + P["b2"]
        return F.cross_entropy(logits, X["y"].long())

    return dict(name=name, dtype="f32", B=B, text=text, inputs=inputs, params=params,
                forward=forward,
                opt=("adam", {"lr": 0.01, "beta1": 0.8, "beta2": 0.99, "eps": 1e-6,
                              "weight_decay": 0.001}),
                clip=0.5, sched=None,
                covers="adam (all arguments) + weight_decay, clip_grad_norm, gelu")


@case
def adamw_cosine():
    name = "adamw_cosine"
    B = 4
    r = rng_for(name)
    N = STEPS * B
    text = f"""# AdamW (decoupled weight decay) with a cosine schedule of 6 steps and
# min_lr > 0 (steps 7..10 run at min_lr); sigmoid outputs with bce.
model adamw_cosine

const B = {B}

input  x : f32[B, 4]
input  t : f32[B, 2]

param  W1 : f32[4, 6] = glorot_uniform
param  b1 : f32[6]
param  W2 : f32[6, 2] = glorot_uniform
param  b2 : f32[2]

h    = relu(x @ W1 + b1)
p    = sigmoid(h @ W2 + b2)
loss = bce(p, t)
"""
    inputs = {"x": r.standard_normal((N, 4)).astype(np.float32),
              "t": (r.uniform(0, 1, size=(N, 2)) > 0.5).astype(np.float32)}
    params = {"W1": glorot(r, (4, 6), 4, 6), "b1": small(r, (6,)) + 0.2,
              "W2": glorot(r, (6, 2), 6, 2), "b2": small(r, (2,))}

    def forward(P, X, bn):
        h = F.relu(X["x"] @ P["W1"] + P["b1"])
        p = torch.sigmoid(h @ P["W2"] + P["b2"])
        return F.binary_cross_entropy(p, X["t"])

    return dict(name=name, dtype="f32", B=B, text=text, inputs=inputs, params=params,
                forward=forward,
                opt=("adamw", {"lr": 0.02, "weight_decay": 0.1}),
                clip=None, sched=("cosine", {"steps": 6, "min_lr": 0.002}),
                covers="adamw + weight_decay, schedule cosine with min_lr and steps < 10, bce")


@case
def rmsprop_momentum():
    name = "rmsprop_momentum"
    B = 4
    r = rng_for(name)
    N = STEPS * B
    text = f"""# RMSprop with momentum; a softplus MLP and mse against a broadcast target:
# pred f32[B, 3] against t f32[B, 1] (the mean is over the broadcast [B, 3]).
model rmsprop_momentum

const B = {B}

input  x : f32[B, 4]
input  t : f32[B, 1]

param  W1 : f32[4, 6] = glorot_uniform
param  b1 : f32[6]
param  W2 : f32[6, 3] = glorot_uniform
param  b2 : f32[3]

h    = softplus(x @ W1 + b1)
pred = h @ W2 + b2
loss = mse(pred, t)
"""
    x = r.standard_normal((N, 4)).astype(np.float32)
    inputs = {"x": x, "t": (x[:, :1] * 0.7 - 0.3).astype(np.float32)}
    params = {"W1": glorot(r, (4, 6), 4, 6), "b1": small(r, (6,)),
              "W2": glorot(r, (6, 3), 6, 3), "b2": small(r, (3,))}

    def forward(P, X, bn):
        h = F.softplus(X["x"] @ P["W1"] + P["b1"])
        pred = h @ P["W2"] + P["b2"]
        return ((pred - X["t"]) ** 2).mean()

    return dict(name=name, dtype="f32", B=B, text=text, inputs=inputs, params=params,
                forward=forward,
                opt=("rmsprop", {"lr": 0.01, "alpha": 0.9, "eps": 1e-7, "momentum": 0.5}),
                clip=None, sched=None,
                covers="rmsprop with momentum (all arguments), softplus, mse with broadcasting")


@case
def adagrad():
    name = "adagrad"
    B = 4
    r = rng_for(name)
    N = STEPS * B
    text = f"""# Adagrad; an MLP with leaky_relu and elu, mse.
model adagrad

const B = {B}

input  x : f32[B, 5]
input  t : f32[B, 2]

param  W1 : f32[5, 6] = glorot_uniform
param  b1 : f32[6]
param  W2 : f32[6, 6] = glorot_uniform
param  b2 : f32[6]
param  W3 : f32[6, 2] = glorot_uniform
param  b3 : f32[2]

h1   = leaky_relu(x @ W1 + b1, slope = 0.2)
h2   = elu(h1 @ W2 + b2, alpha = 0.7)
pred = h2 @ W3 + b3
loss = mse(pred, t)
"""
    x = r.standard_normal((N, 5)).astype(np.float32)
    inputs = {"x": x, "t": np.stack([np.sin(x[:, 0]), x[:, 1] * x[:, 2]], 1).astype(np.float32)}
    params = {"W1": glorot(r, (5, 6), 5, 6), "b1": small(r, (6,)),
              "W2": glorot(r, (6, 6), 6, 6), "b2": small(r, (6,)),
              "W3": glorot(r, (6, 2), 6, 2), "b3": small(r, (2,))}

    def forward(P, X, bn):
        h1 = F.leaky_relu(X["x"] @ P["W1"] + P["b1"], 0.2)
        h2 = F.elu(h1 @ P["W2"] + P["b2"], alpha=0.7)
        pred = h2 @ P["W3"] + P["b3"]
        return ((pred - X["t"]) ** 2).mean()

    return dict(name=name, dtype="f32", B=B, text=text, inputs=inputs, params=params,
                forward=forward, opt=("adagrad", {"lr": 0.05, "eps": 1e-10}),
                clip=None, sched=None,
                covers="adagrad, leaky_relu (slope), elu (alpha), mse")


@case
def conv():
    name = "conv"
    B = 4
    r = rng_for(name)
    N = STEPS * B
    text = f"""# Convolutions with groups = 2, dilation, padding, asymmetric stride and
# biases; max_pool2d and avg_pool2d with padding (avg counts padding as zeros).
model conv

const B = {B}

input  x : f32[B, 2, 6, 6]
input  y : i32[B]

param  K1 : f32[4, 1, 3, 3] = he_normal     # groups = 2: Cin/groups = 1
param  c1 : f32[4]
param  K2 : f32[6, 2, 2, 2] = he_normal     # groups = 2: Cin/groups = 2
param  c2 : f32[6]
param  W  : f32[120, 3]     = glorot_uniform
param  b  : f32[3]

a1 = relu(conv2d(x, K1, c1, stride = [1, 2], padding = 2, dilation = 2, groups = 2))  # [B, 4, 6, 3]
p1 = max_pool2d(a1, kernel = 3, stride = 2, padding = 1)                             # [B, 4, 3, 2]
a2 = relu(conv2d(p1, K2, c2, padding = 1, groups = 2))                                # [B, 6, 4, 3]
p2 = avg_pool2d(a2, kernel = 2, stride = 1, padding = 1)                              # [B, 6, 5, 4]
logits = flatten(p2) @ W + b                                                          # [B, 3]
loss   = softmax_cross_entropy(logits, y)
"""
    inputs = {"x": r.standard_normal((N, 2, 6, 6)).astype(np.float32),
              "y": r.randint(0, 3, size=N).astype(np.int32)}
    params = {"K1": small(r, (4, 1, 3, 3), math.sqrt(2 / 9)), "c1": small(r, (4,)),
              "K2": small(r, (6, 2, 2, 2), math.sqrt(2 / 8)), "c2": small(r, (6,)),
              "W": glorot(r, (120, 3), 120, 3), "b": small(r, (3,))}

    def forward(P, X, bn):
        a1 = F.relu(F.conv2d(X["x"], P["K1"], P["c1"], stride=(1, 2), padding=2,
                             dilation=2, groups=2))
        p1 = F.max_pool2d(a1, kernel_size=3, stride=2, padding=1)
        a2 = F.relu(F.conv2d(p1, P["K2"], P["c2"], padding=1, groups=2))
        p2 = F.avg_pool2d(a2, kernel_size=2, stride=1, padding=1, count_include_pad=True)
        logits = torch.flatten(p2, 1) @ P["W"] + P["b"]
        return F.cross_entropy(logits, X["y"].long())

    return dict(name=name, dtype="f32", B=B, text=text, inputs=inputs, params=params,
                forward=forward, opt=("sgd", {"lr": 0.05, "momentum": 0.9}),
                clip=None, sched=None,
                covers="conv2d (groups, dilation, padding, [h, w] stride, bias), max_pool2d and "
                       "avg_pool2d with padding, flatten, sgd momentum")


@case
def bn_mlp():
    name = "bn_mlp"
    B = 8
    r = rng_for(name)
    N = STEPS * B
    text = f"""# 2-D batch norm: two normalized layers (default and non-default eps and
# momentum); running statistics z1.running_mean/var, z2.running_mean/var.
model bn_mlp

const B = {B}

input  x : f32[B, 5]
input  y : i32[B]

param  W1 : f32[5, 6] = he_normal
param  g1 : f32[6]    = ones
param  e1 : f32[6]    = zeros
param  W2 : f32[6, 6] = he_normal
param  g2 : f32[6]    = ones
param  e2 : f32[6]    = zeros
param  W3 : f32[6, 3] = glorot_uniform
param  b3 : f32[3]

z1     = batch_norm(x @ W1, g1, e1)
h1     = relu(z1)
z2     = batch_norm(h1 @ W2, g2, e2, eps = 1e-3, momentum = 0.3)
h2     = tanh(z2)
logits = h2 @ W3 + b3
loss   = softmax_cross_entropy(logits, y)
"""
    inputs = {"x": (r.standard_normal((N, 5)) * 2 + 0.5).astype(np.float32),
              "y": r.randint(0, 3, size=N).astype(np.int32)}
    params = {"W1": glorot(r, (5, 6), 5, 6), "g1": (1 + small(r, (6,))), "e1": small(r, (6,)),
              "W2": glorot(r, (6, 6), 6, 6), "g2": (1 + small(r, (6,))), "e2": small(r, (6,)),
              "W3": glorot(r, (6, 3), 6, 3), "b3": small(r, (3,))}

    def forward(P, X, bn):
        z1 = bn("z1", X["x"] @ P["W1"], P["g1"], P["e1"])
        h1 = F.relu(z1)
        z2 = bn("z2", h1 @ P["W2"], P["g2"], P["e2"], eps=1e-3, momentum=0.3)
        h2 = torch.tanh(z2)
        logits = h2 @ P["W3"] + P["b3"]
        return F.cross_entropy(logits, X["y"].long())

    return dict(name=name, dtype="f32", B=B, text=text, inputs=inputs, params=params,
                forward=forward, opt=("sgd", {"lr": 0.1, "momentum": 0.9}),
                clip=None, sched=None,
                covers="batch_norm 2-D (eps, momentum), running statistics, tanh")


@case
def bn_conv():
    name = "bn_conv"
    B = 4
    r = rng_for(name)
    N = STEPS * B
    text = f"""# 4-D batch norm after a convolution (statistics over N, H, W); global
# average pooling with mean over axes [2, 3]; Adam.
model bn_conv

const B = {B}

input  x : f32[B, 2, 4, 4]
input  t : f32[B, 2]

param  K : f32[3, 2, 3, 3] = he_normal
param  g : f32[3]          = ones
param  e : f32[3]          = zeros
param  W : f32[3, 2]       = glorot_uniform
param  b : f32[2]

c    = conv2d(x, K, padding = 1)                    # [B, 3, 4, 4]
z    = batch_norm(c, g, e, eps = 1e-4, momentum = 0.25)
h    = relu(z)
pred = mean(h, axes = [2, 3]) @ W + b               # [B, 2]
loss = mse(pred, t)
"""
    inputs = {"x": (r.standard_normal((N, 2, 4, 4)) + 0.3).astype(np.float32),
              "t": r.standard_normal((N, 2)).astype(np.float32)}
    params = {"K": small(r, (3, 2, 3, 3), math.sqrt(2 / 18)), "g": (1 + small(r, (3,))),
              "e": small(r, (3,)) + 0.2, "W": glorot(r, (3, 2), 3, 2), "b": small(r, (2,))}

    def forward(P, X, bn):
        c = F.conv2d(X["x"], P["K"], padding=1)
        z = bn("z", c, P["g"], P["e"], eps=1e-4, momentum=0.25)
        h = F.relu(z)
        pred = h.mean(dim=(2, 3)) @ P["W"] + P["b"]
        return ((pred - X["t"]) ** 2).mean()

    return dict(name=name, dtype="f32", B=B, text=text, inputs=inputs, params=params,
                forward=forward, opt=("adam", {"lr": 0.01}), clip=None, sched=None,
                covers="batch_norm 4-D after conv2d (no bias), mean over axes, adam defaults")


@case
def embedding():
    name = "embedding"
    B = 4
    r = rng_for(name)
    N = STEPS * B
    text = f"""# An embedding bag: ids i32[B, 3] (repeated ids accumulate gradient; rows
# never looked up keep theirs at 0), mean over the bag, a linear layer, mse.
model embedding

const B = {B}
const V = 7

input  ids : i32[B, 3]
input  t   : f32[B, 2]

param  E : f32[V, 4] = normal(0, 1)
param  W : f32[4, 2] = glorot_uniform
param  b : f32[2]

e    = embedding(ids, E)                 # [B, 3, 4]
m    = mean(e, axes = [1])               # [B, 4]
pred = m @ W + b
loss = mse(pred, t)
"""
    ids = r.randint(0, 6, size=(N, 3)).astype(np.int32)   # id 6 never appears
    ids[0] = [2, 2, 5]                                    # a repeated id in one example
    inputs = {"ids": ids, "t": r.standard_normal((N, 2)).astype(np.float32)}
    params = {"E": small(r, (7, 4), 1.0), "W": glorot(r, (4, 2), 4, 2), "b": small(r, (2,))}

    def forward(P, X, bn):
        e = F.embedding(X["ids"].long(), P["E"])
        m = e.mean(dim=1)
        pred = m @ P["W"] + P["b"]
        return ((pred - X["t"]) ** 2).mean()

    return dict(name=name, dtype="f32", B=B, text=text, inputs=inputs, params=params,
                forward=forward, opt=("sgd", {"lr": 0.5, "momentum": 0.5}),
                clip=None, sched=None,
                covers="embedding (repeated and unused ids), mean over an axis, mse")


@case
def f64_activations():
    name = "f64_activations"
    B = 4
    r = rng_for(name)
    N = STEPS * B
    text = f"""# An f64 model (tolerance 1e-9 relative or 1e-12 absolute): an f32 input
# cast to f64, tanh, softplus (with inputs above its threshold 20), exact-erf
# gelu, elu, leaky_relu, log_softmax, logsumexp, softmax_cross_entropy with f64
# soft targets; Adam in f64.
model f64_activations

const B = {B}

input  x : f64[B, 5]
input  u : f32[B, 5]
input  t : f64[B, 4]

param  W1 : f64[5, 6] = glorot_uniform
param  b1 : f64[6]
param  W2 : f64[6, 6] = glorot_uniform
param  b2 : f64[6]
param  W3 : f64[6, 4] = glorot_uniform
param  b3 : f64[4]
param  s  : f64[5]    = ones

xx  = x + cast(u, f64) * 0.5
sp  = softplus(xx * s * 12.0)                      # some elements above 20
h1  = tanh(xx @ W1 + b1)
h2  = gelu(h1 @ W2 + b2) + elu(h1, alpha = 1.5) - leaky_relu(h1, 0.05)
logits = h2 @ W3 + b3 + mean(sp, axes = [1], keepdims = true) * 0.1
ls  = log_softmax(logits, axis = 1)
lse = logsumexp(logits, axes = 1)                  # [B]
loss = softmax_cross_entropy(logits, t) + 0.1 * mean(lse) - 0.05 * mean(ls * t)
"""
    inputs = {"x": r.standard_normal((N, 5)),
              "u": r.standard_normal((N, 5)).astype(np.float32),
              "t": soft_targets(r, N, 4, np.float64)}
    params = {"W1": glorot(r, (5, 6), 5, 6, np.float64), "b1": small(r, (6,), 0.1, np.float64),
              "W2": glorot(r, (6, 6), 6, 6, np.float64) * 2, "b2": small(r, (6,), 0.1, np.float64),
              "W3": glorot(r, (6, 4), 6, 4, np.float64), "b3": small(r, (4,), 0.1, np.float64),
              "s": 1 + small(r, (5,), 0.1, np.float64)}

    def forward(P, X, bn):
        xx = X["x"] + X["u"].double() * 0.5
        sp = F.softplus(xx * P["s"] * 12.0)
        h1 = torch.tanh(xx @ P["W1"] + P["b1"])
        h2 = F.gelu(h1 @ P["W2"] + P["b2"]) + F.elu(h1, alpha=1.5) - F.leaky_relu(h1, 0.05)
        logits = h2 @ P["W3"] + P["b3"] + sp.mean(dim=1, keepdim=True) * 0.1
        ls = F.log_softmax(logits, dim=1)
        lse = torch.logsumexp(logits, dim=1)
        sce = -(X["t"] * ls).sum(dim=1).mean()
        return sce + 0.1 * lse.mean() - 0.05 * (ls * X["t"]).mean()

    return dict(name=name, dtype="f64", B=B, text=text, inputs=inputs, params=params,
                forward=forward, opt=("adam", {"lr": 0.01}), clip=None, sched=None,
                covers="f64 throughout (cast from f32), tanh, softplus above threshold, gelu (erf), "
                       "elu, leaky_relu, log_softmax, logsumexp, softmax_cross_entropy with f64 "
                       "soft targets, adam in f64")


@case
def losses():
    name = "losses"
    B = 4
    r = rng_for(name)
    N = STEPS * B
    text = f"""# Four losses on one ReLU trunk: softmax_cross_entropy with f32 [B, C] soft
# targets, bce on sigmoid probabilities, bce_with_logits, mse with broadcasting.
model losses

const B = {B}

input  x  : f32[B, 5]
input  y1 : f32[B, 3]                 # soft targets, rows sum to 1
input  y2 : f32[B, 2]                 # 0/1 targets
input  y3 : f32[B, 2]                 # fractional targets
input  y4 : f32[B, 1]                 # broadcast against [B, 3]

param  W1 : f32[5, 8] = he_normal
param  b1 : f32[8]
param  W2 : f32[8, 3] = glorot_uniform
param  b2 : f32[3]
param  W3 : f32[8, 2] = glorot_uniform
param  b3 : f32[2]
param  W4 : f32[8, 2] = glorot_uniform
param  b4 : f32[2]
param  W5 : f32[8, 3] = glorot_uniform
param  b5 : f32[3]

h  = relu(x @ W1 + b1)
l1 = softmax_cross_entropy(h @ W2 + b2, y1)
l2 = bce(sigmoid(h @ W3 + b3), y2)
l3 = bce_with_logits(h @ W4 + b4, y3)
l4 = mse(h @ W5 + b5, y4)
loss = l1 + l2 + l3 + 0.5 * l4
"""
    inputs = {"x": r.standard_normal((N, 5)).astype(np.float32),
              "y1": soft_targets(r, N, 3),
              "y2": (r.uniform(size=(N, 2)) > 0.4).astype(np.float32),
              "y3": r.uniform(size=(N, 2)).astype(np.float32),
              "y4": r.standard_normal((N, 1)).astype(np.float32)}
    params = {"W1": glorot(r, (5, 8), 5, 8), "b1": small(r, (8,)) + 0.1,
              "W2": glorot(r, (8, 3), 8, 3), "b2": small(r, (3,)),
              "W3": glorot(r, (8, 2), 8, 2), "b3": small(r, (2,)),
              "W4": glorot(r, (8, 2), 8, 2), "b4": small(r, (2,)),
              "W5": glorot(r, (8, 3), 8, 3), "b5": small(r, (3,))}

    def forward(P, X, bn):
        h = F.relu(X["x"] @ P["W1"] + P["b1"])
        l1 = -(X["y1"] * F.log_softmax(h @ P["W2"] + P["b2"], dim=1)).sum(dim=1).mean()
        l2 = F.binary_cross_entropy(torch.sigmoid(h @ P["W3"] + P["b3"]), X["y2"])
        l3 = F.binary_cross_entropy_with_logits(h @ P["W4"] + P["b4"], X["y3"])
        l4 = ((h @ P["W5"] + P["b5"] - X["y4"]) ** 2).mean()
        return l1 + l2 + l3 + 0.5 * l4

    return dict(name=name, dtype="f32", B=B, text=text, inputs=inputs, params=params,
                forward=forward, opt=("sgd", {"lr": 0.1}), clip=None, sched=None,
                covers="softmax_cross_entropy with f32 soft targets, bce, bce_with_logits, "
                       "mse with broadcasting, in one loss")


@case
def ops():
    name = "ops"
    B = 4
    r = rng_for(name)
    N = STEPS * B
    text = f"""# Elementwise, movement and reduction ops in one differentiable graph:
# sqrt rsqrt pow (tensor exponent) abs square sign exp log maximum minimum clamp
# neg, concat slice transpose (default and perm) reshape, sum/mean/max with
# axes (negative too) and keepdims, max over all axes, batched matmul (with a
# broadcast batch dimension and with equal batch dimensions).
model ops

const B = {B}

input  x : f32[B, 6]
input  t : f32[B, 2]

param  W1 : f32[6, 8] = glorot_uniform
param  b1 : f32[8]
param  W2 : f32[4, 3] = glorot_uniform
param  P  : f32[8]    = ones
param  W3 : f32[14, 2] = glorot_uniform
param  b3 : f32[2]

a   = x @ W1 + b1                                  # [B, 8]
r   = reshape(a, [B, 2, -1])                       # [B, 2, 4]
bm  = r @ W2                                       # [B, 2, 4] @ [4, 3]: [B, 2, 3]
g   = bm @ transpose(bm)                           # [B, 2, 3] @ [B, 3, 2]: [B, 2, 2]
s1  = sqrt(square(a) + 1.0)
s2  = rsqrt(abs(a) + 0.5)
pw  = pow(sigmoid(a) + 0.5, P)
mx  = maximum(a, s2 - 1.0)
mn  = minimum(a, 0.3 * s1)
c   = clamp(a, -0.5, 0.7)
sg  = sign(a) * -a
cat = concat([c, mx, mn, pw, sg], axis = 1)        # [B, 40]
sl  = slice(cat, axis = 1, start = 8, end = -4)    # [B, 28]: mx, mn, pw, sg[:4]
r3  = reshape(sl, [B, 4, 7])
m1  = max(r3, axes = [2], keepdims = true)         # [B, 4, 1]
lg  = log(sum(exp(r3 - m1), axes = [1]))           # [B, 7]
m3  = mean(r3, axes = [1, 2])                      # [B]
m5  = mean(transpose(r3, perm = [2, 0, 1]), axes = 0)   # [B, 4]
m4  = mean(g, axes = [-1, -2], keepdims = false)   # [B]
cc  = sum(c, axes = -1, keepdims = true)           # [B, 1]
feat = concat([lg, m5, reshape(m3, [B, 1]), reshape(m4, [B, 1]), cc], axis = 1)   # [B, 14]
out  = feat @ W3 + b3
loss = mse(out, t) + 0.01 * max(g) - 0.01 * neg(mean(max(r3, axes = [1, 2])))
"""
    inputs = {"x": r.standard_normal((N, 6)).astype(np.float32),
              "t": r.standard_normal((N, 2)).astype(np.float32)}
    params = {"W1": glorot(r, (6, 8), 6, 8), "b1": small(r, (8,)),
              "W2": glorot(r, (4, 3), 4, 3), "P": 1 + small(r, (8,), 0.3),
              "W3": glorot(r, (14, 2), 14, 2), "b3": small(r, (2,))}

    def forward(P, X, bn):
        a = X["x"] @ P["W1"] + P["b1"]
        rr = a.reshape(B, 2, -1)
        bm = rr @ P["W2"]
        g = bm @ bm.transpose(-1, -2)
        s1 = torch.sqrt(torch.square(a) + 1.0)
        s2 = torch.rsqrt(torch.abs(a) + 0.5)
        pw = torch.pow(torch.sigmoid(a) + 0.5, P["P"])
        mx = torch.maximum(a, s2 - 1.0)
        mn = torch.minimum(a, 0.3 * s1)
        c = torch.clamp(a, -0.5, 0.7)
        sg = torch.sign(a) * -a
        cat = torch.cat([c, mx, mn, pw, sg], dim=1)
        sl = cat[:, 8:-4]
        r3 = sl.reshape(B, 4, 7)
        m1 = torch.amax(r3, dim=[2], keepdim=True)
        lg = torch.log(torch.exp(r3 - m1).sum(dim=[1]))
        m3 = r3.mean(dim=[1, 2])
        m5 = r3.permute(2, 0, 1).mean(dim=0)
        m4 = g.mean(dim=[-1, -2])
        cc = c.sum(dim=-1, keepdim=True)
        feat = torch.cat([lg, m5, m3.reshape(B, 1), m4.reshape(B, 1), cc], dim=1)
        out = feat @ P["W3"] + P["b3"]
        return (((out - X["t"]) ** 2).mean() + 0.01 * torch.amax(g)
                - 0.01 * torch.neg(torch.amax(r3, dim=[1, 2]).mean()))

    return dict(name=name, dtype="f32", B=B, text=text, inputs=inputs, params=params,
                forward=forward, opt=("sgd", {"lr": 0.05, "momentum": 0.5}),
                clip=None, sched=None,
                covers="sqrt, rsqrt, pow with a tensor exponent, abs, square, sign, exp, log, neg, "
                       "maximum, minimum, clamp, concat, slice (negative end), transpose (default "
                       "and perm), reshape (-1), sum/mean/max with axes (negative) and keepdims, "
                       "max over all axes, batched matmul (broadcast and equal batch dims)")


@case
def kinks():
    name = "kinks"
    B = 4
    r = rng_for(name)
    N = STEPS * B
    text = f"""# PyTorch's conventions where a derivative is not defined, on params that sit
# exactly at the kink or tie on the first step: relu'(0) = 0, abs'(0) = 0,
# leaky_relu'(0) = slope, elu'(0) = alpha, clamp passes the gradient at its
# bounds, max / max over axes split it evenly among tied elements, maximum and
# minimum split it in halves on a tie, max_pool2d gives it to the first maximum.
model kinks

const B = {B}

input  x : f32[B, 3]
input  t : f32[B, 2]

param  W  : f32[3, 2] = glorot_uniform
param  q1 : f32[3]                          # relu, abs, leaky_relu, elu at 0
param  q2 : f32[4]    = constant(1.0)       # clamp at its bounds
param  q3 : f32[2, 3] = constant(0.5)       # ties in max
param  q4 : f32[4]    = constant(0.5)       # ties in maximum / minimum
param  q5 : f32[1, 1, 2, 2] = constant(0.5) # ties in max_pool2d

k1 = sum(relu(q1) + abs(q1) + leaky_relu(q1, 0.2) + elu(q1, 0.7))
k2 = sum(clamp(q2, -1.0, 1.0) * 2.0)
k3 = max(q3) + sum(max(q3, axes = [1]))
k4 = sum(maximum(slice(q4, axis = 0, end = 2), slice(q4, axis = 0, start = 2))
         - 0.5 * minimum(slice(q4, axis = 0, end = 2), slice(q4, axis = 0, start = 2)))
k5 = sum(max_pool2d(q5, 2))
loss = mse(x @ W, t) + 0.1 * (k1 + k2 + k3 + k4 + k5)
"""
    inputs = {"x": r.standard_normal((N, 3)).astype(np.float32),
              "t": r.standard_normal((N, 2)).astype(np.float32)}
    params = {"W": glorot(r, (3, 2), 3, 2),
              "q1": np.zeros(3, np.float32),
              "q2": np.array([-1.0, 1.0, 1.0, -1.0], np.float32),
              "q3": np.array([[0.5, 0.5, 0.2], [0.3, -0.1, 0.3]], np.float32),
              "q4": np.array([0.5, -0.25, 0.5, -0.25], np.float32),
              "q5": np.array([0.5, 0.5, 0.5, 0.2], np.float32).reshape(1, 1, 2, 2)}

    def forward(P, X, bn):
        q1, q2, q3, q4, q5 = P["q1"], P["q2"], P["q3"], P["q4"], P["q5"]
        k1 = (F.relu(q1) + q1.abs() + F.leaky_relu(q1, 0.2) + F.elu(q1, 0.7)).sum()
        k2 = (torch.clamp(q2, -1.0, 1.0) * 2.0).sum()
        k3 = torch.amax(q3) + torch.amax(q3, dim=[1]).sum()
        k4 = (torch.maximum(q4[:2], q4[2:]) - 0.5 * torch.minimum(q4[:2], q4[2:])).sum()
        k5 = F.max_pool2d(q5, 2).sum()
        return ((X["x"] @ P["W"] - X["t"]) ** 2).mean() + 0.1 * (k1 + k2 + k3 + k4 + k5)

    return dict(name=name, dtype="f32", B=B, text=text, inputs=inputs, params=params,
                forward=forward, opt=("sgd", {"lr": 0.1}), clip=None, sched=None,
                covers="derivative conventions at kinks and ties: relu, abs, leaky_relu, elu at 0; "
                       "clamp at its bounds; ties in max (all axes and axes), maximum, minimum, "
                       "max_pool2d")


# --------------------------------------------------------------------------

def run_case(c):
    torch_dt = torch.float32 if c["dtype"] == "f32" else torch.float64
    np_dt = np.float32 if c["dtype"] == "f32" else np.float64
    B = c["B"]
    for k, v in c["params"].items():
        assert v.dtype == np_dt, (c["name"], k, v.dtype)
    for k, v in c["inputs"].items():
        assert v.shape[0] == STEPS * B, (c["name"], k, v.shape)

    P = {k: torch.tensor(v, dtype=torch_dt, requires_grad=True) for k, v in c["params"].items()}
    order = list(c["params"])  # declaration order
    opt = make_optimizer([P[k] for k in order], c["opt"])
    bn = BatchNorms(torch_dt)
    losses = []
    clipped = []
    for t in range(STEPS):
        X = {k: torch.from_numpy(np.ascontiguousarray(v[t * B:(t + 1) * B]))
             for k, v in c["inputs"].items()}
        for g in opt.param_groups:
            g["lr"] = lr_at(t, c["opt"], c["sched"])
        opt.zero_grad(set_to_none=True)
        loss = c["forward"](P, X, bn)
        assert loss.dtype == torch_dt and loss.dim() == 0
        losses.append(loss.item())
        loss.backward()
        if c["clip"] is not None:
            n = torch.nn.utils.clip_grad_norm_([P[k] for k in order], c["clip"])
            clipped.append(bool(n.item() > c["clip"]))
        opt.step()
        if not all(math.isfinite(v) for v in losses):
            raise SystemExit("%s: non-finite loss" % c["name"])

    final = {k: P[k].detach().numpy().copy() for k in order}
    for name, (rm, rv) in bn.stats.items():
        final[name + ".running_mean"] = rm.numpy().copy()
        final[name + ".running_var"] = rv.numpy().copy()
    for k in order:
        st = opt.state[P[k]]
        for slot in state_slots(c["opt"]):
            final["optimizer/%s/%s" % (k, slot)] = st[slot].detach().numpy().copy()
    return losses, final, clipped


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    only = set(sys.argv[1:])
    os.makedirs(CASES_DIR, exist_ok=True)
    names = []
    for fn in CASES:
        c = fn()
        names.append(c["name"])
        if only and c["name"] not in only:
            continue
        losses, final, clipped = run_case(c)
        d = os.path.join(CASES_DIR, c["name"])
        if os.path.isdir(d):
            shutil.rmtree(d)
        os.makedirs(d)
        with open(os.path.join(d, "model.nn"), "w") as f:
            f.write(c["text"] + "\n" + train_block("loss", c["opt"], c["clip"], c["sched"]))
        for k, v in c["inputs"].items():
            np.save(os.path.join(d, k + ".npy"), v)
        write_safetensors(os.path.join(d, "init.safetensors"), c["params"])
        write_safetensors(os.path.join(d, "final.safetensors"), final, {"step": STEPS})
        with open(os.path.join(d, "expected.json"), "w") as f:
            json.dump({"losses": losses, "dtype": c["dtype"], "steps": STEPS, "batch": c["B"],
                       "covers": c["covers"],
                       "generator": "tests/reference/make_reference.py, PyTorch %s" %
                                    torch.__version__.split("a")[0]}, f, indent=1)
            f.write("\n")
        extra = ""
        if clipped:
            extra = ", clipped on %d of %d steps" % (sum(clipped), len(clipped))
        print("%-18s %s  loss %.6g -> %.6g%s" % (c["name"], c["dtype"], losses[0], losses[-1], extra))
    if only - set(names):
        raise SystemExit("unknown case(s): %s" % ", ".join(sorted(only - set(names))))


if __name__ == "__main__":
    main()
