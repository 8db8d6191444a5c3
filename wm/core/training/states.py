"""A new model's state-vector standardisation, from the states of the run's training episodes."""

from __future__ import annotations

import numpy as np
import torch

from wm.core.models.base import WorldModelBase
from wm.core.training.data import TrainingData


def fit_state_norm(model: WorldModelBase, data: TrainingData) -> None:
    """Set ``model``'s ``state_norm`` (see ``wm.core.models.states``) from every state of the training
    episodes, never the held-out ones; a model without a state vector is left as it is."""
    if not model.spec.state_size:
        return
    from wm.core.data import open_dataset

    dataset = open_dataset(data.path, data.camera)
    states, ends = dataset.all_steps("states"), np.cumsum(dataset.lengths)
    rows = np.concatenate([states[ends[e] - data.lengths[e] : ends[e]] for e in data.train_episodes])
    model.get_module("state_norm").fit(torch.from_numpy(rows))
