"""torch for the nets (``from lanl.models._torch import nn, torch``), or a MissingExtra naming the 'nets'
extra when it is not installed."""

from lanl.extras import require

torch = require("torch", "nets", "the cnn or lstm model")
nn = torch.nn
