"""``xLSTMLMModel``: token embedding, block stack and linear head, with stateful generation."""

from __future__ import annotations

import torch
from torch import nn

from .block_stack import StackState, xLSTMBlockStack
from .components import small_init_
from .configs import xLSTMLMModelConfig


class xLSTMLMModel(nn.Module):
    """xLSTM language model over token ids ``[B, S]`` returning logits ``[B, S, vocab_size]``.

    The embedding and the head are small-init'ed at construction (the reference leaves them at
    PyTorch defaults until ``reset_parameters()`` is called).

    Examples
    --------
    >>> import torch
    >>> from xlstm_ts import xLSTMLMModel, xLSTMLMModelConfig, mLSTMBlockConfig
    >>> model = xLSTMLMModel(xLSTMLMModelConfig(mlstm_block=mLSTMBlockConfig(), num_blocks=2,
    ...                                         embedding_dim=32, vocab_size=50)).eval()
    >>> prompt = torch.randint(0, 50, (2, 5))
    >>> model(prompt).shape
    torch.Size([2, 5, 50])
    >>> out = model.generate(prompt, max_new_tokens=4, greedy=True)
    >>> out.shape
    torch.Size([2, 9])
    """

    config_class = xLSTMLMModelConfig

    def __init__(self, config: xLSTMLMModelConfig) -> None:
        super().__init__()
        self.config = config
        self.xlstm_block_stack = xLSTMBlockStack(config)
        self.token_embedding = nn.Embedding(config.vocab_size, config.embedding_dim)
        self.emb_dropout = nn.Dropout(config.dropout) if config.add_embedding_dropout else nn.Identity()
        self.lm_head = nn.Linear(config.embedding_dim, config.vocab_size, bias=False)
        if config.tie_weights:
            self.lm_head.weight = self.token_embedding.weight
        self.reset_parameters()

    def reset_parameters(self) -> None:
        self.xlstm_block_stack.reset_parameters()
        small_init_(self.token_embedding.weight, dim=self.config.embedding_dim)
        if not self.config.tie_weights:
            small_init_(self.lm_head.weight, dim=self.config.embedding_dim)

    def _check_tokens(self, idx: torch.Tensor) -> None:
        if idx.dim() != 2 or idx.dtype not in (torch.int64, torch.int32):
            raise ValueError(
                f"expected integer token ids of shape [batch, seq_len]; got {idx.dtype} {tuple(idx.shape)}."
            )

    def forward(
        self, idx: torch.Tensor, state: StackState | None = None, return_state: bool = False
    ) -> torch.Tensor | tuple[torch.Tensor, StackState]:
        """Logits for token ids ``idx`` ``[B, S]``; with ``return_state`` also the recurrent state."""
        self._check_tokens(idx)
        x = self.emb_dropout(self.token_embedding(idx))
        if return_state:
            x, new_state = self.xlstm_block_stack(x, state, return_state=True)
            return self.lm_head(x), new_state
        return self.lm_head(self.xlstm_block_stack(x, state))

    def step(self, idx: torch.Tensor, state: StackState | None = None) -> tuple[torch.Tensor, StackState]:
        """One token per sequence: ``idx`` ``[B, 1]`` -> ``(logits [B, 1, V], new_state)``."""
        self._check_tokens(idx)
        x = self.emb_dropout(self.token_embedding(idx))
        x, new_state = self.xlstm_block_stack.step(x, state)
        return self.lm_head(x), new_state

    @torch.no_grad()
    def generate(
        self,
        prompt: torch.Tensor,
        max_new_tokens: int,
        *,
        temperature: float = 1.0,
        top_k: int | None = None,
        greedy: bool = False,
        generator: torch.Generator | None = None,
    ) -> torch.Tensor:
        """Continue ``prompt`` ``[B, S]`` by ``max_new_tokens`` tokens; returns ``[B, S + max_new_tokens]``.

        The prompt is consumed in one forward pass (chunkwise kernel) and its state carried into
        a step-by-step loop, so each new token costs one recurrent step.
        """
        if max_new_tokens < 0:
            raise ValueError(f"max_new_tokens must be >= 0, got {max_new_tokens}.")
        if not greedy and temperature <= 0:
            raise ValueError(f"temperature must be > 0 when sampling, got {temperature}.")
        logits, state = self.forward(prompt, return_state=True)
        tokens = [prompt]
        for _ in range(max_new_tokens):
            last = logits[:, -1].float()
            if greedy:
                nxt = last.argmax(-1, keepdim=True)
            else:
                last = last / temperature
                if top_k is not None:
                    kth = torch.topk(last, min(top_k, last.shape[-1])).values[:, -1:]
                    last = last.masked_fill(last < kth, float("-inf"))
                nxt = torch.multinomial(torch.softmax(last, -1), 1, generator=generator)
            tokens.append(nxt)
            logits, state = self.step(nxt, state)
        return torch.cat(tokens, dim=1)
