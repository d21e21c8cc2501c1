"""RMSNorm (HF GptOssRMSNorm): x * rsqrt(mean(x^2) + eps) * weight, statistics in fp32 on device."""
from __future__ import annotations

import torch


class RMSNorm:
    def __init__(self, ttnn, weights, weight: torch.Tensor, eps: float, name: str):
        self.ttnn, self.eps = ttnn, eps
        hidden = weight.shape[-1]
        # tt-metal keeps norm gammas ROW_MAJOR as [1, 1, H/32, 32] sticks.
        self.weight = weights.put(weight.reshape(1, 1, hidden // 32, 32), name, ttnn.bfloat16,
                                  layout=ttnn.ROW_MAJOR_LAYOUT)
        self.kernel = ttnn.WormholeComputeKernelConfig(math_fidelity=ttnn.MathFidelity.HiFi4, math_approx_mode=False,
                                                       fp32_dest_acc_en=True, packer_l1_acc=True)

    def __call__(self, x):
        return self.ttnn.rms_norm(x, epsilon=self.eps, weight=self.weight, compute_kernel_config=self.kernel)
