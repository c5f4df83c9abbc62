"""Labeled data and how well the grouping recovers it: the generator (`generate`), the
scorer (`score`), the comparison of groupings (`groupings`) and the identity review report
of a run (`review`)."""
