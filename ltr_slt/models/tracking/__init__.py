"""Tracking networks: ``transt`` (TransT) and ``dimpnet`` (DiMP-50, SuperDiMP, TrDiMP), official state-dict layouts."""
