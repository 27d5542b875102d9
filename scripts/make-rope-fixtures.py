#!/usr/bin/env python3
"""Makes test/fixtures/conformance-rope/<name>/: tiny random-weight models whose rotary
embeddings use the scaled rope types (linear, dynamic, yarn, longrope), each with what
Hugging Face transformers computes for it in fp32.

This records how the committed fixtures were made; no test runs it. It needs torch,
transformers 5.17 and safetensors (a venv outside the repository):

    /work/venv/bin/python scripts/make-rope-fixtures.py [OUT_DIR]

The layout is that of shared/conformance/<arch>/ (see shared/README.md): config.json and
model.safetensors as transformers saves them; reference.safetensors with CASE.input_ids,
CASE.logits, CASE.final_norm, CASE.L{l}.{resid_pre,resid_post,mlp_in,coeff,mlp_out} and
CASE.intervened.{logits,L{l}.coeff} for CASE in one (1 token), short (9), long (40);
reference.json with the case lengths, each case's last top-1 token and the intervention.
"""
import json
import os
import sys

import torch
from safetensors.torch import save_file
from transformers import AutoConfig, AutoModelForCausalLM

CASES = {"one": 1, "short": 9, "long": 40}
INTERVENTION = [[1, 5, 0.0], [0, 3, 4.0]]  # [layer, key, value]: set that coefficient everywhere

COMMON = dict(
    vocab_size=512,
    hidden_size=64,
    num_attention_heads=4,
    num_key_value_heads=2,
    intermediate_size=128,
    num_hidden_layers=2,
    tie_word_embeddings=True,
    bos_token_id=1,
    eos_token_id=2,
)

# name -> (model_type, config fields). Context sizes are small so that the 40-token case
# crosses them where the rope type cares (dynamic NTK, LongRoPE's short/long switch).
FIXTURES = {
    "llama_linear": ("llama", dict(max_position_embeddings=128, rope_parameters=dict(rope_type="linear", factor=4.0, rope_theta=10000.0))),
    # dynamic NTK rescales only past max_position_embeddings: the long case (40) does, the others not
    "llama_dynamic": ("llama", dict(max_position_embeddings=32, rope_parameters=dict(rope_type="dynamic", factor=2.0, rope_theta=10000.0))),
    # YaRN with every optional field left to transformers' defaults
    "llama_yarn": ("llama", dict(max_position_embeddings=128, rope_parameters=dict(rope_type="yarn", factor=4.0, original_max_position_embeddings=32, rope_theta=10000.0))),
    # YaRN with every optional field given (attention_factor wins over the mscale formula; no
    # truncation). The longer original context puts the ramp between the betas, 1.4 and 2.0
    # (truncated: 1 and 3), across rotary pairs 1-3, so beta_fast, beta_slow and truncate all matter.
    "llama_yarn_explicit": ("llama", dict(max_position_embeddings=512, rope_parameters=dict(
        rope_type="yarn", factor=4.0, original_max_position_embeddings=128, rope_theta=10000.0,
        attention_factor=1.3, beta_fast=4.0, beta_slow=2.0, truncate=False))),
    # DeepSeek-style YaRN: the attention factor from mscale / mscale_all_dim; Qwen2's q/k/v biases
    "qwen2_yarn": ("qwen2", dict(max_position_embeddings=256, rope_parameters=dict(
        rope_type="yarn", factor=8.0, original_max_position_embeddings=32, rope_theta=10000.0, mscale=0.707, mscale_all_dim=1.0))),
    # Phi-3's LongRoPE: short factors up to original_max_position_embeddings (32), long ones past it;
    # no explicit factor, so the attention factor comes from 128 / 32, as for Phi-3-mini-128k
    "phi3_longrope": ("phi3", dict(max_position_embeddings=128, original_max_position_embeddings=32, pad_token_id=0, partial_rotary_factor=0.75,
        rope_parameters=dict(rope_type="longrope", rope_theta=10000.0, partial_rotary_factor=0.75,
                             short_factor=[1.0, 1.1, 1.3, 1.6, 2.0, 2.5], long_factor=[1.0, 1.5, 2.5, 4.0, 6.0, 9.0]))),
}


