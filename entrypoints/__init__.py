"""Where processes start: the ``matching`` command line, the one composition root and the one Settings.

Owns the CLI split by command group (:mod:`entrypoints.cli`), the composition root that turns settings
into concrete parts (:mod:`entrypoints.bootstrap`), the only :class:`~entrypoints.settings.Settings`
(every environment read goes through it) and the loader of simulated worlds into a database
(:mod:`entrypoints.world_loader`). The top layer: nothing imports it.
"""
