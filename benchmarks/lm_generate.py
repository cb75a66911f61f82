"""xLSTM Large generation speed: ours (``xlstm_ts.nn.xLSTMLargeForCausalLM``) vs ``transformers``' ``xLSTMForCausalLM``.

Both models get the same random weights (the 7B architecture, bf16 by default) and run side by side in one
process on one GPU, one after the other (only one model is on the device at a time):

* **prefill**: tokens/s of one prompt of 4k and 16k tokens (batch 1).  Ours returns the last position's logits
  and the state (``prefill``); transformers returns the logits of every position (its API) and its cache.
* **decode**: tokens/s of greedy decoding at batch 1 and 16 after a short prompt (ours ``step``; transformers a
  forward of one token with its ``xLSTMCache``).
* **memory**: peak allocated memory (beyond the weights) against the number of generated tokens; a recurrent
  model's must stay flat.
* **ours (CUDA graph)**: our decoding step captured in a CUDA graph (``xlstm_ts.nn.cuda_graph.CapturedStep``,
  what ``generate(cuda_graph=True)`` uses), next to the uncaptured step; its prefill is ours, not repeated.
  The capture happens in the warm-up call and is not timed.
* **LM stack** (``--lm-stack``, on by default on a GPU): the same decode comparison, eager step against the
  captured one, for the small (NeurIPS) ``xLSTMLMModel`` with sLSTM blocks at every other position (the
  backbone's step path: causal conv states, sLSTM and mLSTM steps), float32.

transformers runs with the official package's Triton kernels when ``xlstm``/``mlstm_kernels`` are installed
(``--hf-chunkwise-kernel``, default ``chunkwise--triton_limit_chunk``: ``chunkwise--triton_xl_chunk`` aborted in
Triton 3.6's compiler on this project's GPU machine, see docs/benchmarks.md), step kernel ``triton``.

Usage (from the repository root, on a CUDA machine)::

    python benchmarks/lm_generate.py --out results/lm_generate.json
    python benchmarks/lm_generate.py --small          # CPU smoke run: tiny model, short lengths, no memory column

Nothing here is imported by the package.  Timings are medians of ``--repeats`` runs after one warm-up.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Any


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x]


def _sync(device) -> None:
    import torch

    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _median_time(fn, device, repeats: int) -> float:
    fn()  # warm-up (Triton compilation, allocator)
    _sync(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _random_weights(config, seed: int, dtype, device):
    """Our model with random weights in the spirit of transformers' init (gate biases -10 / linspace(3, 6))."""
    import torch

    from xlstm_ts.nn import xLSTMLargeForCausalLM

    torch.manual_seed(seed)
    with torch.device(device):
        model = xLSTMLargeForCausalLM(config)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("igate_preact.bias"):
                p.fill_(-10.0)
            elif name.endswith("fgate_preact.bias"):
                p.copy_(torch.linspace(3.0, 6.0, p.numel()))
            elif "norm" in name:
                p.fill_(1.0)
            else:
                p.normal_(0.0, (2 / (5 * config.hidden_size)) ** 0.5)
    return model.to(dtype).eval()


class _Ours:
    name = "ours"

    def __init__(self, model) -> None:
        self.model = model

    def prefill(self, ids):
        return self.model.prefill(ids)

    def step(self, tokens, state):
        logits, state = self.model.step(tokens.reshape(-1, 1), state)  # the protocol's [B, 1] tokens
        return logits.reshape(tokens.shape[0], -1), state


class _OursGraph(_Ours):
    name = "ours (CUDA graph)"
    skip_prefill = True

    def __init__(self, model) -> None:
        super().__init__(model)
        self._captured: dict[int, Any] = {}

    def step(self, tokens, state):
        from xlstm_ts.nn.cuda_graph import CapturedStep

        B = tokens.shape[0]
        if B not in self._captured:
            self._captured[B] = CapturedStep(self.model, tokens.reshape(B, 1), state)
        logits, state = self._captured[B](tokens.reshape(B, 1), state)
        return logits.reshape(B, -1), state


