"""Linear models: HeteroLR (features split across parties) and HomoLR (rows split)."""
