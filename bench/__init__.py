"""The benchmarks behind `scripts/bench`, one module per mode.

  processes.py  starting, pinning, timing and stopping servers; CPU and memory from /proc
  wire.py       the few DNS packets the benchmarks build and read themselves
  cluster.py    the synthetic cluster: manifests for svcdns, a zone file for Knot and NSD, dnsperf's queries
  servers.py    how svcdns, Knot, NSD and the floor are started, and svcdns's /metrics
  load.py       dnsperf runs and their figures
  compare.py    --mode compare: interleaved rounds of floor, svcdns, Knot and NSD
  scale.py      --mode scale and --mode memory
  change.py     --mode change
  replicas.py   --mode replicas
  probe.py      --mode probe
  transfer.py   --mode transfer
"""
