"""Data: datasets and splits, loaders, image decoding."""

from core.data.dataset import DataSplits, Split, patient_id
from core.data.sources import load_data
from core.data.split import assign_groups, grouped_kfold, train_val_test_split

__all__ = ["DataSplits", "Split", "assign_groups", "grouped_kfold", "load_data", "patient_id",
           "train_val_test_split"]
