"""Cryptography shared by the protocols: Paillier (`paillier`), pairwise-mask secure aggregation
(`secure_aggregation`). Real primitives only: gmpy2 for big-integer arithmetic, `cryptography`
for keys, hashes and ciphers."""
