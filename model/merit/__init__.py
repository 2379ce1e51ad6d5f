"""Sparse MERIT: frame-wise mixture of experts over SSL speech features for joint speech enhancement and emotion recognition."""
