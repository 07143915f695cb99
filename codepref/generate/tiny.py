"""A tiny Qwen2-style causal LM with a locally trained byte-level BPE tokenizer, for tests, CPU smoke runs and
the loop's offline fallback (`model: tiny`).

The model is random-init (2 layers, hidden size 8): its samples are noise, but every code path that a real
coder model takes (tokenizer, chat template, `generate`, TRL training, `save_pretrained` / `from_pretrained`)
runs for real. The tokenizer is trained with `tokenizers` on Python source from the standard library, so
the build needs neither network nor data files and is deterministic for a given Python version.

    python -m codepref.generate.tiny OUT_DIR [--hidden-size 8 --layers 2]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

EOS_TOKEN = "<|endoftext|>"
# Qwen2's pre-tokenization pattern (public, in transformers' tokenization_qwen2.py and the Qwen2 tokenizer.json).
QWEN2_PRETOKENIZE_REGEX = r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
CHAT_TOKENS = ("<|im_start|>", "<|im_end|>")

# ChatML, the format Qwen2 instruct models use; generation prompts end after "<|im_start|>assistant\n".
CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

# Pure-Python stdlib modules: real, varied code, always present, no data files needed.
CORPUS_MODULES = (
    "textwrap",
    "heapq",
    "bisect",
    "functools",
    "string",
    "statistics",
    "fractions",
    "collections",
    "difflib",
    "shlex",
    "fnmatch",
    "calendar",
    "json.decoder",
)


@dataclass(frozen=True)
class TinyModelSpec:
    """What the builder makes; its hash names the cache entry, so any change rebuilds."""

    vocab_size: int = 1024
    hidden_size: int = 8
    intermediate_size: int = 32
    num_hidden_layers: int = 2
    num_attention_heads: int = 2
    num_key_value_heads: int = 1
    max_position_embeddings: int = 4096
    seed: int = 0
    builder_version: int = 1

    def key(self) -> str:
        payload = json.dumps(asdict(self), sort_keys=True) + sys.version.split()[0]
        return hashlib.sha256(payload.encode()).hexdigest()[:16]


# vLLM's CPU attention kernels take head sizes of 32 and up: 64 hidden over 2 heads is the smallest fit.
VLLM_CPU_SPEC = TinyModelSpec(hidden_size=64, intermediate_size=128)


def code_corpus() -> list[str]:
    """Source text of a fixed set of standard-library modules, one string per module."""
    import importlib
    import inspect

    return [inspect.getsource(importlib.import_module(name)) for name in CORPUS_MODULES]


def train_tokenizer(vocab_size: int, corpus: list[str] | None = None):
    """A byte-level BPE tokenizer (every byte is representable, so no text is ever unknown), trained on
    `corpus` (default: the standard-library modules of `code_corpus`)."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    # The same normalizer and pre-tokenizer as Qwen2's tokenizer: `AutoTokenizer` maps model_type qwen2 to
    # Qwen2Tokenizer, which re-applies them on load, so training with anything else would split text differently.
    tokenizer = Tokenizer(models.BPE())
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN2_PRETOKENIZE_REGEX), behavior="isolated", invert=False),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=[EOS_TOKEN, *CHAT_TOKENS],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(code_corpus() if corpus is None else corpus, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer,
        eos_token=EOS_TOKEN,
        pad_token=EOS_TOKEN,  # Qwen2 pads with its end-of-text token too
        padding_side="left",  # decoder-only generation pads on the left
        chat_template=CHAT_TEMPLATE,
        model_max_length=4096,
    )


# The size fields of Qwen2Config that every model built here takes from its own record (TinyModelSpec,
# codepref.coder's CoderRecipe).
QWEN2_SIZE_FIELDS = (
    "hidden_size",
    "intermediate_size",
    "num_hidden_layers",
    "num_attention_heads",
    "num_key_value_heads",
)


