"""Backbones: ltr-style ResNet bodies and the TransT ``backbone.0.body`` wrappers."""
