"""The components a job's DSL can name (`registry.py` lists them).

A component is a class with `info` (a `ModuleInfo`: name, roles, parameters with FATE's
defaults, a validator run before the job is created) and `run(context)`, which does the work
of one party's task through its `TaskContext` (context.py). Adding one is adding a module and
a line in the registry.
"""
