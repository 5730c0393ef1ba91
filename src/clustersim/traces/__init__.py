"""Workload and failure traces: one reader/writer module per format, one internal job record.

Readers stream their file and yield :class:`clustersim.workload.JobRecord`-compatible rows;
``fit`` fits failure-time distributions to a failure trace; ``synthetic`` generates workloads
calibrated to published research-cluster shapes. Sample files live in ``samples/``.
"""
