import platform

import torch

from wm.core.training.memory import keep_freed_memory


def test_keep_freed_memory_tunes_glibc_and_allocations_still_work():
    tuned = keep_freed_memory()
    assert tuned == (platform.system() == "Linux" and platform.libc_ver()[0] == "glibc")
    big = torch.ones(40 * 2**20 // 4)  # over glibc's largest mmap threshold
    assert float(big.sum()) == big.numel()
    del big
    assert float(torch.ones(10).sum()) == 10
