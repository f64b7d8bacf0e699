"""Losses: TransT matcher + criterion, SLT box-only losses."""
from ltr_slt.models.loss.matcher import TrackingMatcher, cell_ranges, positive_mask  # noqa: F401
from ltr_slt.models.loss.transt_criterion import (  # noqa: F401
    DEFAULT_WEIGHT_DICT, SLT_BOX_WEIGHT_DICT, BoxLossTerms, TransTCriterion, box_loss_terms, box_losses,
    transt_criterion, transt_loss)
