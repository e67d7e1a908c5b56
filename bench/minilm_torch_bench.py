#!/usr/bin/python3
"""PyTorch side of the text benchmark: reference_minilm.py's plain-PyTorch MiniLM (the golden
generator) on synthetic weights, sentences/s for the shapes bench/text_bench.cpp measures.

Usage: /usr/bin/python3 bench/minilm_torch_bench.py --shared ../shared --threads 1 [--min-time 0.5]
Needs Debian's python3-torch (bench/run_text_bench.sh installs it).
"""
import argparse
import os
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("--shared", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
ap.add_argument("--threads", type=int, default=1)
ap.add_argument("--min-time", type=float, default=0.5)
ap.add_argument("--tokens", default="16,64,200")
ap.add_argument("--batches", default="1,32")
args = ap.parse_args()

sys.path.insert(0, os.path.join(args.shared, "models"))
import torch  # noqa: E402
import reference_minilm as ref  # noqa: E402

torch.set_num_threads(args.threads)
model = ref.MiniLM(dict(ref.synth_state_dict()))


def ids_for(length, batch):
    out = []
    for b in range(batch):
        seq = [101] + [1000 + (b * 131 + k * 7919) % 29000 for k in range(length - 2)] + [102]
        out.append(seq)
    return out


for length in [int(x) for x in args.tokens.split(",")]:
    for batch in [int(x) for x in args.batches.split(",")]:
        ids = ids_for(length, batch)
        model.embed_ids(ids)  # warm-up
        n, t0, c0 = 0, time.perf_counter(), time.process_time()
        while True:
            model.embed_ids(ids)
            n += 1
            el = time.perf_counter() - t0
            if el >= args.min_time and n >= 2:
                break
        cpu = time.process_time() - c0  # all threads: robust to a shared machine
        print(f"torch tokens={length} batch={batch} threads={args.threads} "
              f"ms/call={1000 * el / n:.2f} sent/s={n * batch / el:.1f} sent/cpu-s={n * batch / cpu:.1f}",
              flush=True)
