#!/bin/sh
# Regenerates equiforce's training data (docs/training.md): GFN2-xTB molecules, EMT metals, splits.
# Deterministic (fixed seeds, single-threaded xtb). About 20 + 16 minutes on one core.
# Usage (from anywhere): sh python/scripts/generate_data.sh
set -e
cd "$(dirname "$0")/.."
nice -n 10 /usr/bin/python3 -m equiforce.data.molgen --out ../data/mol.npz --cache ../data/raw/mol
nice -n 10 /usr/bin/python3 -m equiforce.data.metalgen --out ../data/metal.npz
/usr/bin/python3 -m equiforce.data.splits --data ../data
