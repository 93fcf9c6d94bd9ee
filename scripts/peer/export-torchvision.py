#!/usr/bin/python3
"""Export real PyTorch models to ONNX for the mtserve vs ONNX Runtime comparison.

Exports torchvision resnet50, googlenet, mobilenet_v2, squeezenet1_1 and vgg16
(batch 1, 3x224x224) and a BERT-base-like nn.TransformerEncoder (d_model 768,
12 heads, FFN 3072, GELU, 12 layers, batch_first, input 1x128x768) with
random weights from a fixed seed (weights=None: nothing is downloaded; there
is no network here), in eval mode.

These are the graphs PyTorch users actually deploy, so they exercise mtserve's
ONNX importer on real exporter output (Constant/Shape/Gather/Reshape chains,
Flatten, Gemm, Erf-based GELU, LayerNormalization at opset 17, ...), as
opposed to the zoo that mtserve's own C builders write.

Uses Debian's python3-torch / python3-torchvision, which install for
/usr/bin/python3 (not a pyenv python):
    /usr/bin/python3 scripts/peer/export-torchvision.py [--out DIR] [--opset N] [MODEL ...]
Default DIR is out/peer-models (git-ignored); default opset 17.
With --reference it also runs each model in PyTorch on the deterministic input
(README.md) and writes DIR/NAME.torch-out.pb, a third opinion next to ORT's:
    node scripts/peer/ort-run.js --model DIR/resnet50.onnx --output /tmp/o.pb
    node scripts/peer/tensor-diff.js /tmp/o.pb DIR/resnet50.torch-out.pb
"""

import argparse
import os
import sys

import torch
import torchvision

CNNS = ["resnet50", "googlenet", "mobilenet_v2", "squeezenet1_1", "vgg16"]
ALL = CNNS + ["bert_encoder"]


def make_cnn(name):
    ctor = getattr(torchvision.models, name)
    kwargs = {"weights": None}
    if name == "googlenet":
        # Without pretrained weights torchvision builds the auxiliary heads
        # and the ImageNet input transform unless told otherwise; eval()
        # drops the aux outputs, transform_input would add a preprocessing
        # step the other exporters do not have.
        kwargs.update(aux_logits=False, transform_input=False, init_weights=True)
    return ctor(**kwargs), torch.randn(1, 3, 224, 224)


class BertEncoder(torch.nn.Module):
    """BERT-base-sized encoder stack on already-embedded tokens."""

    def __init__(self):
        super().__init__()
        layer = torch.nn.TransformerEncoderLayer(
            d_model=768, nhead=12, dim_feedforward=3072, dropout=0.0,
            activation="gelu", batch_first=True, layer_norm_eps=1e-12)
        # enable_nested_tensor=False: the nested-tensor fast path has no ONNX
        # export and is irrelevant without a padding mask.
        self.enc = torch.nn.TransformerEncoder(layer, num_layers=12,
                                               enable_nested_tensor=False)
        # TransformerEncoder deep-copies one layer, so all 12 would share the
        # same values, and the exporter stores identical initializers once
        # (a 27 MiB file instead of ~330 MiB). Give every matrix its own
        # BERT-style N(0, 0.02) values so the model has BERT-base's weight
        # footprint and memory traffic.
        for p in self.enc.parameters():
            if p.dim() > 1:
                torch.nn.init.normal_(p, std=0.02)

    def forward(self, x):
        return self.enc(x)


def make(name):
    if name == "bert_encoder":
        return BertEncoder(), torch.randn(1, 128, 768)
    return make_cnn(name)


def det_input(shape):
    """The deterministic input of README.md: x_i = h_i / 2^31 - 1, h_i = i * 2654435761 mod 2^32."""
    n = 1
    for d in shape:
        n *= d
    i = torch.arange(n, dtype=torch.int64)
    h = (i * 2654435761) % (1 << 32)
    # float64 holds h / 2^31 - 1 exactly; one rounding to float32 follows.
    return (h.to(torch.float64) / 2**31 - 1).to(torch.float32).reshape(shape)


def varint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def write_tensor_pb(path, name, t):
    """TensorProto with dims, data_type FLOAT, name and little-endian raw_data."""
    t = t.detach().contiguous().to(torch.float32)
    buf = bytearray()
    for d in t.shape:
        buf += b"\x08" + varint(d)
    buf += b"\x10" + varint(1)
    nb = name.encode()
    buf += b"\x42" + varint(len(nb)) + nb
    raw = t.numpy().astype("<f4").tobytes()
    buf += b"\x4a" + varint(len(raw)) + raw
    with open(path, "wb") as f:
        f.write(buf)


def export(name, out_dir, opset, reference=False):
    torch.manual_seed(0)
    model, example = make(name)
    model.eval()
    path = os.path.join(out_dir, f"{name}.onnx")
    # Export with autograd enabled and parameters requiring grad: that keeps
    # TransformerEncoderLayer off its fused inference fast path
    # (torch._transformer_encoder_layer_fwd), which ONNX cannot express.
    with torch.enable_grad():
        torch.onnx.export(
            model, (example,), path,
            input_names=["input"], output_names=["output"],
            opset_version=opset, do_constant_folding=True)
    print(f"{name}: {path} ({os.path.getsize(path) / 2**20:.1f} MiB)", flush=True)
    if reference:
        with torch.no_grad():
            y = model(det_input(tuple(example.shape)))
        ref = os.path.join(out_dir, f"{name}.torch-out.pb")
        write_tensor_pb(ref, "output", y)
        print(f"{name}: {ref} (PyTorch output on the deterministic input)", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "out", "peer-models"))
    ap.add_argument("--opset", type=int, default=17)
    ap.add_argument("--reference", action="store_true",
                    help="also write NAME.torch-out.pb (PyTorch on the deterministic input)")
    ap.add_argument("models", nargs="*", default=ALL, help=f"subset of {ALL}")
    args = ap.parse_args()
    for m in args.models:
        if m not in ALL:
            sys.exit(f"unknown model {m}; choose from {ALL}")
    out = os.path.normpath(args.out)
    os.makedirs(out, exist_ok=True)
    torch.set_num_threads(max(1, os.cpu_count() or 1))
    for m in args.models:
        export(m, out, args.opset, args.reference)


if __name__ == "__main__":
    main()
