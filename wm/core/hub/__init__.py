"""Share models on the Hugging Face Hub: the on-Hub format, the model card, push and pull.

A Hub repo holds config.json, model.safetensors, context.safetensors, a README.md model card and
its sample GIF (see ``format.py``); ``wm.core.loading.load_model`` accepts Hub ids through ``download``.
"""

from __future__ import annotations

from wm.core.hub.api import create_from_pretrained, download, pull, push_to_hub

__all__ = ["create_from_pretrained", "download", "pull", "push_to_hub"]
