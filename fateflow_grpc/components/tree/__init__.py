"""Decision-tree ensembles: FATE's SecureBoost family (hetero, hetero fast, homo)."""
