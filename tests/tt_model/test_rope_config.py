import torch

from ground.checkpoint import Checkpoint
from tt_model.rope import RotaryTables


def test_config_matches_checkpoint(tiny_model_dir):
    cfg = Checkpoint.open(tiny_model_dir).config
    assert (cfg.hidden_size, cfg.num_attention_heads, cfg.num_key_value_heads, cfg.head_dim) == (256, 16, 8, 32)
    assert cfg.layer_types[:2] == ("sliding_attention", "full_attention")
    assert cfg.is_sliding(0) and not cfg.is_sliding(1)


def test_yarn_tables_match_hf(tiny_model_dir):
    from transformers.models.gpt_oss.modeling_gpt_oss import GptOssRotaryEmbedding, _apply_rotary_emb

    cfg = Checkpoint.open(tiny_model_dir).config
    tables = RotaryTables(cfg)
    hf = GptOssRotaryEmbedding(cfg.hf_config())
    pos = torch.arange(0, 300)[None]
    x = torch.randn(1, 300, 32)
    hf_cos, hf_sin = hf(x, pos)
    cos, sin = tables.cos_sin(pos)
    assert torch.allclose(cos[..., :16], hf_cos, atol=1e-6) and torch.allclose(sin[..., :16], hf_sin, atol=1e-6)
    q = torch.randn(1, 4, 300, 32)
    expected = _apply_rotary_emb(q, hf_cos[:, None], hf_sin[:, None])
    actual = q * cos[:, None] + (q @ tables.rotate_half_matrix()) * sin[:, None]
    assert torch.allclose(actual, expected, atol=1e-5)
