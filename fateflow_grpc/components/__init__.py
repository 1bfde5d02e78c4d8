"""The component library: every module a job's DSL can name, laid out as scikit-learn lays out
its estimators.

- `sdk/`: what every component is written against: its `TaskContext` (parameters, inputs,
  outputs, metrics, the federation), `ParamReader` (FATE's parameter checks), `Transport`
  and `Participants` (who plays which role), learner helpers, and `testing` (an in-memory
  federation to run a protocol's roles side by side in one test).
- `crypto/`: the cryptography the protocols share: Paillier, secure aggregation, secret
  sharing, verifiable secret sharing, commutative encryption, a Bloom filter and oblivious
  transfer.
- one package per family: `io/` (Reader, DataTransform, Union), `intersect/`, `linear/`
  (HeteroLR, HomoLR, LocalBaseline, HeteroSSHELR, HeteroSSHELinR; `linear/sshe.py` is what
  the SSHE models share, `linear/optimizer.py` FATE's optimizers), `evaluation/`, `feature/`
  (binning, selection, scaling, encoding, imputation, weights; `feature/binning.py` is what
  the binning modules share), `sampling/` (data splits, FederatedSample), `statistics/`
  (DataStatistics, PSI, Scorecard, HeteroPearson, FeldmanVerifiableSum), `cluster/`
  (HeteroKmeans), `retrieval/` (SecureInformationRetrieval).
  Each module is one component, its protocol's roles side by side, and ends
  with the class the registry lists: `info` (a `ModuleInfo`: name, roles, FATE's parameter
  defaults, a validator run before the job is created) and `run(context)`, one party's task.

A new model is one module in the family it belongs to, plus one line in `registry.py`.
"""
