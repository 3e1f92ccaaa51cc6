"""A network impairment lab for end-to-end tests and benchmarks (Linux namespaces, root only).

``async with Lab.create() as lab:`` gives a server namespace reachable from the test process
and two participant namespaces joined only through a userspace impairment element whose
per-direction loss, delay/jitter, rate limit and outage can be changed while a call runs.
See ``lab.py`` for the topology and ``README.md`` for how to use it.
"""

from netlab.impairment import Change, Direction, Impairment, LinkStats
from netlab.lab import Lab, Step
from netlab.topology import A_MEDIA_IP, B_MEDIA_IP, LabUnavailable, Node, Participant, remove_stale_labs

__all__ = [
    "A_MEDIA_IP",
    "B_MEDIA_IP",
    "Change",
    "Direction",
    "Impairment",
    "Lab",
    "LabUnavailable",
    "LinkStats",
    "Node",
    "Participant",
    "Step",
    "remove_stale_labs",
]
