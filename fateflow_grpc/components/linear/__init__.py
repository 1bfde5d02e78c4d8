"""Linear models: HeteroLR (features split across parties), HomoLR (rows split) and
LocalBaseline (scikit-learn on one party's own data, to compare with)."""
