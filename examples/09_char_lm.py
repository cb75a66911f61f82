"""A character-level xLSTM language model: train it on a short text, generate from it, save and load it.

Runs on a CPU in about a minute::

    python examples/09_char_lm.py

Set ``XLSTM_TS_EXAMPLE_FAST=1`` for a much shorter training run (used by the test suite; the samples are
then mostly noise, but every code path runs).

What it shows
-------------
* an ``xLSTMLMModel`` (mLSTM and sLSTM blocks) trained with plain PyTorch on the text below, one token per
  character;
* ``generate``: greedy decoding, then nucleus sampling (``do_sample=True, top_p=0.9``) with a seeded
  ``torch.Generator``, then a batch of prompts of different lengths (left padding with an
  ``attention_mask``) that stop at the end of a line (``eos_token_id``);
* ``save_pretrained`` / ``from_pretrained``: ``config.json`` + ``model.safetensors``; the loaded model
  generates exactly what the trained one does. The script exits non-zero if it does not.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import torch

from xlstm_ts import xLSTMLMModel, xLSTMLMModelConfig
from xlstm_ts.nn import mLSTMBlockConfig, mLSTMLayerConfig, sLSTMBlockConfig, sLSTMLayerConfig

FAST = os.environ.get("XLSTM_TS_EXAMPLE_FAST") == "1"

# Written for this example. Short lines that repeat their shapes, so that a small model learns them fast.
TEXT = """\
the keeper of the lighthouse wakes before the tide.
she climbs the stairs and counts them, one to ninety.
the lamp is cold. she wipes the glass and trims the wick.
the sea is grey and the sky is grey and the gulls are white.
at noon the boat comes in with bread and oil and letters.
the boatman asks about the lamp. the lamp is fine, she says.
at dusk she climbs the stairs and counts them, one to ninety.
the lamp is warm. the light goes out across the water.
the ships see the light and turn away from the rocks.
the keeper of the lighthouse sleeps after the tide.
"""


class CharVocab:
    """Characters <-> ids; id 0 is the padding character, which the text never uses."""

    pad = "\0"

    def __init__(self, text: str) -> None:
        self.chars = [self.pad, *sorted(set(text))]
        self.index = {c: i for i, c in enumerate(self.chars)}

    def encode(self, text: str) -> torch.Tensor:
        return torch.tensor([self.index[c] for c in text], dtype=torch.long)

    def decode(self, ids: torch.Tensor) -> str:
        return "".join(self.chars[i] for i in ids.tolist() if i != 0)


def build_model(vocab_size: int) -> xLSTMLMModel:
    config = xLSTMLMModelConfig(
        mlstm_block=mLSTMBlockConfig(mlstm=mLSTMLayerConfig(num_heads=2, chunk_size=32)),
        slstm_block=sLSTMBlockConfig(slstm=sLSTMLayerConfig(num_heads=2)),
        num_blocks=2 if FAST else 3,
        slstm_at=[1],
        embedding_dim=32 if FAST else 64,
        vocab_size=vocab_size,
    )
    return xLSTMLMModel(config)


def train(model: xLSTMLMModel, data: torch.Tensor, steps: int, seq_len: int = 64, batch: int = 16) -> None:
    """Next-character cross-entropy on random windows of ``data``, with AdamW."""
    generator = torch.Generator().manual_seed(0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=4e-3, weight_decay=0.01)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=4e-3, total_steps=steps, pct_start=0.1)
    model.train()
    start = time.perf_counter()
    for step in range(1, steps + 1):
        starts = torch.randint(0, len(data) - seq_len - 1, (batch,), generator=generator)
        window = torch.stack([data[s : s + seq_len + 1] for s in starts.tolist()])  # [B, seq_len + 1]
        logits = model(window[:, :-1])  # [B, seq_len, V]
        loss = torch.nn.functional.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), window[:, 1:].reshape(-1)
        )
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        if step == 1 or step % max(1, steps // 5) == 0:
            print(f"step {step:4d}  loss {loss.item():.3f}  ({time.perf_counter() - start:.0f} s)")
    model.eval()


def main() -> None:
    torch.manual_seed(0)
    vocab = CharVocab(TEXT)
    data = vocab.encode(TEXT)
    model = build_model(len(vocab.chars))
    print(
        f"{len(TEXT)} characters, vocabulary of {len(vocab.chars)}, "
        f"{sum(p.numel() for p in model.parameters()):,} parameters"
    )
    train(model, data, steps=30 if FAST else 400)

    prompt = vocab.encode("the lamp")[None]  # [1, S]
    greedy = model.generate(prompt, max_new_tokens=60)
    print(f"\ngreedy:  {vocab.decode(greedy[0])!r}")
    g = torch.Generator().manual_seed(1)
    sampled = model.generate(
        prompt, max_new_tokens=60, do_sample=True, top_p=0.9, temperature=0.8, generator=g
    )
    print(f"top-p:   {vocab.decode(sampled[0])!r}")

    # Prompts of different lengths in one batch: left-pad with id 0 and mask the pads; stop at a newline.
    prompts = ["the sea", "at dusk she", "the"]
    width = max(len(p) for p in prompts)
    ids = torch.zeros(len(prompts), width, dtype=torch.long)
    mask = torch.zeros(len(prompts), width, dtype=torch.long)
    for row, text in enumerate(prompts):
        ids[row, width - len(text) :] = vocab.encode(text)
        mask[row, width - len(text) :] = 1
    newline = vocab.index["\n"]
    batch = model.generate(ids, max_new_tokens=80, attention_mask=mask, eos_token_id=newline, pad_token_id=0)
    print("\nbatched, each row ends at its first newline:")
    for row in batch:
        print(f"  {vocab.decode(row).rstrip()!r}")
    for row, text in enumerate(prompts):  # each row is what the prompt gives on its own
        alone = model.generate(
            vocab.encode(text)[None], max_new_tokens=80, eos_token_id=newline, pad_token_id=0
        )
        n = alone.shape[1] - len(text)
        if not torch.equal(batch[row, width : width + n], alone[0, len(text) :]):
            raise SystemExit(f"row {row} of the padded batch differs from its own run")

    with tempfile.TemporaryDirectory() as tmp:
        directory = model.save_pretrained(Path(tmp) / "char-lm")
        for path in sorted(directory.iterdir()):
            print(f"{path.name:20s} {path.stat().st_size:>9,d} bytes")
        loaded = xLSTMLMModel.from_pretrained(directory)
    again = loaded.generate(prompt, max_new_tokens=60)
    if not torch.equal(again, greedy):
        raise SystemExit("the loaded model generates something else than the saved one")
    print("the loaded model generates the same text")


if __name__ == "__main__":
    main()
