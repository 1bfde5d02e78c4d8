"""Choosing rows: FATE's data splits and FederatedSample, consistent across parties."""
