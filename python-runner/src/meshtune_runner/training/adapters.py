"""The LoRA adapter of a completed trial: saved by rank 0, loadable on the base model.

The folder holds PEFT's files (adapter_config.json, adapter_model.safetensors) and the
tokenizer as trained. When the runner added tokens (LLaMA-2 has no pad token), the base
model's embeddings were resized and the new rows set to the mean of the others, which is
deterministic from the base weights; `load_adapter` repeats that before loading the adapter,
so the embedding matrices need not be stored (save_embedding_layers=False).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["adapter_bytes_estimate", "load_adapter", "save_adapter"]

#: Configuration files and headers around the weights (adapter_config.json, the tokenizer's
#: small files, safetensors headers): far less than this.
_FILES_ALLOWANCE = 1 << 20


def adapter_bytes_estimate(model: Any, tokenizer: Any) -> int:
    """What `save_adapter` will write, from the adapter's tensors (exact: safetensors stores
    them raw) and the tokenizer's serialised vocabulary, plus an allowance for the small files.
    Known before anything is written, so that a save can be refused under a disk floor."""
    from peft import get_peft_model_state_dict

    state = get_peft_model_state_dict(model, save_embedding_layers=False)
    weights = sum(int(t.numel()) * int(t.element_size()) for t in state.values())
    vocabulary = 0
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        vocabulary = len(backend.to_str().encode("utf-8"))  # tokenizer.json
    return weights + vocabulary + _FILES_ALLOWANCE


def save_adapter(model: Any, tokenizer: Any, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(directory), save_embedding_layers=False)
    tokenizer.save_pretrained(str(directory))


def load_adapter(directory: Path, base_model: str | None = None, dtype: Any = None) -> Any:
    """The trained model: base model (the adapter's `base_model_name_or_path` unless given)
    + the tokenizer's added tokens + the adapter, through PeftModel.from_pretrained."""
    from peft import PeftConfig, PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from .finetune import _add_missing_special_tokens

    peft_config = PeftConfig.from_pretrained(str(directory))
    base = base_model or peft_config.base_model_name_or_path
    model = AutoModelForCausalLM.from_pretrained(base, dtype=dtype)
    base_tokenizer = AutoTokenizer.from_pretrained(base)
    _add_missing_special_tokens(base_tokenizer, model)
    trained_tokenizer = AutoTokenizer.from_pretrained(str(directory))
    if len(base_tokenizer) != len(trained_tokenizer):
        raise ValueError(
            f"{directory}: tokenizer has {len(trained_tokenizer)} tokens, the base model with "
            f"the runner's added tokens {len(base_tokenizer)}"
        )
    return PeftModel.from_pretrained(model, str(directory))
