"""Peer baseline for bench:scale: Hugging Face transformers + torch forward hooks.

Reads the same checkpoint folder and corpus slice as `ffn-lens index`, cuts the token
stream into windows of 128, runs batches of 16 windows in fp32 with a forward hook on
every FFN activation that copies the coefficients out (what an index needs), and prints
{"tokPerS": …}. Optional: bench:scale skips it when /work/venv is absent; no test uses it.
"""
import json
import sys
import time

import torch
from transformers import AutoModelForCausalLM, PreTrainedTokenizerFast

model_dir, corpus = sys.argv[1], sys.argv[2]
torch.set_num_threads(max(1, torch.get_num_threads()))
tok = PreTrainedTokenizerFast(tokenizer_file=f"{model_dir}/tokenizer.json")
model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
ids = [i for p in open(corpus, encoding="utf8").read().split("\n\n") if p.strip() for i in tok.encode(p)]
W, B = 128, 16
windows = [ids[i : i + W] for i in range(0, len(ids) - W + 1, W)]
captured = []


def keep(_module, _inputs, output):
    captured.append(output.detach().clone())


for block in getattr(model, "transformer", model).h if hasattr(model, "transformer") else model.model.layers:
    act = block.mlp.act if hasattr(block.mlp, "act") else block.mlp.act_fn
    act.register_forward_hook(keep)

with torch.inference_mode():
    model(torch.tensor(windows[:2]))  # warm-up
    start = time.perf_counter()
    for b in range(0, len(windows), B):
        captured.clear()
        model(torch.tensor(windows[b : b + B]))
    elapsed = time.perf_counter() - start
print(json.dumps({"tokPerS": len(windows) * W / elapsed, "tokens": len(windows) * W}))
