"""equiforce Python toolchain: a PyTorch port of FAIR Chemistry's eSEN/UMA models and their ONNX export.

Subpackages and modules:

* ``equiforce.so3``            Wigner matrices in fairchem's real spherical-harmonic basis.
* ``equiforce.model``          The PyTorch port of the eSEN/UMA backbone (dense and MoLE) and energy head.
* ``equiforce.fairchem_config`` Typed hyperparameters parsed from fairchem model configs.

Nothing heavy is imported here so that ``import equiforce.so3`` stays cheap.
"""

__all__ = ["so3", "model", "fairchem_config"]
