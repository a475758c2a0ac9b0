"""The virtual lab: a synthetic cohort whose ground truth is known at every stage."""