class _HF:
    name = "transformers"

    def __init__(self, model) -> None:
        import inspect

        self.model = model
        # transformers renamed ``cache_params`` to ``cache`` (5.2x); older releases take only the old name
        new_api = "cache" in inspect.signature(model.forward).parameters
        self._cache_key = "cache" if new_api else "cache_params"

    def prefill(self, ids):
        out = self.model(input_ids=ids, use_cache=True)
        return out.logits[:, -1], self._cache(out)

    def step(self, tokens, cache):
        out = self.model(input_ids=tokens[:, None], use_cache=True, **{self._cache_key: cache})
        return out.logits[:, -1], self._cache(out)

    @staticmethod
    def _cache(out):
        return out.cache if hasattr(out, "cache") else out.cache_params


def _hf_model(config, state_dict, args, dtype, device):
    import torch
    import transformers

    hf_cfg = transformers.xLSTMConfig(
        **{k: v for k, v in config.to_hf_dict().items() if k != "architectures"},
    )
    if device.type == "cuda":
        hf_cfg.chunkwise_kernel = args.hf_chunkwise_kernel
        hf_cfg.sequence_kernel = "native_sequence__triton"
        hf_cfg.step_kernel = "triton"
    with torch.device("meta"):
        model = transformers.xLSTMForCausalLM(hf_cfg)
    model.load_state_dict(state_dict, assign=True)
    return model.to(device=device, dtype=dtype).eval()


def _measure(impl, args, config, device) -> list[dict[str, Any]]:
    import torch

    rows: list[dict[str, Any]] = []
    g = torch.Generator().manual_seed(0)
    V = config.vocab_size

    def ids(B: int, S: int):
        return torch.randint(0, V, (B, S), generator=g).to(device)

    with torch.inference_mode():
        for S in [] if getattr(impl, "skip_prefill", False) else args.prefill_lengths:
            prompt = ids(1, S)
            sec = _median_time(lambda prompt=prompt: impl.prefill(prompt), device, args.repeats)
            rows.append(dict(impl=impl.name, test="prefill", batch=1, length=S, tokens_per_s=S / sec))
        for B in args.decode_batches:
            logits, state = impl.prefill(ids(B, args.prompt_length))
            first = logits.argmax(-1)

            def decode(first=first, state=state):
                tok, st = first, state
                for _ in range(args.decode_tokens):
                    out, st = impl.step(tok, st)
                    tok = out.argmax(-1)

            sec = _median_time(decode, device, args.repeats)
            rows.append(
                dict(
                    impl=impl.name,
                    test="decode",
                    batch=B,
                    length=args.decode_tokens,
                    tokens_per_s=B * args.decode_tokens / sec,
                    ms_per_step=1e3 * sec / args.decode_tokens,
                )
            )
        if device.type == "cuda":
            base = torch.cuda.memory_allocated(device)
            for n in args.memory_lengths:
                torch.cuda.reset_peak_memory_stats(device)
                logits, state = impl.prefill(ids(1, args.prompt_length))
                tok = logits.argmax(-1)
                for _ in range(n):
                    logits, state = impl.step(tok, state)
                    tok = logits.argmax(-1)
                _sync(device)
                peak = torch.cuda.max_memory_allocated(device) - base
                rows.append(dict(impl=impl.name, test="memory", batch=1, length=n, peak_mib=peak / 2**20))
                del state, logits
    return rows


