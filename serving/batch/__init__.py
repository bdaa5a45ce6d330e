"""Batch jobs of the service: the alert batch (:mod:`serving.batch.alerts`), crash-safe and resumable,
and the same batch with partitions ranked on Dask (:mod:`serving.batch.distributed`)."""
