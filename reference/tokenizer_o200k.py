"""The real GPT-OSS tokenizer (o200k_harmony), built offline.

PyPI's ``bpe-openai`` ships ``o200k_base.tiktoken.gz``; gunzipped it is byte-identical to
OpenAI's published file (checked by sha256 below, the digest tiktoken itself pins). From it
we build o200k_harmony -- o200k_base plus GPT-OSS's special tokens up to id 201087 -- as a
Hugging Face fast tokenizer with transformers' TikTokenConverter, and point tiktoken and
openai-harmony at the same file so all three can be compared offline.
"""

from __future__ import annotations

import functools
import gzip
import hashlib
import os
from importlib import resources
from pathlib import Path

from ground.errors import UserError
from ground.settings import settings

O200K_SHA256 = "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
O200K_URL = "https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken"
BASE_VOCAB = 199998
VOCAB_SIZE = 201088
# o200k_base's pre-tokenizer regex (the same in tiktoken and openai-harmony).
O200K_PATTERN = "|".join(
    [
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?""",
        r"""\p{N}{1,3}""",
        r""" ?[^\s\p{L}\p{N}]+[\r\n/]*""",
        r"""\s*[\r\n]+""",
        r"""\s+(?!\S)""",
        r"""\s+""",
    ]
)
NAMED_SPECIALS = {
    199998: "<|startoftext|>",
    199999: "<|endoftext|>",
    200002: "<|return|>",
    200003: "<|constrain|>",
    200005: "<|channel|>",
    200006: "<|start|>",
    200007: "<|end|>",
    200008: "<|message|>",
    200012: "<|call|>",
    200018: "<|endofprompt|>",  # kept from o200k_base; harmony's reserved range also covers this id
}


def special_tokens() -> dict[int, str]:
    """id -> token for every id above the BPE vocabulary, 199998..201087."""
    return {i: NAMED_SPECIALS.get(i, f"<|reserved_{i}|>") for i in range(BASE_VOCAB, VOCAB_SIZE)}


def cache_root() -> Path:
    return settings().cache


def o200k_file() -> Path:
    """The gunzipped o200k_base.tiktoken, verified, in a directory of its own under the cache."""
    target = cache_root() / "tiktoken" / "o200k_base.tiktoken"
    if target.exists() and hashlib.sha256(target.read_bytes()).hexdigest() == O200K_SHA256:
        return target
    try:
        packed = resources.files("bpe_openai").joinpath("data/o200k_base.tiktoken.gz").read_bytes()
    except (ModuleNotFoundError, FileNotFoundError):
        raise UserError("the o200k_base vocabulary is missing: install the 'bpe-openai' package") from None
    data = gzip.decompress(packed)
    digest = hashlib.sha256(data).hexdigest()
    if digest != O200K_SHA256:
        raise UserError(f"bpe-openai's o200k_base.tiktoken has sha256 {digest}; expected the official {O200K_SHA256}")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(data)
    tmp.replace(target)
    return target


def offline_tiktoken_env() -> dict[str, str]:
    """Environment that makes tiktoken and openai-harmony read the local file, never the network."""
    path = o200k_file()
    tiktoken_cache = cache_root() / "tiktoken-cache"
    tiktoken_cache.mkdir(parents=True, exist_ok=True)
    # tiktoken looks files up by sha1 of their URL in TIKTOKEN_CACHE_DIR.
    keyed = tiktoken_cache / hashlib.sha1(O200K_URL.encode()).hexdigest()
    if not keyed.exists():
        os.link(path, keyed) if path.stat().st_dev == tiktoken_cache.stat().st_dev else keyed.write_bytes(path.read_bytes())
    return {"TIKTOKEN_CACHE_DIR": str(tiktoken_cache), "TIKTOKEN_ENCODINGS_BASE": str(path.parent)}


def use_offline_tiktoken() -> None:
    os.environ.update(offline_tiktoken_env())


@functools.cache
def harmony_encoding():
    """openai-harmony's GPT-OSS encoding, read from the local o200k file once per process (a load takes ~0.3 s)."""
    use_offline_tiktoken()
    from openai_harmony import HarmonyEncodingName, load_harmony_encoding

    return load_harmony_encoding(HarmonyEncodingName.HARMONY_GPT_OSS)


def build_harmony_tokenizer():
    """o200k_harmony as a transformers fast tokenizer (the built tokenizer.json is cached)."""
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    built = cache_root() / "tokenizers" / f"o200k_harmony-{O200K_SHA256[:12]}.json"
    if not built.exists():
        _convert(built)
    return PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_file(str(built)),
        bos_token="<|startoftext|>",
        eos_token="<|return|>",
        pad_token="<|endoftext|>",
        model_max_length=131072,
    )


def _convert(target: Path) -> None:
    from transformers.convert_slow_tokenizer import TikTokenConverter

    use_offline_tiktoken()
    specials = [token for _, token in sorted(special_tokens().items())]
    tokenizer = TikTokenConverter(vocab_file=str(o200k_file()), pattern=O200K_PATTERN, extra_special_tokens=specials).converted()
    if tokenizer.get_vocab_size() != VOCAB_SIZE or tokenizer.token_to_id("<|return|>") != 200002:
        raise RuntimeError(f"built o200k_harmony has {tokenizer.get_vocab_size()} tokens; expected {VOCAB_SIZE}")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    tokenizer.save(str(tmp))
    tmp.replace(target)


def render_harmony_prompt(user_text: str) -> list[int]:
    """Token ids of a GPT-OSS chat prompt (system + user, ready for the assistant), rendered by
    openai-harmony itself rather than a hand-written template."""
    from openai_harmony import Conversation, Message, Role, SystemContent

    encoding = harmony_encoding()
    conversation = Conversation.from_messages(
        [Message.from_role_and_content(Role.SYSTEM, SystemContent.new()), Message.from_role_and_content(Role.USER, user_text)]
    )
    return list(encoding.render_conversation_for_completion(conversation, Role.ASSISTANT))
