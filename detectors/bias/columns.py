"""Names of the ``bias`` columns, shared by the detector, its pass and the report."""

REPRESENTATION = "bias.representation"
TERMS = "bias.terms"
PRONOUNS = "bias.pronouns"
IDENTITY_RISKS = "bias.identity_risks"
SKEW = "bias.source_skew"
DISCRIMINATION = "bias.discrimination"
