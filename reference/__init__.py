"""Hugging Face CPU reference for GPT-OSS: checkpoints, tokenizers, captures."""
