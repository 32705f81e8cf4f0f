"""Ways to run: replicates in batches, on this process, local workers or Dask, and the directories they write.

Owns the run of a scenario (`runner`: batches, `RunResult`), the executors shared with calibration
(`executors`), the store of finished batches (`store`), claimed and atomically written output directories
(`rundir`), provenance (`provenance`) and the comparison of run directories (`compare`). It may import the
outputs, the engine and the inputs; the public API and the front ends import it.
"""
