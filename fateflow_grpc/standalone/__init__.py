"""`fateflow standalone`: several local parties served at one address, as FATE's standalone.

- `launcher.py` starts each local party as a node process of its own and serves them all;
- `front.py` is that one gRPC address: each public RPC sent on to the right party's core;
- `rules.py` says, for each public RPC, which core that is and how answers are merged.
"""
