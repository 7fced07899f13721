"""Computation: populate, make and make_batch, the job queue, provenance, worker processes.

- ``keys``: what to compute (the key source); ``scope``: what a running make may insert;
- ``jobs``: the job queue and what is left to compute; ``companions``: the hidden tables
  (job queue, provenance) that serve a table; ``provenance``: what each row was made from;
- ``pending`` and ``readahead``: a group of makes' held rows and read-ahead queries;
- ``groups``, ``populator``: running makes; ``drive``: feeding keys to them;
- ``workers``: worker processes; ``populate``: the entry points;
- ``autopopulate``: the ``Imported`` and ``Computed`` tiers.
"""
