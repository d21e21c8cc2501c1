"""gptoss-bench: accuracy and performance benchmarking for GPT-OSS on TT-NN."""

__version__ = "0.1.0"
