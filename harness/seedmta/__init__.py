"""``seedmta``: a small model of the MTA in Microsoft's Q193760, for proving suites can fail.

``--mode sync`` is Exchange 4.0/5.0: one delivery loop for every remote site, taking messages
in order and waiting out each connect or greeting timeout, so one dead link stalls all sites.
``--mode async`` is the fix (Exchange 2000's link queues): one queue and worker per next hop.
Both keep an on-disk queue, retry deferred mail with a short backoff, and bounce on 5xx.
"""
