"""ONNX export of eSEN/UMA with the backward pass (dE/d edge_vec) inside the graph."""
