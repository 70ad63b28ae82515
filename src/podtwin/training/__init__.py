"""Training of the shipped models, apart from the runtime.

Nothing under ``podtwin`` outside this package imports it: it needs the ``train`` extra
(torch, transformers, sentence-transformers and the base weights), which running, serving
and testing podtwin do not install. ``make train`` runs its modules.
"""
