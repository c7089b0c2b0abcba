"""Data: datasets and splits, loaders, image decoding, the preprocessing cache."""

from core.data.cache import BuildProgress, build_cache, data_home
from core.data.dataset import DataSplits, Split, patient_id
from core.data.sources import load_data, split_args
from core.data.split import assign_groups, grouped_kfold, train_val_test_split

__all__ = ["BuildProgress", "DataSplits", "Split", "assign_groups", "build_cache", "data_home",
           "grouped_kfold", "load_data", "patient_id", "split_args", "train_val_test_split"]
