"""Feature engineering: binning, selection, scaling, encoding, imputation, weights."""
