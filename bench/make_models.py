"""Random-weight eSEN/UMA models of realistic sizes for the benchmarks (not committed: regenerate).

Run from the repository root:  /usr/bin/python3 bench/make_models.py [preset ...]
Writes bench/models/<preset>-<dtype>/{model.onnx, model.json} through equiforce's converter, plus
bench/models/<preset>.pt (the PyTorch port's weights) so the model benchmark can time the port on
the very same network. Weights are the port's initialisation plus noise, which is all speed needs.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "python"))

import torch  # noqa: E402

from equiforce.checkpoint import normalize_state_dict  # noqa: E402
from equiforce.convert import DEFAULT_LARGE_GRAPH_CHUNKS, convert  # noqa: E402
from equiforce.fairchem_config import parse_config  # noqa: E402
from equiforce.model import UMAModel  # noqa: E402

COMMON = dict(
    lmax=2, mmax=2, cutoff=6.0, max_neighbors=300, norm_type="rms_norm_sh", act_type="gate", ff_type="spectral",
    chg_spin_emb_type="rand_emb", dataset_list=["omat", "omol", "oc20"], use_dataset_embedding=True, max_num_elements=100,
    distance_function="gaussian",
)

PRESETS = {
    # UMA-S-shaped dense backbone (the reference size).
    "uma-s": dict(sphere_channels=128, hidden_channels=128, edge_channels=128, num_distance_basis=64, num_layers=4),
    # The same shape at C = 32.
    "small": dict(sphere_channels=32, hidden_channels=32, edge_channels=32, num_distance_basis=64, num_layers=4),
    # The size planned for the shipped CPU model.
    "c64": dict(sphere_channels=64, hidden_channels=64, edge_channels=64, num_distance_basis=32, num_layers=3),
}


def make(preset: str, dtypes=("float32", "float64")) -> None:
    kwargs = {**COMMON, **PRESETS[preset]}
    torch.manual_seed(0)
    model = UMAModel(parse_config(kwargs)).double()
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.05 * torch.randn_like(p))
    out = ROOT / "bench" / "models"
    out.mkdir(parents=True, exist_ok=True)
    torch.save({"kwargs": kwargs, "state_dict": model.state_dict()}, out / f"{preset}.pt")
    sd = normalize_state_dict(model.state_dict())
    for dtype in dtypes:
        convert(sd, kwargs, str(out / f"{preset}-{dtype}"), dtype=dtype, source=f"random weights, preset {preset}", name=f"bench-{preset}-{dtype}",
                large_graph_chunks=DEFAULT_LARGE_GRAPH_CHUNKS)
        print(f"wrote bench/models/{preset}-{dtype}", flush=True)


if __name__ == "__main__":
    for name in sys.argv[1:] or list(PRESETS):
        make(name)
