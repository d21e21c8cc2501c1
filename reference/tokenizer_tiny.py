"""Small byte-level BPE tokenizers for the tiny GPT-OSS (the real models use o200k_harmony)."""

from __future__ import annotations

from collections.abc import Iterable

SPECIAL_TOKENS = ("<|endoftext|>", "<|pad|>")  # ids 0 and 1, as the tiny preset's config says

# Enough text to give a random-init tiny model a working vocabulary; the trained tiny model
# uses a tokenizer trained on its corpus instead.
_BUILTIN_TEXT = [
    "How many r's in 'strawberry'? 3",
    "What is 12 + 7? 19",
    "Sort the list: 5, 2, 9 -> 2, 5, 9",
    "Copy: apple banana cherry -> apple banana cherry",
    "Q: What colour is the sky? A: blue",
    "The quick brown fox jumps over the lazy dog.",
    "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 .,;:!?'\"()[]{}+-*/=<>",
]


def train_bpe_tokenizer(texts: Iterable[str] | None = None, vocab_size: int = 1024):
    """Trains a byte-level BPE (one digit per token, with its leading space) and wraps it for transformers."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    # Single-digit tokens make arithmetic learnable. The space stays on the digit (" 4", not " ", "4")
    # so a list "4 3 6" is one token per element, as letters are: copying is then one-token induction.
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Split(Regex(r" ?\d"), behavior="isolated"), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train_from_iterator(list(texts) if texts is not None else _BUILTIN_TEXT, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, eos_token=SPECIAL_TOKENS[0], pad_token=SPECIAL_TOKENS[1], padding_side="left"
    )
