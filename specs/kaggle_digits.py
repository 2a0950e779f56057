"""Kaggle's Digit Recognizer competition files: `train.csv` with a header `label,pixel0,...,
pixel783` and one row per image (label, then the 784 pixels of a 28x28 image in row-major order),
and `test.csv` with the header `pixel0,...,pixel783` and no label column: unlabeled items.

Told apart from `mnist_csv` by the file names (`<subset>.csv`, no `mnist_`) and the header line.
"""

from __future__ import annotations

from specs.schema import CsvLayout, DatasetSpec, Sources

SPEC = DatasetSpec(
    name="kaggle_digits",
    description="Kaggle Digit Recognizer CSVs: train.csv (label,pixel0..pixel783) and "
    "test.csv (pixels only, unlabeled)",
    layout=CsvLayout(
        file_names=("{prefix}.csv",),
        name_regex=r"(?i)^(?P<prefix>[A-Za-z0-9-]+)\.csv$",
        image_shape=(28, 28),
        pixel_range=(0, 255),
        header="always",
        header_names=("label", "pixel{index}"),
        label_column="optional",
    ),
    classes=tuple(str(digit) for digit in range(10)),
    max_label=254,
    sources=Sources(
        homepage="https://www.kaggle.com/competitions/digit-recognizer",
        license="the competition's rules (Kaggle account required); data from MNIST, CC BY-SA 3.0",
        citation="Kaggle, Digit Recognizer (learn computer vision fundamentals with the famous "
        "MNIST data), https://www.kaggle.com/competitions/digit-recognizer",
        login_required="Kaggle's files need an account that has accepted the competition's "
        "rules: download train.csv and test.csv from "
        "https://www.kaggle.com/competitions/digit-recognizer/data (or run `kaggle competitions "
        "download -c digit-recognizer` and unzip it)",
    ),
)
