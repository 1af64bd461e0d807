"""Training data for equiforce's own model: generation (GFN2-xTB molecules, EMT metals), storage,
splits, neighbour graphs and batching. See docs/training.md."""
