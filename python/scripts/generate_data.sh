#!/bin/sh
# Regenerates equiforce's training data (docs/training.md section 1) as committed: GFN2-xTB molecules
# (the 412 hand-written species, then the enumerated ones: 565 of round 1, 710 of round 2, 680 of round 3,
# 653 of round 4), EMT metals, and the splits in the order they were made (by group with every charge/spin
# state in training, then extended to each round's new molecules with every earlier group kept in place).
# Deterministic (fixed seeds, single-threaded xtb). About 20 + 16 + 30 + 48 + 55 + 55 minutes on one core.
# Usage (from anywhere): sh python/scripts/generate_data.sh
set -e
cd "$(dirname "$0")/.."
nice -n 10 /usr/bin/python3 -m equiforce.data.molgen --limit 412 --out ../data/mol.npz --cache ../data/raw/mol
nice -n 10 /usr/bin/python3 -m equiforce.data.metalgen --out ../data/metal.npz
/usr/bin/python3 -m equiforce.data.splits --data ../data --states-in-train
/usr/bin/python3 -m equiforce.data.mol_enumerate
nice -n 10 /usr/bin/python3 -m equiforce.data.molgen --first-index 412 --base ../data/mol.npz \
  --out ../data/mol_extended.npz --cache ../data/raw/mol
mv ../data/mol_extended.npz ../data/mol.npz
/usr/bin/python3 -m equiforce.data.splits --data ../data --extend --seed 1
/usr/bin/python3 -m equiforce.data.mol_enumerate --round 2
nice -n 10 /usr/bin/python3 -m equiforce.data.molgen --first-index 977 --base ../data/mol.npz \
  --out ../data/mol_extended.npz --cache ../data/raw/mol
mv ../data/mol_extended.npz ../data/mol.npz
/usr/bin/python3 -m equiforce.data.splits --data ../data --extend --seed 2
/usr/bin/python3 -m equiforce.data.mol_enumerate --round 3
nice -n 10 /usr/bin/python3 -m equiforce.data.molgen --first-index 1687 --base ../data/mol.npz \
  --out ../data/mol_extended.npz --cache ../data/raw/mol
mv ../data/mol_extended.npz ../data/mol.npz
/usr/bin/python3 -m equiforce.data.splits --data ../data --extend --seed 3
/usr/bin/python3 -m equiforce.data.mol_enumerate --round 4
nice -n 10 /usr/bin/python3 -m equiforce.data.molgen --first-index 2367 --base ../data/mol.npz \
  --out ../data/mol_extended.npz --cache ../data/raw/mol
mv ../data/mol_extended.npz ../data/mol.npz
/usr/bin/python3 -m equiforce.data.splits --data ../data --extend --seed 4
