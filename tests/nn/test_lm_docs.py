"""The Python snippets of ``docs/lm.md`` run, in order, in one namespace (as a reader would run them), and
what their comments claim holds."""

from __future__ import annotations

import re
from pathlib import Path

import torch

PAGE = Path(__file__).resolve().parents[2] / "docs" / "lm.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def test_lm_page_snippets_run_and_say_true_things(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # save_pretrained("my-lm") writes here
    blocks = BLOCK.findall(PAGE.read_text())
    assert len(blocks) >= 6
    ns: dict = {"__name__": "__main__"}
    for i, code in enumerate(blocks, 1):
        exec(compile(code, f"docs/lm.md python snippet {i}", "exec"), ns)
        if "continued" in code:  # the continuation snippet's comment
            model, out, more = ns["model"], ns["out"], ns["more"]
            at_once = model.generate(torch.cat([out, more], 1), max_new_tokens=10)[:, out.shape[1] :]
            assert torch.equal(ns["continued"], at_once)
    assert ns["logits"].shape == (2, 12, 100)
    assert (tmp_path / "my-lm" / "config.json").is_file() and (
        tmp_path / "my-lm" / "model.safetensors"
    ).is_file()
    assert {p.dtype for p in ns["half"].parameters()} == {torch.bfloat16}
