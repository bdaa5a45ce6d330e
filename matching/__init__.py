"""The core of the engine: pure computation on job offers, jobseeker profiles and trainings (ROME 4.0).

Owns the ROME referential (:mod:`matching.referential`), geography (:mod:`matching.geo`), the domain
model (:mod:`matching.domain`), pure ingest parsers (:mod:`matching.ingest`: France Travail offers,
jobseeker declarations), frame <-> domain converters (:mod:`matching.frames`), the text encoders
(:mod:`matching.encoders`) and the ROME-aware views they read (:mod:`matching.views`), the ROME
classifier (:mod:`matching.rome_classifier`), the vector index (:mod:`matching.index`) and candidate
generation (:mod:`matching.candidates`). It is the lowest layer: it imports no other package of the
project, touches no database, web, registry, CLI or cluster framework, reads no environment variable
and never asks the clock (moments are arguments). Files are read and written only where a caller
names them (referential export, model folders, index folders written atomically).
"""

__version__ = "0.1.0"