def qwen2_config(tokenizer: Any, shape: Any, max_position_embeddings: int) -> Any:
    """A Qwen2 config for a model trained here on `tokenizer` (from `train_tokenizer`): its vocabulary, tied
    embeddings, and its end-of-text token as eos and pad; the sizes are `shape`'s QWEN2_SIZE_FIELDS."""
    from transformers import Qwen2Config

    eos_id = tokenizer.convert_tokens_to_ids(EOS_TOKEN)
    return Qwen2Config(
        vocab_size=len(tokenizer),
        tie_word_embeddings=True,
        bos_token_id=None,  # like Qwen2's tokenizer, ours has no bos token and prepends nothing
        eos_token_id=eos_id,
        pad_token_id=eos_id,
        max_position_embeddings=max_position_embeddings,
        **{name: getattr(shape, name) for name in QWEN2_SIZE_FIELDS},
    )


def build_tiny_model(out_dir: str | Path, spec: TinyModelSpec | None = None) -> Path:
    """Build the tokenizer and a random-init Qwen2ForCausalLM and `save_pretrained` both into `out_dir`."""
    import torch
    from transformers import GenerationConfig, Qwen2ForCausalLM

    spec = spec or TinyModelSpec()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = train_tokenizer(spec.vocab_size)
    eos_id = tokenizer.convert_tokens_to_ids(EOS_TOKEN)
    config = qwen2_config(tokenizer, spec, spec.max_position_embeddings)
    torch.manual_seed(spec.seed)
    model = Qwen2ForCausalLM(config)
    model.generation_config = GenerationConfig(eos_token_id=eos_id, pad_token_id=eos_id)
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    (out / "tiny_model_spec.json").write_text(json.dumps({**asdict(spec), "key": spec.key()}, indent=2))
    return out


def cached_tiny_model(cache_root: str | Path, spec: TinyModelSpec | None = None) -> Path:
    """Return a built model under `cache_root/<spec key>`, building it once."""
    spec = spec or TinyModelSpec()
    final = Path(cache_root) / f"tiny-qwen2-{spec.key()}"
    return build_once(final, "tiny_model_spec.json", lambda staging: build_tiny_model(staging, spec))


def build_once(final: Path, marker: str, build: Callable[[Path], object]) -> Path:
    """`final`, built by `build(staging_dir)` unless `final/marker` exists; atomic (a rename), so a killed
    build leaves nothing behind and concurrent builders keep the first finished copy."""
    import os
    import shutil
    import tempfile

    if (final / marker).exists():
        return final
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".building-", dir=final.parent))
    try:
        build(staging)
        try:
            os.rename(staging, final)
        except OSError:  # another process finished first: keep theirs
            shutil.rmtree(staging, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final


def default_cache_dir() -> Path:
    """Where the loop keeps its tiny fallback model: $XDG_CACHE_HOME/codepref (default ~/.cache/codepref)."""
    import os

    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "codepref"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("out_dir")
    parser.add_argument("--hidden-size", type=int, default=TinyModelSpec.hidden_size)
    parser.add_argument("--intermediate-size", type=int, default=TinyModelSpec.intermediate_size)
    parser.add_argument("--layers", type=int, default=TinyModelSpec.num_hidden_layers)
    parser.add_argument("--heads", type=int, default=TinyModelSpec.num_attention_heads)
    parser.add_argument("--kv-heads", type=int, default=TinyModelSpec.num_key_value_heads)
    parser.add_argument("--vocab-size", type=int, default=TinyModelSpec.vocab_size)
    args = parser.parse_args()
    spec = TinyModelSpec(
        vocab_size=args.vocab_size,
        hidden_size=args.hidden_size,
        intermediate_size=args.intermediate_size,
        num_hidden_layers=args.layers,
        num_attention_heads=args.heads,
        num_key_value_heads=args.kv_heads,
    )
    print(build_tiny_model(args.out_dir, spec))


if __name__ == "__main__":
    main()
