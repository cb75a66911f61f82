"""``xLSTMLMModel``: token embedding, block stack and linear head, with stateful generation and
``save_pretrained``/``from_pretrained``."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import torch
from torch import nn

from .block_stack import StackState, xLSTMBlockStack
from .components import small_init_
from .configs import xLSTMLMModelConfig
from .generation import generate as _generate
from .pretrained import PretrainedMixin


class xLSTMLMModel(PretrainedMixin, nn.Module):
    """xLSTM language model over token ids ``[B, S]`` returning logits ``[B, S, vocab_size]``.

    The embedding and the head are small-init'ed at construction (the reference leaves them at
    PyTorch defaults until ``reset_parameters()`` is called).

    It implements the generation protocol of :mod:`xlstm_ts.nn.generation` (:meth:`prefill` and
    :meth:`step`), so :meth:`generate` offers greedy decoding, sampling with temperature, top-k and
    top-p, left-padded batches and end-of-sequence tokens; :meth:`save_pretrained` and
    :meth:`from_pretrained` come from :class:`xlstm_ts.nn.pretrained.PretrainedMixin`.

    Examples
    --------
    >>> import torch
    >>> from xlstm_ts import xLSTMLMModel, xLSTMLMModelConfig, mLSTMBlockConfig
    >>> model = xLSTMLMModel(xLSTMLMModelConfig(mlstm_block=mLSTMBlockConfig(), num_blocks=2,
    ...                                         embedding_dim=32, vocab_size=50)).eval()
    >>> prompt = torch.randint(0, 50, (2, 5))
    >>> model(prompt).shape
    torch.Size([2, 5, 50])
    >>> out = model.generate(prompt, max_new_tokens=4)  # greedy
    >>> out.shape
    torch.Size([2, 9])
    >>> out, state = model.generate(prompt, max_new_tokens=4, do_sample=True, top_p=0.9,
    ...                             generator=torch.Generator().manual_seed(0), return_state=True)
    >>> sorted(state)
    ['block_0', 'block_1']
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

    def prefill(
        self, input_ids: torch.Tensor, state: StackState | None = None
    ) -> tuple[torch.Tensor, StackState]:
        """Consume ``input_ids`` ``[B, S]`` with the sequence (chunkwise) path.

        Returns the logits of the last position ``[B, V]`` and the state after the last token: the
        ``prefill`` half of the generation protocol (:mod:`xlstm_ts.nn.generation`).
        """
        self._check_tokens(input_ids)
        x = self.emb_dropout(self.token_embedding(input_ids))
        x, new_state = self.xlstm_block_stack(x, state, return_state=True)
        return self.lm_head(x[:, -1]), new_state

    def generate(
        self,
        input_ids: torch.Tensor,
        max_new_tokens: int,
        *,
        do_sample: bool | None = None,
        temperature: float = 1.0,
        top_k: int | None = None,
        top_p: float | None = None,
        eos_token_id: int | Sequence[int] | None = None,
        pad_token_id: int | None = None,
        attention_mask: torch.Tensor | None = None,
        generator: torch.Generator | None = None,
        state: StackState | None = None,
        return_state: bool = False,
        cuda_graph: bool | None = None,
        greedy: bool | None = None,
    ) -> torch.Tensor | tuple[torch.Tensor, StackState]:
        """Continue ``input_ids`` ``[B, S]`` by up to ``max_new_tokens`` tokens.

        The prompt goes through the chunkwise path in one call, then each new token costs one recurrent
        step. Every argument is that of :func:`xlstm_ts.nn.generation.generate` (padding, end of
        sequence, state continuation, ``cuda_graph`` decoding on a GPU), which this method calls.

        ``greedy`` is the old spelling and is deprecated: ``greedy=True`` is ``do_sample=False`` and
        ``greedy=False`` is ``do_sample=True``. Without either, decoding is greedy (``do_sample=False``,
        as in Hugging Face ``transformers``); the method used to sample by default.
        """
        if greedy is not None:
            warnings.warn(
                "generate(greedy=...) is deprecated; use do_sample=False (greedy) or do_sample=True.",
                DeprecationWarning,
                stacklevel=2,
            )
            if do_sample is not None and do_sample == greedy:
                raise ValueError(f"greedy={greedy} contradicts do_sample={do_sample}; pass only do_sample.")
            do_sample = not greedy
        return _generate(
            self,
            input_ids,
            max_new_tokens=max_new_tokens,
            do_sample=bool(do_sample),
            temperature=temperature,
            top_k=top_k,
            top_p=top_p,
            eos_token_id=eos_token_id,
            pad_token_id=pad_token_id,
            attention_mask=attention_mask,
            generator=generator,
            state=state,
            return_state=return_state,
            cuda_graph=cuda_graph,
        )
