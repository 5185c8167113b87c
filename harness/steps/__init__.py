"""Timeline steps, one module per kind (see :mod:`harness.steps.base`).

=============  =====================================================
``send``       submit messages over one SMTP session (:class:`Send`)
``fault``      apply a fault to one link (:class:`Cut`)
``heal``       undo the fault on one link (:class:`Heal`)
``misbehave``  a site answers badly at one SMTP stage (:class:`Misbehave`)
``tame``       the site answers normally again (:class:`Tame`)
``trickle``    a slow sender: each message once the one before is in (:class:`Trickle`)
``load``       sustained mail at a rate, beside the rest of the timeline (:class:`Load`)
=============  =====================================================
"""

from __future__ import annotations

from harness.steps.base import FILE_MODELS, FileModel, Step, TimelineState, register
from harness.steps.cut import Cut
from harness.steps.heal import Heal
from harness.steps.load import Load
from harness.steps.misbehave import Misbehave
from harness.steps.send import MAX_SESSIONS, Send
from harness.steps.tame import Tame
from harness.steps.trickle import Trickle

__all__ = [
    "FILE_MODELS",
    "MAX_SESSIONS",
    "Cut",
    "FileModel",
    "Heal",
    "Load",
    "Misbehave",
    "Send",
    "Step",
    "Tame",
    "TimelineState",
    "Trickle",
    "register",
]
