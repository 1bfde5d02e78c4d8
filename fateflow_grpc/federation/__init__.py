"""The federation API of component tasks: `remote` and `get` of objects between parties.

`Federation` (client.py) sends objects to other parties' tasks and receives theirs, through
this node's proxy; `codec.py` is the typed wire format, which can carry nothing that runs
code; `ProxyMailboxes` (mailboxes.py) lets the core clean a job's mailboxes when it ends.
"""
