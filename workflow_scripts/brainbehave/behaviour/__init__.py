"""Stage 3 - behaviour from pose: features, rule-based labels, hierarchical MAE, segments.

Modules: :mod:`.features` (feature registry, egocentric pose), :mod:`.rules` (declarative
YAML rule sets), :mod:`.labels` (the labels/intervals contract), :mod:`.mae_model` and
:mod:`.mae` (hierarchical masked autoencoder: network, solver, estimator, checkpoints,
embeddings), :mod:`.segment` (per-level clustering), :mod:`.evaluation` (scores against the
virtual lab), :mod:`.ethogram` (plots), :mod:`.session` (one call per workflow step) and
:mod:`.plan` (parse-time targets and checks for ``rules/behaviour.smk``).
"""
