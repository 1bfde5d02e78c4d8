"""Cryptography shared by the protocols: Paillier (`paillier`) and its exponentiation on every
core (`exponentiation`), pairwise-mask secure aggregation (`secure_aggregation`), secret sharing
(`secret_sharing`, `verifiable_sharing`), commutative encryption for doubly encrypted ids
(`commutative`: Intersection's dh and ecdh, SecureInformationRetrieval), a Bloom filter
(`bloom_filter`), oblivious transfer (`oblivious_transfer`). Real primitives only: gmpy2 for
big-integer arithmetic, `cryptography` for keys, hashes and ciphers."""
