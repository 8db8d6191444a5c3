"""wm.core: the importable library behind the `wm` command.

Submodules are imported on demand (``wm.core.data``, ``wm.core.models``, ...) so that
importing ``wm`` stays cheap and never pulls in torch by itself.
"""
