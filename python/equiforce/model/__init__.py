"""PyTorch port of FAIR Chemistry's eSEN/UMA backbone (dense and MoLE) with the conserving energy head.

Modules (each docstring states the fairchem piece it mirrors and its tensor layouts):

* ``layout``      l-major node layout, m-major truncated edge-frame layout, Wigner row selection
* ``radial``      Gaussian smearing, polynomial envelope, radial MLP
* ``embedding``   charge/spin/dataset embeddings, edge-degree embedding
* ``norm``        rms_norm_sh (and layer_norm_sh, layer_norm)
* ``activation``  gate activation (m-major and l-major)
* ``so2_layers``  SO(2) convolutions in the edge frame
* ``so3_layers``  SO3_Linear and the spectral atom-wise feed-forward
* ``mole``        mixture of linear experts, routing coefficients
* ``block``       Edgewise message passing and the interaction block
* ``backbone``    the full backbone
* ``model``       energy head, ``evaluate`` (forces, stress, dE/d edge_vec), ``merge_mole``
* ``loader``      ``from_state_dict`` for fairchem state dicts
* ``jd``          fairchem's J matrices for any degree
"""

from .backbone import UMABackbone
from .loader import from_state_dict, load_fixture_model
from .model import EnergyHead, UMAModel, edge_vectors, evaluate, merge_mole

__all__ = ["UMABackbone", "UMAModel", "EnergyHead", "from_state_dict", "load_fixture_model", "evaluate",
           "edge_vectors", "merge_mole"]