def _print_rows(rows: list[dict[str, Any]]) -> None:
    print("| impl | test | batch | length | tokens/s | ms per step | peak MiB |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        tps = f"{r['tokens_per_s']:.1f}" if "tokens_per_s" in r else ""
        ms = f"{r['ms_per_step']:.2f}" if "ms_per_step" in r else ""
        mem = f"{r['peak_mib']:.1f}" if "peak_mib" in r else ""
        print(
            f"| {r['impl']} | {r['test']} | {r['batch']} | {r['length']} | {tps} | {ms} | {mem} |", flush=True
        )


def _lm_stack_rows(args, device) -> list[dict[str, Any]]:
    """Decode rows of the small xLSTMLMModel (alternating sLSTM/mLSTM), eager and captured."""
    import torch

    from xlstm_ts.nn import xLSTMLMModel
    from xlstm_ts.nn.presets import lm_preset

    small = args.small
    cfg = lm_preset(
        "alternating",
        vocab_size=256 if small else 50304,
        num_blocks=2 if small else 12,
        embedding_dim=64 if small else 768,
        num_heads=4,
        context_length=args.prompt_length,
    )
    torch.manual_seed(0)
    model = xLSTMLMModel(cfg).to(device).eval()
    sub = argparse.Namespace(**{**vars(args), "prefill_lengths": [], "memory_lengths": []})
    tag = f"LM stack {cfg.num_blocks} blocks E={cfg.embedding_dim}"
    impls = [_Ours(model)] + ([_OursGraph(model)] if device.type == "cuda" else [])
    rows = []
    for impl in impls:
        impl.name = f"{tag}, {'CUDA graph' if isinstance(impl, _OursGraph) else 'eager'}"
        rows += _measure(impl, sub, cfg, device)
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--small", action="store_true", help="CPU smoke run: tiny model, short lengths, float32")
    p.add_argument("--impls", default="ours,transformers", help="comma-separated: ours, transformers")
    p.add_argument("--prefill-lengths", type=_ints, default=[4096, 16384])
    p.add_argument("--decode-batches", type=_ints, default=[1, 16])
    p.add_argument("--decode-tokens", type=int, default=128)
    p.add_argument("--prompt-length", type=int, default=16)
    p.add_argument("--memory-lengths", type=_ints, default=[128, 512, 2048])
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--hf-chunkwise-kernel", default="chunkwise--triton_limit_chunk")
    p.add_argument(
        "--lm-stack",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also time the small xLSTMLMModel's decode step, eager and captured (default: on a GPU)",
    )
    p.add_argument("--out", help="write the rows as JSON here")
    args = p.parse_args()

    import torch

    from xlstm_ts.nn import xLSTMLargeConfig

    if args.small:
        device, dtype = torch.device("cpu"), torch.float32
        # widths that are multiples of 64: transformers sizes its cache with rounded widths
        config = xLSTMLargeConfig(vocab_size=256, hidden_size=128, num_hidden_layers=2, num_heads=2)
        args.prefill_lengths, args.decode_batches = [64, 130], [1, 2]
        args.decode_tokens, args.memory_lengths, args.repeats = 4, [], 1
    else:
        if not torch.cuda.is_available():
            raise SystemExit("needs a CUDA device (or --small for the CPU smoke run)")
        device, dtype = torch.device("cuda"), torch.bfloat16
        config = xLSTMLargeConfig.preset("7b")
    impls = [s for s in args.impls.split(",") if s]
    if args.lm_stack is None:
        args.lm_stack = device.type == "cuda"
    print(
        f"# device {device} | torch {torch.__version__} | params {config.num_parameters():,} | dtype {dtype}"
    )

    rows: list[dict[str, Any]] = []
    ours_model = _random_weights(config, 0, dtype, device)
    state_dict = {k: v.to("cpu") for k, v in ours_model.state_dict().items()}
    # the same prompt through both models: a sanity check that the two timed models compute the same thing
    check = torch.randint(0, config.vocab_size, (1, 64), generator=torch.Generator().manual_seed(1)).to(
        device
    )
    with torch.inference_mode():
        ours_check = _Ours(ours_model).prefill(check)[0].float().cpu()
    if "ours" in impls:
        rows += _measure(_Ours(ours_model), args, config, device)
        _print_rows(rows)
        if device.type == "cuda":
            rows += _measure(_OursGraph(ours_model), args, config, device)
            _print_rows(rows)
    del ours_model
    if device.type == "cuda":
        torch.cuda.empty_cache()
    if "transformers" in impls:
        try:
            hf = _hf_model(config, state_dict, args, dtype, device)
        except (ImportError, AttributeError) as err:
            print(f"# transformers skipped: {err}")
        else:
            with torch.inference_mode():
                hf_check = _HF(hf).prefill(check)[0].float().cpu()
            diff = (hf_check - ours_check).abs().max().item()
            print(f"# last-position logits of a 64-token prompt, max |ours - transformers| = {diff:.3g}")
            try:
                rows += _measure(_HF(hf), args, config, device)
            except Exception as err:  # report ours even when transformers fails on this machine
                print(f"# transformers failed: {type(err).__name__}: {err}")
            del hf

    if args.lm_stack:
        rows += _lm_stack_rows(args, device)

    _print_rows(rows)
    if args.out:
        meta = dict(
            device=str(torch.cuda.get_device_name() if device.type == "cuda" else "cpu"),
            torch=torch.__version__,
        )
        with open(args.out, "w") as fh:
            json.dump(dict(meta=meta, args=vars(args), results=rows), fh, indent=2)


if __name__ == "__main__":
    main()