def randomize(model: torch.nn.Module, gen: torch.Generator) -> None:
    """Normal weights with std 0.1; norm gains 1 + 0.1·normal (as in shared/conformance)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            noise = torch.randn(p.shape, generator=gen) * 0.1
            p.copy_(noise + 1.0 if "norm" in name and p.dim() == 1 else noise)


def run_case(model, ids: torch.Tensor, intervene: bool) -> dict:
    """One forward pass with hooks: the reference tensors of shared/README.md."""
    out, hooks = {}, []
    layers = model.model.layers
    for l, layer in enumerate(layers):
        down = layer.mlp.down_proj
        hooks.append(layer.register_forward_pre_hook(lambda m, a, l=l: out.__setitem__(f"L{l}.resid_pre", a[0])))
        hooks.append(layer.register_forward_hook(lambda m, a, o, l=l: out.__setitem__(f"L{l}.resid_post", o[0] if isinstance(o, tuple) else o)))
        hooks.append(layer.mlp.register_forward_pre_hook(lambda m, a, l=l: out.__setitem__(f"L{l}.mlp_in", a[0])))

        def down_pre(m, a, l=l):
            x = a[0].clone()
            if intervene:
                for layer_i, key, value in INTERVENTION:
                    if layer_i == l:
                        x[..., key] = value
            out[f"L{l}.coeff"] = x
            return (x,)

        hooks.append(down.register_forward_pre_hook(down_pre))
        hooks.append(down.register_forward_hook(lambda m, a, o, l=l: out.__setitem__(f"L{l}.mlp_out", o)))
    hooks.append(model.model.norm.register_forward_hook(lambda m, a, o: out.__setitem__("final_norm", o)))
    with torch.no_grad():
        out["logits"] = model(ids[None, :]).logits
    for h in hooks:
        h.remove()
    return {k: v[0].detach().float().clone() for k, v in out.items()}


def make(name: str, model_type: str, fields: dict, root: str, seed: int) -> None:
    folder = os.path.join(root, name)
    os.makedirs(folder, exist_ok=True)
    config = AutoConfig.for_model(model_type, **COMMON, **fields)
    gen = torch.Generator().manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config, attn_implementation="eager").float()
    randomize(model, gen)
    model.save_pretrained(folder, safe_serialization=True)

    ref, meta = {}, {"cases": {}, "intervention": INTERVENTION}
    for case, length in CASES.items():
        ids = torch.randint(3, 512, (length,), generator=gen)
        # a fresh model per case: dynamic NTK keeps the longest length seen as state
        for intervene in (False, True):
            fresh = AutoModelForCausalLM.from_pretrained(folder, attn_implementation="eager", dtype=torch.float32).eval()
            got = run_case(fresh, ids, intervene)
            if intervene:
                ref[f"{case}.intervened.logits"] = got["logits"]
                for l in range(config.num_hidden_layers):
                    ref[f"{case}.intervened.L{l}.coeff"] = got[f"L{l}.coeff"]
            else:
                ref[f"{case}.input_ids"] = ids.to(torch.int64)
                ref.update({f"{case}.{k}": v for k, v in got.items()})
                meta["cases"][case] = {"length": length, "top1_last": int(got["logits"][-1].argmax())}
    save_file(ref, os.path.join(folder, "reference.safetensors"))
    with open(os.path.join(folder, "reference.json"), "w") as fh:
        json.dump(meta, fh, indent=1)
    size = sum(os.path.getsize(os.path.join(folder, f)) for f in os.listdir(folder))
    print(f"{name}: {model_type}, {size / 1e6:.2f} MB")


def main() -> None:
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "test", "fixtures", "conformance-rope")
    for seed, (name, (model_type, fields)) in enumerate(FIXTURES.items()):
        make(name, model_type, fields, root, 1000 + seed)


if __name__ == "__main__":
    main()
