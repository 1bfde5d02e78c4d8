"""Clustering: HeteroKmeans."""
